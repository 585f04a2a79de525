"""Recording outcomes from sales (SQL, won, lost, disqualified) for a batch of leads at once.

Works in the caller's unit of work and never commits. Each outcome becomes an `outcome_recorded`
history event (who: the actor; why: reason, amount, when it happened), its stage moves through
`leadrelay.lifecycle.apply_transitions` (see `leadrelay.outcomes.rules` for which), and one
`sales_outcome` row keeps the amount where the funnel sums it. An outcome whose `source_key` was
recorded before (a CRM redelivering an event, a file imported twice) is a duplicate and changes
nothing. The batch is read in a few queries and written in a few statements, whatever its size.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from leadrelay.bulk import insert_rows, is_one_of
from leadrelay.db import claim
from leadrelay.history import append_history, history_row
from leadrelay.lead_view import iso
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.models import Lead, SalesOutcome, Stage
from leadrelay.nurture.suppression import normalise_email
from leadrelay.outcomes.rules import Move, OutcomeError, plan_moves

_CHUNK = 500
NO_LEAD = "no lead has this email address."


class UnknownLead(OutcomeError):
    """No lead has the address an outcome names."""


@dataclass(frozen=True)
class OutcomeRequest:
    """One outcome to record: for the lead with `email`, what happened, when, and why."""

    email: str
    outcome: str  # one of rules.OUTCOMES, already parsed
    occurred_at: datetime
    amount_cents: int | None = None
    reason: str | None = None
    source_key: str | None = None  # idempotency key; None: never a duplicate
    rep: str | None = None  # the rep who said so, when known


@dataclass(frozen=True)
class OutcomeResult:
    """What became of one request: recorded (with the lead's stage now), duplicate, no such lead,
    or refused (why: a move the lifecycle does not allow)."""

    status: Literal["recorded", "duplicate", "no_lead", "refused"]
    message: str
    stage: str | None = None


@dataclass
class _Accepted:
    index: int
    lead_id: int
    request: OutcomeRequest
    moves: list[Move]


def record_outcomes(session: Session, requests: Sequence[OutcomeRequest], as_of: datetime,
                    actor: str) -> list[OutcomeResult]:
    """Record `requests` at `as_of` for `actor`; one result per request, in the same order.

    A lead with several outcomes in the batch takes them in `occurred_at` order (sql, then won),
    each from the stage the previous one left it in. Refusals (no such lead, a move the lifecycle
    does not allow) are results, not exceptions: the rest of the batch is recorded.
    """
    results: list[OutcomeResult | None] = [None] * len(requests)
    leads = _leads_by_email(session, {normalise_email(r.email) for r in requests})
    seen_keys = _recorded_keys(session, {r.source_key for r in requests if r.source_key})
    stage_now = {lead.id: Stage(lead.stage) for lead in leads.values()}
    waves: list[list[_Accepted]] = []
    done_per_lead: dict[int, int] = defaultdict(int)
    for index in sorted(range(len(requests)), key=lambda i: requests[i].occurred_at):
        request = requests[index]
        if request.source_key and request.source_key in seen_keys:
            results[index] = OutcomeResult("duplicate", "this outcome was recorded before; nothing changed.")
            continue
        lead = leads.get(normalise_email(request.email))
        if lead is None:
            results[index] = OutcomeResult("no_lead", NO_LEAD)
            continue
        try:
            moves = plan_moves(stage_now[lead.id], request.outcome, request.reason)
        except OutcomeError as refused:
            results[index] = OutcomeResult("refused", str(refused), stage_now[lead.id].value)
            continue
        if request.source_key:
            seen_keys.add(request.source_key)
        stage_now[lead.id] = moves[-1].to_stage
        wave = done_per_lead[lead.id]
        done_per_lead[lead.id] += 1
        if wave == len(waves):
            waves.append([])
        waves[wave].append(_Accepted(index, lead.id, request, moves))
        results[index] = OutcomeResult("recorded", f"the lead is now {moves[-1].to_stage}.", moves[-1].to_stage.value)
    for wave in waves:
        _apply_wave(session, wave, as_of, actor)
    session.flush()
    return [result for result in results if result is not None]


def _apply_wave(session: Session, wave: list[_Accepted], as_of: datetime, actor: str) -> None:
    """The outcome events, rows and stage moves of a wave (each lead at most once in it)."""
    append_history(session, [history_row(a.lead_id, "outcome_recorded", actor, as_of, _detail(a.request))
                             for a in wave])
    insert_rows(session.connection(), SalesOutcome.__table__, [
        {"lead_id": a.lead_id, "outcome": a.request.outcome, "occurred_at": a.request.occurred_at,
         "recorded_at": as_of, "amount_cents": a.request.amount_cents, "reason": a.request.reason,
         "actor": actor[:300], "source_key": a.request.source_key} for a in wave])
    # One lifecycle call per step: the first moves of every lead, then the second ones, ...
    for step in range(max(len(a.moves) for a in wave)):
        apply_transitions(session, [_transition(a, a.moves[step]) for a in wave if step < len(a.moves)], as_of, actor)
    # Back in nurturing without an owner, as after a rejection (the account keeps its owner).
    recycled = [a.lead_id for a in wave if a.moves[-1].to_stage == Stage.nurturing]
    for start in range(0, len(recycled), _CHUNK):
        session.execute(update(Lead).where(is_one_of(session, Lead.id, recycled[start:start + _CHUNK]))
                        .values(owner_rep=None))


def _transition(accepted: _Accepted, move: Move) -> Transition:
    request = accepted.request
    why = f"outcome {request.outcome}" + (f": {request.reason}" if request.reason else "")
    if move.to_stage.value != request.outcome and move.to_stage != Stage.nurturing:
        why = f"{move.to_stage} recorded on the way to {request.outcome}"
    return Transition(accepted.lead_id, move.from_stage, move.to_stage, why, move.nurture_reason)


def _detail(request: OutcomeRequest) -> dict:
    detail = {"outcome": request.outcome, "occurred_at": iso(request.occurred_at)}
    if request.reason:
        detail["reason"] = request.reason
    if request.amount_cents is not None:
        detail["amount"] = format_amount(request.amount_cents)
    if request.rep:
        detail["rep"] = request.rep
    if request.source_key:
        detail["source_key"] = request.source_key
    return detail


def format_amount(cents: int) -> str:
    """Cents as a plain decimal amount: 1250000 -> `12500.00`."""
    return f"{cents // 100}.{cents % 100:02d}"


def _leads_by_email(session: Session, emails: set[str]) -> dict[str, Lead]:
    """The leads with these (normalised) addresses, locked for this transaction on PostgreSQL."""
    found: dict[str, Lead] = {}
    ordered = sorted(e for e in emails if e)
    for start in range(0, len(ordered), _CHUNK):
        query = select(Lead).where(is_one_of(session, Lead.email, ordered[start:start + _CHUNK])).order_by(Lead.id)
        for lead in session.scalars(claim(session, query, skip_locked=False)):
            found[lead.email] = lead
    return found


def _recorded_keys(session: Session, keys: set[str]) -> set[str]:
    ordered = sorted(keys)
    seen: set[str] = set()
    for start in range(0, len(ordered), _CHUNK):
        seen.update(session.scalars(select(SalesOutcome.source_key)
                                    .where(is_one_of(session, SalesOutcome.source_key, ordered[start:start + _CHUNK]))))
    return seen


def record_one(session: Session, request: OutcomeRequest, as_of: datetime, actor: str) -> OutcomeResult:
    """Record one outcome (the CLI, a rep's page); raises UnknownLead or OutcomeError with the
    refusal's sentence when it is not recorded."""
    result = record_outcomes(session, [request], as_of, actor)[0]
    if result.status == "no_lead":
        raise UnknownLead(result.message)
    if result.status == "refused":
        raise OutcomeError(result.message)
    return result
