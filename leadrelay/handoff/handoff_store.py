"""Handing MQLs to reps: route, set the SLA deadline, record why, and queue the rep's email.

All of it happens in the caller's unit of work, so a lead is handed off once per decision even
when a run is retried: the claim only finds MQLs without an open handoff.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlmodel import Session

from leadrelay.config.rules import Rules
from leadrelay.db import claim
from leadrelay.history import history_row, append_history
from leadrelay.lead_view import lead_profile, rule_view
from leadrelay.links.secret import handoff_links
from leadrelay.email.kinds import REP_NOTIFICATION
from leadrelay.email.outbox import enqueue
from leadrelay.email.rendering import HandoffNotice, Sender, rep_notification
from leadrelay.handoff.routing import RepLoad, RouteDecision, route_batch
from leadrelay.handoff.sla import sla_due_at
from leadrelay.models import Account, Handoff, Lead, RepState, Stage

# Links stay valid a while after the deadline: a late answer is still an answer (and counted late).
LINK_VALIDITY = timedelta(days=14)


@dataclass(frozen=True)
class HandoffContext:
    """What handing off needs besides the session: rules, link signing, and who the email is from."""

    rules: Rules
    secret: str
    base_url: str
    sender: Sender
    actor: str
    flow_run_id: str | None = None


@dataclass(frozen=True)
class HandedOff:
    """A handoff opened in this unit of work, as the run's log and events tell it: ids, the rep
    (staff) and the deadline; nothing about the lead but its id."""

    lead_id: int
    handoff_id: int
    rep_email: str
    tier: str
    due_at: datetime


@dataclass
class HandoffOutcome:
    claimed: int = 0  # MQLs claimed, including those nobody could take
    handed_off: list[HandedOff] = field(default_factory=list)


def handed_off(handoffs: list[Handoff], leads: list[Lead]) -> list[HandedOff]:
    """`HandedOff` records for handoffs `hand_off` opened for `leads` (call after it returned)."""
    tiers = {lead.id: lead.tier for lead in leads}
    return [HandedOff(h.lead_id, h.id, h.rep_email, tiers[h.lead_id], h.due_at) for h in handoffs]


def claim_new_mqls(session: Session, limit: int) -> list[Lead]:
    """MQLs with no open handoff, locked for this transaction (skipping others' rows on PostgreSQL)."""
    open_handoff = exists().where(Handoff.lead_id == Lead.id, Handoff.status == "open")
    query = select(Lead).where(Lead.stage == Stage.mql, ~open_handoff).order_by(Lead.id).limit(limit)
    leads = list(session.scalars(claim(session, query, of=Lead)))
    if not leads:
        return leads
    # Look again now that the rows are ours: on PostgreSQL the claim's NOT EXISTS saw the snapshot
    # its statement started with, so a lead another run handed off and released meanwhile passed it.
    taken = set(session.scalars(select(Handoff.lead_id).where(
        Handoff.lead_id.in_([lead.id for lead in leads]), Handoff.status == "open")))
    return [lead for lead in leads if lead.id not in taken]


def rep_loads(session: Session) -> dict[str, RepLoad]:
    """Open handoffs and last assignment per rep: what round robin and capacity need."""
    open_counts = dict(session.execute(
        select(Handoff.rep_email, func.count()).where(Handoff.status == "open").group_by(Handoff.rep_email)).all())
    last = {s.email: s.last_assigned_at for s in session.scalars(select(RepState))}
    return {email: RepLoad(open_counts.get(email, 0), last.get(email)) for email in set(open_counts) | set(last)}


def hand_off(session: Session, leads: list[Lead], ctx: HandoffContext, as_of: datetime,
             excludes: list[set[str]] | None = None, attempts: list[int] | None = None) -> list[Handoff]:
    """Route each lead, open a handoff with its deadline, record the decision and queue the email."""
    if not leads:
        return []
    accounts = _accounts(session, leads)
    owners = [accounts[lead.account_id].owner_rep if lead.account_id in accounts else None for lead in leads]
    decisions = route_batch([rule_view(lead) for lead in leads], ctx.rules.routing, ctx.rules.reps,
                            rep_loads(session), as_of, account_owners=owners, excludes=excludes)
    handoffs = []
    for index, (lead, decision) in enumerate(zip(leads, decisions)):
        if decision.rep_email is None:
            append_history(session, [history_row(lead.id, "routing_failed", ctx.actor, as_of,
                                                 {"reason": decision.reason}, flow_run_id=ctx.flow_run_id)])
            continue
        attempt = attempts[index] if attempts else 0
        handoffs.append(_open_handoff(session, lead, decision, ctx, as_of, attempt))
        if ctx.rules.routing.account_ownership and lead.account_id in accounts and not accounts[lead.account_id].owner_rep:
            accounts[lead.account_id].owner_rep = decision.rep_email
    return handoffs


def _open_handoff(session: Session, lead: Lead, decision: RouteDecision, ctx: HandoffContext,
                  as_of: datetime, attempt: int) -> Handoff:
    rep = ctx.rules.reps.rep(decision.rep_email)
    timezone = rep.timezone if rep else "UTC"
    working = (rep.working_hours if rep and rep.working_hours else None) or ctx.rules.sla.default_working()
    policy = ctx.rules.sla.policy_for(lead.tier)
    due_at = sla_due_at(as_of, policy.hours_to_accept, timezone, working, policy.business_hours)
    route = {"rule": decision.rule, "pool": list(decision.pool), "strategy": decision.strategy,
             "reason": decision.reason, "fallback": decision.fallback}
    handoff = Handoff(lead_id=lead.id, rep_email=decision.rep_email, status="open", created_at=as_of,
                      due_at=due_at, attempt=attempt, route=route)
    session.add(handoff)
    lead.owner_rep = decision.rep_email
    lead.updated_at = as_of
    state = session.get(RepState, decision.rep_email) or RepState(email=decision.rep_email)
    state.last_assigned_at = as_of
    session.add(state)
    session.flush()
    append_history(session, [
        history_row(lead.id, "routed", ctx.actor, as_of, {"rep": decision.rep_email, **route}, flow_run_id=ctx.flow_run_id),
        history_row(lead.id, "handoff_created", ctx.actor, as_of,
                    {"handoff": handoff.id, "rep": decision.rep_email, "due_at": due_at.isoformat(), "tier": lead.tier,
                     "hours_to_accept": policy.hours_to_accept, "business_hours": policy.business_hours,
                     "attempt": attempt}, flow_run_id=ctx.flow_run_id),
    ])
    _queue_notification(session, lead, handoff, rep.name if rep else decision.rep_email, timezone, decision, ctx, as_of)
    return handoff


def _queue_notification(session: Session, lead: Lead, handoff: Handoff, rep_name: str, timezone: str,
                        decision: RouteDecision, ctx: HandoffContext, as_of: datetime) -> None:
    accept_url, reject_url = handoff_links(handoff.id, handoff.rep_email, ctx.secret, ctx.base_url,
                                           handoff.due_at + LINK_VALIDITY)
    notice = HandoffNotice(handoff_id=handoff.id, rep_email=handoff.rep_email, rep_name=rep_name,
                           rep_timezone=timezone, due_at=handoff.due_at, accept_url=accept_url,
                           reject_url=reject_url, attempt=handoff.attempt, route_reason=decision.reason,
                           idempotency_key=f"handoff:{handoff.id}:notify")
    message = rep_notification(lead_profile(session, lead), notice, ctx.sender)
    if enqueue(session, message, REP_NOTIFICATION, lead.id, as_of):
        append_history(session, [history_row(lead.id, "notification_queued", ctx.actor, as_of,
                                             {"handoff": handoff.id, "to": handoff.rep_email, "kind": REP_NOTIFICATION},
                                             flow_run_id=ctx.flow_run_id)])


def _accounts(session: Session, leads: list[Lead]) -> dict[int, Account]:
    ids = {lead.account_id for lead in leads if lead.account_id}
    return {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}


def hand_off_new_mqls(session: Session, ctx: HandoffContext, as_of: datetime, limit: int) -> HandoffOutcome:
    """Claim up to `limit` MQLs without a handoff and hand them off; returns how many were claimed and
    the handoffs opened. A lead nobody can take stays an MQL and is claimed again by the next batch,
    so a caller looping until nothing is left must stop on no handoffs, not on no claims."""
    leads = claim_new_mqls(session, limit)
    return HandoffOutcome(claimed=len(leads), handed_off=handed_off(hand_off(session, leads, ctx, as_of), leads))
