"""Tasks of handing leads to sales and enforcing the SLA: one batch, one unit of work each.

Each logs what its batch did and, once the batch committed, tells Prefect about every handoff
opened and every breach acted on (a batch that rolled back tells nothing).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session

from leadrelay.clock import parse_as_of
from leadrelay.db import unit_of_work
from leadrelay.orchestration.events import HANDOFF_CREATED, SLA_BREACHED, emit_for_leads
from leadrelay.handoff.handoff_store import HandedOff, HandoffContext, hand_off_new_mqls
from leadrelay.history import current_flow_run_id
from leadrelay.links.secret import link_secret
from leadrelay.handoff.sla_store import Breach, enforce_sla, recycle_unanswered_escalations
from leadrelay.wiring import sender_identity, services
from leadrelay.tasks.run_log import log_batch


def handoff_context(session: Session, actor: str) -> HandoffContext:
    found = services()
    settings = found.settings
    return HandoffContext(rules=found.rules, secret=link_secret(session, settings), base_url=settings.base_url,
                          sender=sender_identity(settings),
                          actor=actor, flow_run_id=current_flow_run_id())


@task(name="hand-off-batch", cache_policy=NO_CACHE)
def hand_off_batch(as_of: datetime, batch_size: int, actor: str = "flow:pipeline",
                   after: int | None = None) -> dict[str, int]:
    """Route one batch of new MQLs (ids above `after`, if given) to reps, with deadlines and queued
    notifications; returns counts and `after` for the next batch. `actor` is who the history names.
    A lead nobody can take stays an MQL: the next batch starts after it, so a run does not claim it
    forever, and the next run tries it again."""
    with unit_of_work(services().engine) as session:
        outcome = hand_off_new_mqls(session, handoff_context(session, actor), as_of, batch_size, after)
    opened = outcome.handed_off
    emit_for_leads(HANDOFF_CREATED, handoff_created_payloads(opened))
    log_batch("hand-off batch", {"claimed": outcome.claimed, "handed_off": len(opened),
                                 "no_rep": outcome.claimed - len(opened)}, [h.lead_id for h in opened])
    return {"claimed": outcome.claimed, "handed_off": len(opened), "after": outcome.last_lead_id or after}


@task(name="enforce-sla-batch", cache_policy=NO_CACHE)
def enforce_sla_batch(as_of: datetime, batch_size: int) -> dict[str, int]:
    """Reassign, escalate or recycle one batch of handoffs past their deadline."""
    with unit_of_work(services().engine) as session:
        outcome = enforce_sla(session, handoff_context(session, "flow:sla"), as_of, batch_size)
    emit_for_leads(SLA_BREACHED, sla_breached_payloads(outcome.breaches))
    emit_for_leads(HANDOFF_CREATED, handoff_created_payloads(outcome.new_handoffs))
    counts = {"claimed": outcome.claimed, "reassigned": outcome.reassigned, "escalated": outcome.escalated,
              "recycled": outcome.recycled}
    log_batch("sla batch", counts, [b.lead_id for b in outcome.breaches])
    return {name: value for name, value in counts.items() if value}


@task(name="recycle-escalations-batch", cache_policy=NO_CACHE)
def recycle_escalations_batch(as_of: datetime, batch_size: int) -> dict[str, int]:
    """Send one batch of escalated handoffs that still have no answer back to nurturing."""
    with unit_of_work(services().engine) as session:
        recycled = recycle_unanswered_escalations(session, handoff_context(session, "flow:sla"), as_of, batch_size)
    emit_for_leads(SLA_BREACHED, sla_breached_payloads(recycled))
    counts = {"claimed": len(recycled), "recycled": len(recycled)}
    log_batch("escalation recycle batch", counts, [b.lead_id for b in recycled])
    return {name: value for name, value in counts.items() if value}


# The payload builders are generators: with no Prefect server to tell, none is built.
def handoff_created_payloads(opened: Iterable[HandedOff]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(lead id, payload) per handoff: the rep (staff), the tier, the deadline in UTC, the handoff id."""
    return ((h.lead_id, {"handoff_id": h.handoff_id, "rep": h.rep_email, "tier": h.tier,
                         "due_at": parse_as_of(h.due_at).isoformat()}) for h in opened)


def sla_breached_payloads(breaches: Iterable[Breach]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(lead id, payload) per breach: what was done (reassigned, escalated, recycled), the rep, the handoff id."""
    return ((b.lead_id, {"action": b.done, "rep": b.rep_email, "handoff_id": b.handoff_id}) for b in breaches)
