"""Every flow as a scheduled deployment, served by `leadrelay serve` (prefect.yaml has the same)."""
from __future__ import annotations

from prefect import serve

from flows.registry import FLOWS

# How often each flow runs; prefect.yaml carries the same schedules for `prefect deploy --all`.
SCHEDULES = {"pipeline": "*/5 * * * *", "nurture": "*/15 * * * *", "sla": "*/15 * * * *",
             "engagement": "*/10 * * * *", "report": "0 7 * * *"}


def serve_all() -> None:
    deployments = [FLOWS[name].to_deployment(name=f"leadrelay-{name}", cron=cron) for name, cron in SCHEDULES.items()]
    serve(*deployments)
