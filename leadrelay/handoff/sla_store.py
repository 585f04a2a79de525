"""What happens when a rep does not answer in time: reassign, escalate, or recycle to nurture."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.handoff.handoff_store import LINK_VALIDITY, HandedOff, HandoffContext, hand_off, rep_timezone
from leadrelay.handoff.reassign import NO_ANSWER, tell_losing_reps
from leadrelay.links.secret import reassign_link
from leadrelay.history import append_history, history_row
from leadrelay.lead_view import lead_profiles
from leadrelay.email.kinds import SLA_ESCALATION
from leadrelay.email.outbox import Queued, enqueue_many
from leadrelay.email.rendering import escalation_notice
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.models import Handoff, Lead, Stage


# What was done about a breach, in the words of the run's log and events.
DONE = {"reassign": "reassigned", "escalate": "escalated", "recycle": "recycled"}
# Why a lead whose SLA ran out is back in nurturing (and the track-entry reason in sequences.yaml).
SLA_BREACHED = "sla-breached"


@dataclass(frozen=True)
class Breach:
    """A handoff acted on for passing its deadline: ids, the rep (staff) and what was done."""

    lead_id: int
    handoff_id: int
    rep_email: str
    done: str  # reassigned, escalated or recycled


@dataclass
class BreachOutcome:
    claimed: int = 0
    reassigned: int = 0
    escalated: int = 0
    recycled: int = 0
    breaches: list[Breach] = field(default_factory=list)
    new_handoffs: list[HandedOff] = field(default_factory=list)  # the reassignments' handoffs


def claim_breached(session: Session, as_of: datetime, limit: int) -> list[Handoff]:
    """Open handoffs whose deadline passed at `as_of` and were not yet acted on, locked for this
    transaction (an escalated handoff stays open for the rep to answer, flagged as breached)."""
    query = (select(Handoff).where(Handoff.status == "open", Handoff.sla_breached.is_(False), Handoff.due_at <= as_of)
             .order_by(Handoff.due_at, Handoff.id).limit(limit))
    return list(session.scalars(claim(session, query)))


def enforce_sla(session: Session, ctx: HandoffContext, as_of: datetime, limit: int) -> BreachOutcome:
    """Apply config/sla.yaml to one batch of breached handoffs; every step goes to history."""
    breached = claim_breached(session, as_of, limit)
    outcome = BreachOutcome(claimed=len(breached))
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_([h.lead_id for h in breached])))}
    to_reassign: list[tuple[Handoff, Lead]] = []
    to_recycle: list[Lead] = []
    to_escalate: list[tuple[Handoff, Lead]] = []
    acts = [(handoff, leads[handoff.lead_id],
             ctx.rules.sla.policy_for(leads[handoff.lead_id].tier).action_on_breach(handoff.attempt))
            for handoff in breached]
    # One write for the batch's breach events; each lead's later events (escalated, stage) follow it.
    append_history(session, [history_row(lead.id, "sla_breached", ctx.actor, as_of, {
        "handoff": handoff.id, "rep": handoff.rep_email, "due_at": handoff.due_at.isoformat(), "action": action},
        flow_run_id=ctx.flow_run_id) for handoff, lead, action in acts])
    for handoff, lead, action in acts:
        handoff.sla_breached = True
        outcome.breaches.append(Breach(lead.id, handoff.id, handoff.rep_email, DONE.get(action, action)))
        if action == "reassign":
            handoff.status = "reassigned"
            to_reassign.append((handoff, lead))
        elif action == "escalate":
            to_escalate.append((handoff, lead))
        else:
            handoff.status = "recycled"
            to_recycle.append(lead)
    outcome.escalated = len(to_escalate)
    _escalate(session, to_escalate, ctx, as_of)
    recycle_to_nurture(session, to_recycle, SLA_BREACHED, ctx.actor, as_of, ctx.flow_run_id)
    outcome.recycled = len(to_recycle)
    session.flush()
    if to_reassign:
        earlier = _previous_reps(session, [lead.id for _, lead in to_reassign])
        excludes = [earlier[lead.id] for _, lead in to_reassign]
        passed_on = [lead for _, lead in to_reassign]
        outcome.new_handoffs = hand_off(session, passed_on, ctx, as_of, excludes=excludes,
                                        attempts=[handoff.attempt + 1 for handoff, _ in to_reassign])
        outcome.reassigned = len(to_reassign)
        new_rep = {h.lead_id: h.rep_email for h in outcome.new_handoffs}
        tell_losing_reps(session, ctx, [(handoff, lead, new_rep[lead.id]) for handoff, lead in to_reassign
                                        if lead.id in new_rep], NO_ANSWER, as_of)
    return outcome


def recycle_to_nurture(session: Session, leads: list[Lead], reason: str, actor: str, as_of: datetime,
                       flow_run_id: str | None = None, nurture_reason: str | None = None) -> None:
    """Send the leads back to nurturing with `reason` (and `nurture_reason`, the track-entry reason,
    when it differs), without an owner, in one lifecycle batch: each ends up with exactly one active
    enrollment for the nurture flow to pick a track for."""
    for lead in leads:
        lead.owner_rep = None
    apply_transitions(session, [Transition.of(lead, Stage.nurturing, reason, nurture_reason) for lead in leads],
                      as_of, actor, flow_run_id)


def recycle_unanswered_escalations(session: Session, ctx: HandoffContext, as_of: datetime, limit: int) -> list[Breach]:
    """Claim up to `limit` escalated handoffs (open, breached) still unanswered
    `recycle_escalated_after_hours` after their deadline at `as_of`, close them as `recycled` and
    send their leads back to nurturing (track reason `sla-breached`), with history; returns them."""
    hours = ctx.rules.sla.recycle_escalated_after_hours
    query = (select(Handoff).where(Handoff.status == "open", Handoff.sla_breached.is_(True),
                                   Handoff.due_at <= as_of - timedelta(hours=hours))
             .order_by(Handoff.due_at, Handoff.id).limit(limit))
    handoffs = list(session.scalars(claim(session, query)))
    if not handoffs:
        return []
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_([h.lead_id for h in handoffs])))}
    for handoff in handoffs:
        handoff.status = "recycled"
    append_history(session, [history_row(h.lead_id, "escalation_expired", ctx.actor, as_of, {
        "handoff": h.id, "rep": h.rep_email, "due_at": h.due_at.isoformat(), "after_hours": hours},
        flow_run_id=ctx.flow_run_id) for h in handoffs])
    recycle_to_nurture(session, [leads[h.lead_id] for h in handoffs],
                       f"escalated and still unanswered {hours:g} hours after the deadline", ctx.actor, as_of,
                       ctx.flow_run_id, nurture_reason=SLA_BREACHED)
    session.flush()
    return [Breach(h.lead_id, h.id, h.rep_email, "recycled") for h in handoffs]


def _previous_reps(session: Session, lead_ids: list[int]) -> dict[int, set[str]]:
    """Every rep each lead was ever handed to, in one query for the batch."""
    reps: dict[int, set[str]] = defaultdict(set)
    for lead_id, rep_email in session.execute(select(Handoff.lead_id, Handoff.rep_email)
                                              .where(Handoff.lead_id.in_(lead_ids))):
        reps[lead_id].add(rep_email)
    return reps


def _escalate(session: Session, escalations: list[tuple[Handoff, Lead]], ctx: HandoffContext,
              as_of: datetime) -> None:
    """Queue an email to each breached rep's manager (or the fallback) about the lead, and record it;
    a rep with neither gets nothing. The leads' profiles are read once for the batch."""
    queued, history = [], []
    for (handoff, lead), profile in zip(escalations, lead_profiles(session, [lead for _, lead in escalations])):
        rep = ctx.rules.reps.rep(handoff.rep_email)
        manager_email = (rep.manager if rep and rep.manager else None) or ctx.rules.reps.fallback
        if not manager_email:
            continue
        manager = next((m for m in ctx.rules.reps.managers if m.email == manager_email), None)
        link = reassign_link(handoff.id, manager_email, ctx.secret, ctx.base_url, as_of + LINK_VALIDITY)
        message = escalation_notice(profile, manager_email, manager.name if manager else manager_email,
                                    handoff.rep_email, handoff.due_at, rep_timezone(rep), ctx.sender,
                                    idempotency_key=f"handoff:{handoff.id}:escalate", reassign_url=link)
        queued.append(Queued(message, SLA_ESCALATION, lead.id))
        history.append(history_row(lead.id, "escalated", ctx.actor, as_of,
                                   {"handoff": handoff.id, "rep": handoff.rep_email, "manager": manager_email},
                                   flow_run_id=ctx.flow_run_id))
    enqueue_many(session, queued, as_of)
    append_history(session, history)
