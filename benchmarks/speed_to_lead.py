"""Speed to lead: from a form post to the rep's notification accepted by SendGrid (not a test).

    python benchmarks/speed_to_lead.py [--leads 20] [--every 3] [--database-url URL]

Brings up what production runs, each as its own process: `leadrelay serve` (a Prefect server with
its scheduler and triggers, and every deployment served), `leadrelay web`, and a loopback SendGrid
(the real `sendgrid` client sends to it). Then posts hot leads to `POST /forms/website` at a steady
rate and prints p50 / p95 / max seconds from each post to SendGrid accepting its rep notification:

- event-triggered: the web app knows the Prefect server, so each post emits the event that starts
  a `pipeline` run at once;
- scheduled: a second web app without PREFECT_API_URL, so only the 30 s schedule picks leads up.

Reps are made available around the clock (working hours dropped) so that a hot lead always has a
rep, whatever the time of day the benchmark runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from leadrelay.flows.deployments import deployment_specs  # noqa: E402
from tests.support.fake_sendgrid import FakeSendGrid  # noqa: E402
from tests.support.real_prefect import BIN, Processes, command_env, free_port, run_command, wait_for  # noqa: E402

HOT_LEAD = {"first_name": "Hana", "last_name": "Hot", "title": "CEO", "company": "Hotco", "industry": "software",
            "company_size": "250", "country": "DE", "budget_usd": "250000", "timeframe_months": "1",
            "need": "wants a demo this week", "consent": "yes"}


def always_available_config(target: Path) -> Path:
    """The shipped config with every rep working around the clock and room for every lead."""
    shutil.copytree(REPO / "config", target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    reps = yaml.safe_load((target / "reps.yaml").read_text())
    for rep in reps["reps"]:
        rep.pop("working_hours", None)
        rep["capacity"] = 100_000
    (target / "reps.yaml").write_text(yaml.safe_dump(reps, sort_keys=False))
    return target


def notified_at(sendgrid: FakeSendGrid, email: str) -> float | None:
    """When SendGrid accepted the rep notification that names this lead."""
    for request in list(sendgrid.requests):
        if request.status == 202 and email.encode() in request.body:
            return request.received_at
    return None


def measure(web_url: str, sendgrid: FakeSendGrid, tag: str, leads: int, every: float, timeout: float) -> list[float]:
    posted: dict[str, float] = {}
    with httpx.Client(timeout=10) as client:
        for i in range(leads):
            email = f"{tag}{i}@speed{i}.example"
            posted[email] = time.time()
            reply = client.post(f"{web_url}/forms/website", data={"email": email, **HOT_LEAD})
            if reply.status_code != 202:
                raise SystemExit(f"the form post was refused: {reply.status_code} {reply.text}")
            time.sleep(every)
    wait_for(lambda: all(notified_at(sendgrid, e) for e in posted), timeout,
             lambda: f"not every {tag} lead's notification reached SendGrid within {timeout:.0f} s")
    return sorted(notified_at(sendgrid, e) - at for e, at in posted.items())


def summary(name: str, latencies: list[float]) -> str:
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return (f"{name:<16} {len(latencies):>5} {statistics.median(latencies):>8.1f} {p95:>8.1f} "
            f"{max(latencies):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=20, help="hot leads per path")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between posts")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="speed-to-lead-"))
    processes = Processes(work)
    with FakeSendGrid(api_key="SG.speed-to-lead") as sendgrid:
        try:
            server_port, web_port, quiet_web_port = free_port(), free_port(), free_port()
            env = command_env(work, LEADRELAY_DATABASE_URL=args.database_url or f"sqlite:///{work / 'leadrelay.db'}",
                              LEADRELAY_CONFIG_DIR=str(always_available_config(work / "config")),
                              LEADRELAY_EMAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.speed-to-lead",
                              LEADRELAY_SENDGRID_HOST=sendgrid.url, PREFECT_LOGGING_LEVEL="WARNING")
            run_command([str(BIN / "leadrelay"), "init"], env)
            processes.start("serve", [str(BIN / "leadrelay"), "serve", "--port", str(server_port)], env)
            api = f"http://127.0.0.1:{server_port}/api"
            wait_for(lambda: _deployments(api) == len(deployment_specs()), 240, lambda: "leadrelay serve registered no deployments")
            processes.start("web", [str(BIN / "leadrelay"), "web", "--port", str(web_port)], {**env, "PREFECT_API_URL": api})
            processes.start("web-no-events", [str(BIN / "leadrelay"), "web", "--port", str(quiet_web_port)], env)
            for port in (web_port, quiet_web_port):
                wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), 60, lambda: "leadrelay web did not start")

            triggered = measure(f"http://127.0.0.1:{web_port}", sendgrid, "evt", args.leads, args.every, 180)
            scheduled = measure(f"http://127.0.0.1:{quiet_web_port}", sendgrid, "sched", args.leads, args.every, 240)
        finally:
            processes.stop_all()
    print(f"\nform post -> rep notification accepted by SendGrid, seconds ({args.leads} hot leads per path, "
          f"one every {args.every:g} s, {'PostgreSQL' if args.database_url else 'SQLite'})")
    print(f"{'path':<16} {'leads':>5} {'p50':>8} {'p95':>8} {'max':>8}")
    print(summary("event-triggered", triggered))
    print(summary("scheduled (30 s)", scheduled))
    shutil.rmtree(work, ignore_errors=True)


def _deployments(api: str) -> int:
    try:
        return len(httpx.post(f"{api}/deployments/filter", json={"limit": 50}, timeout=5).json())
    except (httpx.HTTPError, json.JSONDecodeError, TypeError):
        return 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    main()
