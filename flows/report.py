"""The report flow: the funnel, published as a markdown artifact in the Prefect UI."""
from __future__ import annotations

from datetime import datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import parse_as_of
from leadrelay.db import unit_of_work
from leadrelay.reporting.funnel import funnel_markdown, funnel_report
from leadrelay.wiring import services


@task(name="funnel-report", cache_policy=NO_CACHE)
def build_funnel(as_of: datetime) -> dict:
    with unit_of_work(services().engine) as session:
        return funnel_report(session, as_of=as_of)


# Retrying is safe: the report only reads, and republishing its artifacts adds a version.
# Ten minutes: a handful of aggregate queries, seconds even on a million leads.
@flow(name="report", flow_run_name=run_name, timeout_seconds=600, retries=1, retry_delay_seconds=30)
def report(as_of: datetime | None = None) -> dict:
    """Compute the funnel (stages, conversion, SLA, by source) and publish it as an artifact."""
    as_of = parse_as_of(as_of)
    funnel = build_funnel(as_of)
    create_markdown_artifact(key="leadrelay-funnel", markdown=funnel_markdown(funnel, as_of),
                             description="Lead funnel, SLA and sources")
    publish_counts({"funnel": funnel["stages"], "sla": funnel["sla"]})
    return funnel
