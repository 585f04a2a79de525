"""Tasks of the rescore flow: start (or resume) a run, then one batch of it per task run."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from leadrelay.clock import now
from leadrelay.db import unit_of_work
from leadrelay.history import current_flow_run_id
from leadrelay.scoring.rescore import rescore_next_batch, start_or_resume
from leadrelay.tasks.run_log import log_batch
from leadrelay.wiring import services


@task(name="start-rescore", cache_policy=NO_CACHE)
def start_rescore(as_of: datetime | None, mode: str) -> tuple[int, datetime]:
    """The run to work on (an unfinished one of `mode` with the same rules, else a new one): its id
    and the `as_of` it acts at."""
    with unit_of_work(services().engine) as session:
        run, resumed = start_or_resume(session, mode, services().rules.scoring, as_of, now())
        log_batch("rescore run", {"run": run.id, "resumed": int(resumed), "after_lead": run.last_lead_id})
        return run.id, run.as_of


@task(name="rescore-batch", cache_policy=NO_CACHE)
def rescore_batch(run_id: int, batch_size: int, actor: str) -> dict[str, int]:
    """Rescore the run's next batch of leads; `claimed` 0 when the run is finished."""
    with unit_of_work(services().engine) as session:
        result = rescore_next_batch(session, run_id, services().rules.scoring, batch_size, actor,
                                    current_flow_run_id())
    counts = result.counts()
    log_batch("rescore batch", counts, result.lead_ids)
    return counts
