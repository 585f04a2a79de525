"""The nurture flow's task: one batch of due enrollments, one unit of work."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.history import current_flow_run_id
from leadrelay.links.secret import link_secret
from leadrelay.nurture.nurture_store import NurtureContext, nurture_next_batch
from leadrelay.wiring import sender_identity, services
from leadrelay.tasks.run_log import log_batch


def nurture_context(session: Session, actor: str) -> NurtureContext:
    found = services()
    settings = found.settings
    return NurtureContext(sequences=found.rules.sequences, secret=link_secret(session, settings),
                          base_url=settings.base_url,
                          sender=sender_identity(settings),
                          actor=actor, flow_run_id=current_flow_run_id())


@task(name="nurture-batch", cache_policy=NO_CACHE)
def nurture_batch(as_of: datetime, batch_size: int, actor: str = "flow:nurture") -> dict[str, int]:
    """Act on one batch of enrollments due at `as_of`: queue steps, defer, exit or finish tracks."""
    with unit_of_work(services().engine) as session:
        outcome = nurture_next_batch(session, nurture_context(session, actor), as_of, batch_size)
    done = outcome.counts  # "sent" means queued in the outbox: the send-outbox task sends it
    log_batch("nurture batch", {"claimed": outcome.claimed, "enrolled": done["enrolled"], "queued": done["sent"],
                                "deferred": done["deferred"], "exited": done["exited"], "finished": done["finished"]},
              outcome.lead_ids)
    return {"claimed": outcome.claimed, **outcome.counts}
