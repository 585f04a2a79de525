"""Driving real `prefect` and `leadrelay` commands from tests: background processes that die with
the test run, a clean environment per test, waiting with a useful failure, and the Prefect API
read over plain HTTP."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import httpx

from tests.conftest import REPO

BIN = Path(sys.executable).parent
# A hot lead by the shipped scoring rules (CEO, budget, timeframe, demo request).
HOT_LEAD_CSV = ("email,first_name,last_name,title,company,company_domain,industry,company_size,country,"
                "budget_usd,timeframe_months,need,consent\n"
                "{email},Hana,Hot,CEO,Hotco,hotco.example,software,250,DE,250000,1,wants a demo this week,yes\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_test_run() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Processes:
    """Background commands started by a test, each logging to a file, all stopped at the end."""

    def __init__(self, logs: Path):
        self.logs, self.running = logs, []

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        process = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=_die_with_test_run)
        self.running.append((process, log))
        return process

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process, log in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()
        self.running.clear()


def command_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for `prefect` / `leadrelay`: no inherited Prefect server or profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LEADRELAY_"))}
    env.update(PREFECT_HOME=str(home / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_WORKER_PREFETCH_SECONDS="5",
               LEADRELAY_CONFIG_DIR=str(REPO / "config"))
    env.update(extra)
    return env


def run_command(args: list[str], env: dict[str, str], timeout: float = 180, cwd: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args[:3])} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def wait_for(check: Callable[[], object], timeout: float, failure: Callable[[], str], every: float = 1.0):
    """Call `check` until it returns something truthy; after `timeout` s raise AssertionError with
    `failure()` (a test fails with that message, a script stops with it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(failure())


class PrefectApi:
    """The few reads the tests make, over plain HTTP as any client would."""

    def __init__(self, url: str):
        self.url, self.http = url, httpx.Client(base_url=url, timeout=10)

    def healthy(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return self.http.get("/health").status_code == 200
        return False

    def deployments(self) -> list[dict]:
        return self.http.post("/deployments/filter", json={"limit": 50}).json()

    def deployment(self, flow: str, name: str) -> dict:
        return self.http.get(f"/deployments/name/{flow}/{name}").json()

    def flow_runs(self, deployment_id: str) -> list[dict]:
        body = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 200}
        return self.http.post("/flow_runs/filter", json=body).json()

    def logs(self, flow_run_id: str) -> list[str]:
        body = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
        return [entry["message"] for entry in self.http.post("/logs/filter", json=body).json()]

    def artifacts(self, flow_run_id: str) -> list[dict]:
        return self.http.post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}).json()


