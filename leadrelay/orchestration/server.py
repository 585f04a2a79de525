"""The one home of the Prefect server a command talks to: the one `PREFECT_API_URL` names, or a
temporary one this command starts and stops (and that dies with it, even on `kill -9`)."""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx

# A fresh server migrates its database first; on a busy 2-core machine that took over 20 s.
DEFAULT_START_TIMEOUT = 180.0


class PrefectServerError(Exception):
    """The temporary Prefect server did not come up; the message is one sentence."""


def configured_api_url() -> str | None:
    """The server the user pointed us at with PREFECT_API_URL (environment or Prefect profile)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextlib.contextmanager
def prefect_api(with_services: bool = False, port: int | None = None) -> Iterator[str]:
    """Run the block against the configured Prefect server, or else a temporary local one.

    `with_services` starts the scheduler, triggers and automations too (what `serve` needs);
    without them the temporary server only records runs, logs and artifacts.
    Yields the API URL.
    """
    url = configured_api_url()
    if url:
        yield url
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with _temporary_server(with_services, port) as url:
        # The environment too: flow runs that `serve` starts are child processes.
        os.environ["PREFECT_API_URL"] = url
        try:
            with temporary_settings(updates={PREFECT_API_URL: url}):
                yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)


def _start_timeout() -> float:
    value = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    return float(value) if value else DEFAULT_START_TIMEOUT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the command that started us dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Commands sharing a PREFECT_HOME start their servers one at a time: each start migrates
    the same SQLite database, and concurrent migrations race."""
    from prefect.settings import get_current_settings

    home = Path(get_current_settings().home)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".leadrelay-server-start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _temporary_server(with_services: bool, port: int | None) -> Iterator[str]:
    port = port or _free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not with_services:
        command.append("--no-services")
    url = f"http://127.0.0.1:{port}/api"
    # The UI asks the browser to call PREFECT_UI_API_URL, which otherwise names port 4200.
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": url}
    if not with_services:
        env["PREFECT_SERVER_UI_ENABLED"] = "false"
    with _start_lock():
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            _wait_until_healthy(process, url, _start_timeout())
        except BaseException:
            _stop(process)
            raise
    try:
        yield url
    finally:
        _send_pending_logs_and_events()
        _stop(process)


def _send_pending_logs_and_events() -> None:
    """Prefect sends logs and events from background workers: let them finish while the
    server still answers."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(Exception):
        APILogWorker.drain_all(timeout=10)
    with contextlib.suppress(Exception):
        EventsWorker.drain_all(timeout=10)


def _wait_until_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PrefectServerError(f"the temporary Prefect server exited with code {process.returncode} "
                                         "before it answered; set PREFECT_API_URL to use a running server.")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/health").status_code == 200:
                    return
            time.sleep(0.2)
    raise PrefectServerError(f"the temporary Prefect server did not answer within {timeout:.0f} s; raise "
                             "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL.")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
