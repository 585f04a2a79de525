"""`leadrelay serve`: every deployment in prefect.yaml, with the same schedules, tags, concurrency
and triggers, served by one Prefect runner (no work pool, no worker)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from leadrelay.flows.registry import FLOWS

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"
# How often the runner asks for runs to start: a triggered pipeline run should not wait 10 s.
RUNNER_POLL_SECONDS = 2


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments` of prefect.yaml, each with a `flow` key naming a flow in FLOWS."""
    specs = yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"]
    for spec in specs:
        spec["flow"] = spec["entrypoint"].rsplit(":", 1)[1]
        if spec["flow"] not in FLOWS:
            raise ValueError(f"{path.name}: {spec['name']}: entrypoint names no flow leadrelay knows.")
    return specs


def schedule_of(entry: dict[str, Any]):
    """A Prefect schedule from one prefect.yaml `schedules` entry (`cron` or `interval` seconds)."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    if "cron" in entry:
        return CronSchedule(cron=entry["cron"], timezone=entry.get("timezone"))
    return IntervalSchedule(interval=timedelta(seconds=entry["interval"]))


def runner_deployment(spec: dict[str, Any]):
    """The served twin of one prefect.yaml deployment."""
    from pydantic import TypeAdapter
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.events import DeploymentTriggerTypes

    limit = spec.get("concurrency_limit")
    triggers = [TypeAdapter(DeploymentTriggerTypes).validate_python({"name": f"{spec['name']}__trigger_{i}", **t})
                for i, t in enumerate(spec.get("triggers", []), start=1)]
    return FLOWS[spec["flow"]].to_deployment(
        name=spec["name"], description=spec.get("description"), tags=spec.get("tags"),
        parameters=spec.get("parameters"),
        schedules=[schedule_of(entry) for entry in spec.get("schedules", [])],
        concurrency_limit=ConcurrencyLimitConfig(**limit) if limit else None, triggers=triggers or None)


def serve_all() -> None:
    """Serve every deployment until interrupted."""
    from prefect import serve

    serve(*(runner_deployment(spec) for spec in deployment_specs()), query_seconds=RUNNER_POLL_SECONDS)
