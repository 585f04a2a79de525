"""Tasks of the engagement flow that the pipeline's tasks do not already cover."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from leadrelay.db import unit_of_work
from leadrelay.nurture.exits import exit_nurture_for_mqls
from leadrelay.history import current_flow_run_id
from leadrelay.wiring import services
from leadrelay.tasks.run_log import log_batch


@task(name="exit-nurture-for-mqls-batch", cache_policy=NO_CACHE)
def exit_nurture_batch(as_of: datetime, batch_size: int, actor: str = "flow:engagement") -> dict[str, int]:
    """End one batch of nurture enrollments whose leads became MQLs (reason `became-mql`)."""
    with unit_of_work(services().engine) as session:
        lead_ids = exit_nurture_for_mqls(session, as_of, batch_size, actor, current_flow_run_id())
    log_batch("nurture-exit batch", {"exited": len(lead_ids)}, lead_ids)
    return {"claimed": len(lead_ids)}
