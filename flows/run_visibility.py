"""What a flow run shows in the Prefect UI beside its state: a name that says what and when, and a
table of what it did."""
from __future__ import annotations

from collections.abc import Mapping

from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from leadrelay.clock import parse_as_of


def run_name() -> str:
    """`pipeline 2026-11-27T15:00Z`: the flow's name and the run's `as_of` (now when it is None) in
    UTC to the minute. For `@flow(flow_run_name=run_name)`: Prefect calls it inside the new run,
    where `prefect.runtime` knows the flow and its parameters."""
    moment = parse_as_of(flow_run.parameters.get("as_of"))
    return f"{flow_run.flow_name} {moment:%Y-%m-%dT%H:%MZ}"


def publish_counts(totals: Mapping[str, Mapping[str, int]]) -> None:
    """Publish the run's totals as the table artifact `leadrelay-<flow>-counts`, one row per step
    and count (a step that found nothing shows `claimed 0`)."""
    flow_name = flow_run.flow_name
    rows = [{"step": step, "count": name, "value": value}
            for step, counts in totals.items()
            for name, value in (counts.items() if counts else [("claimed", 0)])]
    create_table_artifact(table=rows, key=f"leadrelay-{flow_name}-counts",
                          description=f"What this {flow_name} run did, step by step")
