"""Tasks of the pipeline flow: each takes one batch in one unit of work."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from leadrelay.db import unit_of_work
from leadrelay.history import current_flow_run_id
from leadrelay.intake.inbound import inbound_waiting, intake_next_inbound
from leadrelay.models import Stage
from leadrelay.scoring.score_store import score_next_batch
from leadrelay.wiring import services
from leadrelay.tasks.run_log import log_batch

# Tasks here are called again with the same inputs until their batch is empty: never cache them.


@task(name="intake-inbound-batch", cache_policy=NO_CACHE)
def intake_inbound_batch(as_of: datetime, batch_size: int) -> dict[str, int]:
    """Turn one batch of form submissions into leads; returns counts (claimed is 0 when done)."""
    with unit_of_work(services().engine) as session:
        taken = intake_next_inbound(session, as_of, batch_size, "flow:pipeline", current_flow_run_id())
    counts = taken.counts
    result = {"claimed": counts.created + counts.merged + counts.quarantined, "created": counts.created,
              "merged": counts.merged, "quarantined": counts.quarantined}
    log_batch("intake batch", result, taken.inbound_ids, ids_name="inbound rows")
    return result


@task(name="score-lead-batch", cache_policy=NO_CACHE)
def score_lead_batch(as_of: datetime, batch_size: int, actor: str = "flow:pipeline",
                     after: int | None = None) -> dict[str, int]:
    """Score one batch of new or changed leads (with an id above `after`, if given) and move their
    stages; returns counts and `after` for the next batch. `actor` is who the history names."""
    rules = services().rules.scoring
    with unit_of_work(services().engine) as session:
        outcome = score_next_batch(session, rules, as_of, batch_size, actor, current_flow_run_id(), after)
    log_batch("scoring batch", {"scored": outcome.claimed, "to_MQL": outcome.stages[Stage.mql],
                                "to_nurturing": outcome.stages[Stage.nurturing]}, outcome.lead_ids)
    return {"claimed": outcome.claimed, **{f"to_{stage}": n for stage, n in outcome.stages.items()},
            "after": max(outcome.lead_ids, default=after)}


@task(name="more-inbound-waiting", cache_policy=NO_CACHE)
def more_inbound_waiting(as_of: datetime) -> bool:
    """Whether form submissions arrived (by `as_of`) that this run has not taken in yet."""
    with unit_of_work(services().engine) as session:
        return inbound_waiting(session, as_of)
