"""Tasks of handing leads to sales and enforcing the SLA: one batch, one unit of work each."""
from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.handoff import HandoffContext, hand_off_new_mqls
from leadrelay.history import current_flow_run_id
from leadrelay.link_secret import link_secret
from leadrelay.rendering import Sender
from leadrelay.sla_enforcement import enforce_sla
from leadrelay.wiring import services


def handoff_context(session: Session, actor: str) -> HandoffContext:
    found = services()
    settings = found.settings
    return HandoffContext(rules=found.rules, secret=link_secret(session, settings), base_url=settings.base_url,
                          sender=Sender(settings.from_email, settings.from_name, settings.postal_address),
                          actor=actor, flow_run_id=current_flow_run_id())


@task(name="hand-off-batch", cache_policy=NO_CACHE)
def hand_off_batch(as_of: datetime, batch_size: int, actor: str = "flow:pipeline") -> dict[str, int]:
    """Route one batch of new MQLs to reps, with deadlines and queued notifications.
    `actor` is who the history names (the flow that runs it)."""
    with unit_of_work(services().engine) as session:
        claimed = hand_off_new_mqls(session, handoff_context(session, actor), as_of, batch_size)
    return {"claimed": claimed}


@task(name="enforce-sla-batch", cache_policy=NO_CACHE)
def enforce_sla_batch(as_of: datetime, batch_size: int) -> dict[str, int]:
    """Reassign, escalate or recycle one batch of handoffs past their deadline."""
    with unit_of_work(services().engine) as session:
        outcome = enforce_sla(session, handoff_context(session, "flow:sla"), as_of, batch_size)
    return {k: v for k, v in vars(outcome).items() if v}
