"""Moving an open handoff to another rep: a manager's choice (`leadrelay handoff reassign`, the
escalation email's signed link), and the short "reassigned to X" email the losing rep gets (also
after an SLA reassignment).

Works in the caller's unit of work and never commits. Errors are one sentence, safe to show.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from leadrelay.email.kinds import HANDOFF_REASSIGNED
from leadrelay.email.outbox import Queued, enqueue_many
from leadrelay.email.rendering import reassigned_notice
from leadrelay.handoff.handoff_store import HandedOff, HandoffContext, hand_off, rep_timezone
from leadrelay.handoff.routing import RouteDecision
from leadrelay.history import append_history, history_row
from leadrelay.models import Handoff, HandoffStatus, Lead

MANAGER_RULE = "manager"
BY_MANAGER = "a manager reassigned it"
NO_ANSWER = "nobody answered by the deadline"


class ReassignError(Exception):
    """The handoff cannot be reassigned; the message is one sentence."""


class UnknownRep(ReassignError):
    """The rep to reassign to is not in reps.yaml."""


def reassign_handoff(session: Session, ctx: HandoffContext, handoff_id: int, to_rep: str, as_of: datetime,
                     by: str) -> HandedOff:
    """Give open handoff `handoff_id` to `to_rep` (a rep in reps.yaml, not the one holding it) at
    `as_of`, for `by` (who decided, for the history): the old handoff becomes `reassigned`, a new
    one opens with a fresh deadline and the new rep's email, the losing rep is told, and the
    lead's history says who moved it. Raises UnknownRep or ReassignError; nothing is written then."""
    rep = ctx.rules.reps.rep((to_rep or "").strip())
    if rep is None:
        raise UnknownRep(f"{to_rep.strip() or 'that address'} is not a rep in reps.yaml; "
                         "reassign to one of the reps listed there.")
    handoff = session.get(Handoff, handoff_id, with_for_update=True, populate_existing=True)
    if handoff is None:
        raise ReassignError("That handoff no longer exists.")
    if handoff.status != HandoffStatus.open:
        raise ReassignError(f"That handoff is already {handoff.status}; only an open handoff can be reassigned.")
    if handoff.rep_email.lower() == rep.email:
        raise ReassignError(f"That handoff is already with {rep.email}.")
    # Compare-and-set: a rep answering at the same moment wins or loses cleanly, never both.
    closed = session.execute(update(Handoff).where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.open)
                             .values(status=HandoffStatus.reassigned).execution_options(synchronize_session=False))
    if closed.rowcount != 1:
        raise ReassignError("That handoff was answered or closed a moment ago; nothing was reassigned.")
    session.refresh(handoff)
    lead = session.get(Lead, handoff.lead_id, with_for_update=True, populate_existing=True)
    append_history(session, [history_row(lead.id, "reassigned", by, as_of, {
        "handoff": handoff.id, "from": handoff.rep_email, "to": rep.email}, flow_run_id=ctx.flow_run_id)])
    decision = RouteDecision(rep_email=rep.email, rule=MANAGER_RULE, pool=(rep.email,), strategy=MANAGER_RULE,
                             reason=f"reassigned to you by {by}; it was with {handoff.rep_email}", fallback=False)
    # The same attempt: a manager's choice does not use up the SLA's reassignments.
    [opened] = hand_off(session, [lead], ctx, as_of, decisions=[decision], attempts=[handoff.attempt])
    tell_losing_reps(session, ctx, [(handoff, lead, rep.email)], BY_MANAGER, as_of)
    return opened


def open_handoff_of(session: Session, lead_email: str) -> Handoff:
    """The open handoff of the lead with `lead_email`; ReassignError when there is none."""
    lead = session.scalars(select(Lead).where(Lead.email == lead_email.strip().lower())).first()
    if lead is None:
        raise ReassignError("No lead has that email address.")
    handoff = session.scalars(select(Handoff).where(Handoff.lead_id == lead.id, Handoff.status == HandoffStatus.open)
                              .order_by(Handoff.id.desc())).first()
    if handoff is None:
        raise ReassignError(f"That lead has no open handoff to reassign (it is {lead.stage}).")
    return handoff


def tell_losing_reps(session: Session, ctx: HandoffContext, moves: list[tuple[Handoff, Lead, str]], why: str,
                     as_of: datetime) -> None:
    """Queue the short "reassigned to X" email to the rep of each old handoff in `moves` (old
    handoff, lead, new rep), once per old handoff, with a history event each."""
    queued, history = [], []
    for old, lead, new_rep in moves:
        loser, winner = ctx.rules.reps.rep(old.rep_email), ctx.rules.reps.rep(new_rep)
        person = {"email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
                  "title": lead.title, "company": lead.company}
        message = reassigned_notice(person, old.rep_email, loser.name if loser else old.rep_email,
                                    f"{winner.name} ({new_rep})" if winner else new_rep, why, as_of,
                                    rep_timezone(loser), ctx.sender, idempotency_key=f"handoff:{old.id}:reassigned")
        queued.append(Queued(message, HANDOFF_REASSIGNED, lead.id))
        history.append(history_row(lead.id, "notification_queued", ctx.actor, as_of, {
            "handoff": old.id, "to": old.rep_email, "kind": HANDOFF_REASSIGNED}, flow_run_id=ctx.flow_run_id))
    added = enqueue_many(session, queued, as_of)
    append_history(session, [row for row, q in zip(history, queued) if q.message.idempotency_key in added])


def manager_context(session: Session, services, actor: str) -> HandoffContext:
    """A HandoffContext for a reassignment outside a flow run (command line, signed link)."""
    from leadrelay.links.secret import link_secret
    from leadrelay.wiring import sender_identity

    settings = services.settings
    return HandoffContext(rules=services.rules, secret=link_secret(session, settings), base_url=settings.base_url,
                          sender=sender_identity(settings), actor=actor)


def reassign_from_command_line(services, lead_email: str, to_rep: str, as_of: datetime) -> HandedOff:
    """`leadrelay handoff reassign EMAIL --to REP`: move the lead's open handoff to REP, committed."""
    from leadrelay.db import unit_of_work

    actor = "manager (command line)"
    with unit_of_work(services.engine) as session:
        handoff = open_handoff_of(session, lead_email)
        return reassign_handoff(session, manager_context(session, services, actor), handoff.id, to_rep, as_of, actor)
