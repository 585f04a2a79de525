"""`leadrelay outcome sql|won|lost|disqualified EMAIL`: one outcome from the command line."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from leadrelay.db import unit_of_work
from leadrelay.nurture.suppression import normalise_email
from leadrelay.outcomes.record import OutcomeRequest, OutcomeResult, record_one
from leadrelay.outcomes.rules import clean_reason, parse_amount, parse_outcome


class OutcomeUsageError(ValueError):
    """An argument is wrong (exit 2); the message is one sentence."""


def parse_arguments(outcome: str, amount: str | None, reason: str | None) -> tuple[str, int | None, str | None]:
    """The outcome, amount in cents and reason the arguments give; OutcomeUsageError otherwise."""
    from leadrelay.outcomes.rules import OutcomeError

    try:
        return parse_outcome(outcome), parse_amount(amount), clean_reason(reason)
    except OutcomeError as problem:
        raise OutcomeUsageError(str(problem)) from None


def record_from_command_line(engine: Engine, outcome: str, email: str, amount: str | None, reason: str | None,
                             rep: str | None, as_of: datetime) -> OutcomeResult:
    """Record one outcome for the lead with `email`; actor `cli`, or `rep:<rep> (command line)`
    when a rep is named. Raises OutcomeUsageError for a wrong argument, UnknownLead or
    OutcomeError (one sentence) when it cannot be recorded; then nothing is written."""
    name, cents, why = parse_arguments(outcome, amount, reason)
    rep_email = normalise_email(rep) if rep else None
    if rep is not None and "@" not in (rep_email or ""):
        raise OutcomeUsageError("--rep must be the rep's email address.")
    actor = f"rep:{rep_email} (command line)" if rep_email else "cli"
    request = OutcomeRequest(email=email, outcome=name, occurred_at=as_of, amount_cents=cents, reason=why,
                             rep=rep_email)
    with unit_of_work(engine) as session:
        return record_one(session, request, as_of, actor)
