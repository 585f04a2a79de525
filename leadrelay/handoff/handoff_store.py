"""Handing MQLs to reps: route, set the SLA deadline, record why, and queue the rep's email.

All of it happens in the caller's unit of work, so a lead is handed off once per decision even
when a run is retried: the claim only finds MQLs without an open handoff.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import Select, func, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from leadrelay.config.rules import Rules
from leadrelay.bulk import insert_returning, is_one_of, update_rows
from leadrelay.db import claim, dialect_insert
from leadrelay.gc_pause import collector_paused
from leadrelay.history import history_row, append_history
from leadrelay.lead_view import lead_profiles, rule_view
from leadrelay.links.secret import handoff_links
from leadrelay.email.kinds import REP_NOTIFICATION
from leadrelay.email.outbox import Queued, enqueue_many
from leadrelay.email.rendering import HandoffNotice, Sender, rep_notification_later
from leadrelay.handoff.cooldown import reps_to_avoid
from leadrelay.handoff.rejection_store import cooling_down, earlier_rejection, engagement_since, last_rejections
from leadrelay.handoff.routing import RepLoad, RouteDecision, route_batch
from leadrelay.handoff.sla import sla_due_at
from leadrelay.models import Account, EmailStatus, Handoff, Lead, RepState, Stage

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
    last_lead_id: int | None = None  # the highest id claimed: where the next batch starts


def claim_new_mqls(session: Session, limit: int, rules: Rules | None = None,
                   as_of: datetime | None = None, after: int | None = None) -> list[Lead]:
    """MQLs with no open handoff (in id order, above `after` if given), locked for this transaction
    (skipping others' rows on PostgreSQL).
    With `rules` and `as_of`, MQLs whose last rejection is still cooling down are not claimed at all
    (they wait as MQLs, so a batch never claims them again and again)."""
    query = _new_mqls(select(Lead), limit, rules, as_of, after)
    return _without_open_handoff(session, list(session.scalars(claim(session, query, of=Lead))))


class LeadRow(SimpleNamespace):
    """A lead's columns as attributes, without the ORM: what a hand-off batch claims (building
    `Lead` objects cost more than the claim's query). `hand_off` takes these or `Lead`s."""


def claim_new_mql_rows(session: Session, limit: int, rules: Rules | None = None,
                       as_of: datetime | None = None, after: int | None = None) -> list[LeadRow]:
    """`claim_new_mqls`, as `LeadRow`s: the same leads, locked the same way, with the same values."""
    query = _new_mqls(select(*Lead.__table__.columns), limit, rules, as_of, after)
    session.flush()  # as the ORM query would (autoflush): the claim sees what this session changed
    result = session.connection().execute(claim(session, query, of=Lead.__table__))  # Core rows: no ORM loading
    names = list(result.keys())
    return _without_open_handoff(session, [LeadRow(**dict(zip(names, row))) for row in result])


def _new_mqls(query: Select, limit: int, rules: Rules | None, as_of: datetime | None, after: int | None) -> Select:
    """`query` (of leads) narrowed to the MQLs a claim takes, in id order, at most `limit`."""
    # OFFSET 0 keeps the check a per-lead probe of ix_handoff_open_lead: flattened into an anti-join,
    # statistics from before a big scoring pass made PostgreSQL scan every open handoff per MQL
    # (8.3 s for one claim at 100k leads, 10 ms with the probe).
    open_handoff = (select(Handoff.id).where(Handoff.lead_id == Lead.id, Handoff.status == "open")
                    .offset(0).correlate(Lead).exists())
    # An erased lead (`leadrelay erase`) keeps its stage for the counts but is never handed off again.
    query = query.where(Lead.stage == Stage.mql, ~open_handoff, Lead.email_status != EmailStatus.erased)
    if rules is not None and as_of is not None:
        query = query.where(~cooling_down(rules.routing.rejections, as_of))
    if after is not None:
        query = query.where(Lead.id > after)
    return query.order_by(Lead.id).limit(limit)


def _without_open_handoff(session: Session, leads: list) -> list:
    """The claimed `leads` that still have no open handoff."""
    if not leads:
        return leads
    # Look again now that the rows are ours: on PostgreSQL the claim's NOT EXISTS saw the snapshot
    # its statement started with, so a lead another run handed off and released meanwhile passed it.
    taken = set(session.scalars(select(Handoff.lead_id).where(
        is_one_of(session, Handoff.lead_id, [lead.id for lead in leads]), Handoff.status == "open")))
    return [lead for lead in leads if lead.id not in taken]


def rep_loads(session: Session) -> dict[str, RepLoad]:
    """Open handoffs and last assignment per rep: what round robin and capacity need."""
    open_counts = dict(session.execute(
        select(Handoff.rep_email, func.count()).where(Handoff.status == "open").group_by(Handoff.rep_email)).all())
    last = {s.email: s.last_assigned_at for s in session.scalars(select(RepState))}
    return {email: RepLoad(open_counts.get(email, 0), last.get(email)) for email in set(open_counts) | set(last)}


def hand_off(session: Session, leads: list[Lead] | list[LeadRow], ctx: HandoffContext, as_of: datetime,
             excludes: list[set[str]] | None = None, attempts: list[int] | None = None,
             decisions: list[RouteDecision] | None = None, earlier: list[dict | None] | None = None) -> list[HandedOff]:
    """Route each lead, open a handoff with its deadline, record the decision and queue the rep's
    email, for the whole batch in a handful of statements; returns the handoffs opened.
    `decisions`, when given, are used instead of routing (a manager's reassignment); `earlier`
    holds, per lead, what its email says about the lead's last rejection (None: nothing).
    `leads` may be loaded `Lead`s (their new owner is set on them as stored) or `LeadRow`s."""
    if not leads:
        return []
    accounts = _accounts(session, leads)
    owners = [accounts[lead.account_id].owner_rep if lead.account_id in accounts else None for lead in leads]
    if decisions is None:
        decisions = route_batch([rule_view(lead) for lead in leads], ctx.rules.routing, ctx.rules.reps,
                                rep_loads(session), as_of, account_owners=owners, excludes=excludes)
    rejection_notes = {lead.id: note for lead, note in zip(leads, earlier or [])}
    history = [history_row(lead.id, "routing_failed", ctx.actor, as_of, {"reason": decision.reason},
                           flow_run_id=ctx.flow_run_id)
               for lead, decision in zip(leads, decisions) if decision.rep_email is None]
    routed = [(lead, decision, attempts[index] if attempts else 0)
              for index, (lead, decision) in enumerate(zip(leads, decisions)) if decision.rep_email is not None]
    if not routed:
        append_history(session, history)
        return []
    deadlines = _Deadlines(ctx, as_of)
    rows = [{"lead_id": lead.id, "rep_email": decision.rep_email, "status": "open", "created_at": as_of,
             "due_at": deadlines.due_at(decision.rep_email, lead.tier), "attempt": attempt,
             "route": _route(decision), "sla_breached": False} for lead, decision, attempt in routed]
    # A lead is routed once per batch: its id tells which handoff is whose.
    ids = dict(insert_returning(session.connection(), Handoff.__table__, rows, ["lead_id", "id"]))
    for (lead, decision, _), row in zip(routed, rows):
        row["id"] = handoff_id = ids[lead.id]
        policy = ctx.rules.sla.policy_for(lead.tier)
        history += [
            history_row(lead.id, "routed", ctx.actor, as_of, {"rep": decision.rep_email, **row["route"]},
                        flow_run_id=ctx.flow_run_id),
            history_row(lead.id, "handoff_created", ctx.actor, as_of, {
                "handoff": handoff_id, "rep": decision.rep_email, "due_at": row["due_at"].isoformat(),
                "tier": lead.tier, "hours_to_accept": policy.hours_to_accept,
                "business_hours": policy.business_hours, "attempt": row["attempt"]}, flow_run_id=ctx.flow_run_id),
        ]
        if rejection_notes.get(lead.id):
            note = rejection_notes[lead.id]
            history.append(history_row(lead.id, "handed_back", ctx.actor, as_of, {
                "handoff": handoff_id, "rejected_by": note["rep_email"], "rejected_at": note["at"],
                "reason": note["reason"], "why": note["why_back"]}, flow_run_id=ctx.flow_run_id))
    _set_owners(session, [(lead, decision.rep_email) for lead, decision, _ in routed], accounts,
                ctx.rules.routing.account_ownership, as_of)
    _mark_assigned(session, {decision.rep_email for _, decision, _ in routed}, as_of)
    append_history(session, history)
    _queue_notifications(session, [lead for lead, _, _ in routed], rows, [d for _, d, _ in routed], ctx, as_of,
                         [rejection_notes.get(lead.id) for lead, _, _ in routed])
    return [HandedOff(row["lead_id"], row["id"], row["rep_email"], lead.tier, row["due_at"])
            for (lead, _, _), row in zip(routed, rows)]


def _route(decision: RouteDecision) -> dict:
    return {"rule": decision.rule, "pool": list(decision.pool), "strategy": decision.strategy,
            "reason": decision.reason, "fallback": decision.fallback}


class _Deadlines:
    """SLA deadlines at one `as_of`, worked out once per (rep, tier) for the batch."""

    def __init__(self, ctx: HandoffContext, as_of: datetime):
        self.ctx, self.as_of, self.known = ctx, as_of, {}

    def due_at(self, rep_email: str, tier: str | None) -> datetime:
        if (rep_email, tier) not in self.known:
            rep = self.ctx.rules.reps.rep(rep_email)
            working = (rep.working_hours if rep and rep.working_hours else None) or self.ctx.rules.sla.default_working()
            policy = self.ctx.rules.sla.policy_for(tier)
            self.known[rep_email, tier] = sla_due_at(self.as_of, policy.hours_to_accept, rep_timezone(rep),
                                                     working, policy.business_hours)
        return self.known[rep_email, tier]


def rep_timezone(rep) -> str:
    """The rep's time zone (reps.yaml), UTC for an address reps.yaml does not know."""
    return rep.timezone if rep else "UTC"


def _set_owners(session: Session, owners: list[tuple[Lead, str]], accounts: dict[int, Account],
                account_ownership: bool, as_of: datetime) -> None:
    """Make each lead's rep its owner (updated at `as_of`) and, with `account_ownership`, the first
    rep of an ownerless account that account's owner: one UPDATE per table for the batch, and the
    same values on the loaded objects, as if read back (nothing left for the ORM to flush)."""
    account_owners: dict[int, str] = {}
    for lead, rep_email in owners:
        _set_as_stored(lead, "owner_rep", rep_email)
        _set_as_stored(lead, "updated_at", as_of)
        account = accounts.get(lead.account_id)
        if account_ownership and account is not None and not account.owner_rep:
            _set_as_stored(account, "owner_rep", rep_email)
            account_owners[account.id] = rep_email
    connection = session.connection()
    update_rows(connection, Lead.__table__,
                [{"id": lead.id, "owner_rep": rep_email, "updated_at": as_of} for lead, rep_email in owners])
    update_rows(connection, Account.__table__,
                [{"id": account_id, "owner_rep": rep_email} for account_id, rep_email in account_owners.items()])


def _set_as_stored(target: object, name: str, value: object) -> None:
    """Set an attribute on an ORM object as its stored value (not a change to flush), or on a plain one."""
    if hasattr(target, "_sa_instance_state"):
        set_committed_value(target, name, value)
    else:
        setattr(target, name, value)


def _mark_assigned(session: Session, rep_emails: set[str], as_of: datetime) -> None:
    """Record `as_of` as the last assignment of each rep (round robin reads it), one statement."""
    statement = dialect_insert(session, RepState.__table__)
    statement = statement.on_conflict_do_update(index_elements=["email"],
                                                set_={"last_assigned_at": statement.excluded.last_assigned_at})
    session.connection().execute(statement, [{"email": email, "last_assigned_at": as_of} for email in sorted(rep_emails)])


def _queue_notifications(session: Session, leads: list[Lead], handoffs: list[dict], decisions: list[RouteDecision],
                         ctx: HandoffContext, as_of: datetime, earlier: list[dict | None]) -> None:
    """Queue each rep's email with the lead as it is now (read for the whole batch once its
    handoffs and history are written); rendering waits for sending (`rep_notification_later`)."""
    session.flush()  # whatever the caller changed through the ORM, before the profiles are read
    queued = []
    for lead, profile, handoff, decision, rejection in zip(leads, lead_profiles(session, leads), handoffs, decisions,
                                                            earlier):
        rep = ctx.rules.reps.rep(handoff["rep_email"])
        accept_url, reject_url = handoff_links(handoff["id"], handoff["rep_email"], ctx.secret, ctx.base_url,
                                               handoff["due_at"] + LINK_VALIDITY)
        notice = HandoffNotice(handoff_id=handoff["id"], rep_email=handoff["rep_email"],
                               rep_name=rep.name if rep else handoff["rep_email"], rep_timezone=rep_timezone(rep),
                               due_at=handoff["due_at"], accept_url=accept_url, reject_url=reject_url,
                               attempt=handoff["attempt"], route_reason=decision.reason,
                               idempotency_key=f"handoff:{handoff['id']}:notify", rejection=rejection)
        message, context = rep_notification_later(profile, notice, ctx.sender)
        queued.append(Queued(message, REP_NOTIFICATION, lead.id, context))
    added = enqueue_many(session, queued, as_of, new_keys=True)  # keys name the handoffs just inserted
    append_history(session, [history_row(q.lead_id, "notification_queued", ctx.actor, as_of,
                                         {"handoff": handoff["id"], "to": handoff["rep_email"], "kind": REP_NOTIFICATION},
                                         flow_run_id=ctx.flow_run_id)
                             for q, handoff in zip(queued, handoffs) if q.message.idempotency_key in added])


def _accounts(session: Session, leads: list[Lead]) -> dict[int, Account]:
    ids = {lead.account_id for lead in leads if lead.account_id}
    return {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}


@collector_paused  # the batch's profiles and rows die when it returns: they need no cyclic collection
def hand_off_new_mqls(session: Session, ctx: HandoffContext, as_of: datetime, limit: int,
                      after: int | None = None) -> HandoffOutcome:
    """Claim up to `limit` MQLs without a handoff (ids above `after`, if given) and hand them off;
    returns the leads claimed and the handoffs opened. A lead nobody can take stays an MQL and is
    claimed again, so a caller looping until nothing is left must pass `after` on (or stop on no
    handoffs, not on no claims)."""
    leads = claim_new_mql_rows(session, limit, ctx.rules, as_of, after)
    # Leads rejected before: the rep the reason rules out is skipped, and the email says what happened.
    rejections = last_rejections(session, [lead.id for lead in leads])
    rules = ctx.rules.routing.rejections
    excludes = [reps_to_avoid(rejections.get(lead.id), rules) for lead in leads]
    did = engagement_since(session, rejections, as_of)
    earlier = [earlier_rejection(rejections[lead.id], lead, did.get(lead.id), rules,
                                 _rep_name(ctx, rejections[lead.id].rep_email), as_of)
               if lead.id in rejections else None for lead in leads]
    return HandoffOutcome(claimed=len(leads), last_lead_id=max((lead.id for lead in leads), default=None),
                          handed_off=hand_off(session, leads, ctx, as_of, excludes=excludes, earlier=earlier))


def _rep_name(ctx: HandoffContext, email: str) -> str:
    rep = ctx.rules.reps.rep(email)
    return rep.name if rep else email
