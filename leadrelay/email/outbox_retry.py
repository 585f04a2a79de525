"""`leadrelay outbox retry`: give messages marked `failed` another go.

A failed row goes back to `pending` with its attempts at zero, due at `as_of`; the next send run
(the `send` deployment, or `leadrelay run send`) takes it. A marketing email to an address that
has been suppressed since (unsubscribed, bounced, complained) stays `failed`: retrying must not
send what the lead asked not to get. Rep-facing emails are always queued again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, not_, select, update
from sqlalchemy.engine import Engine

from leadrelay.db import unit_of_work
from leadrelay.email.kinds import REP_FACING
from leadrelay.models import OutboxEmail, Suppression

@dataclass(frozen=True)
class RetryOutcome:
    queued: int  # failed rows put back to pending
    kept_suppressed: int  # failed marketing emails left alone: their address is suppressed now


def _failed(since: datetime | None):
    # a failed row's next_attempt_at is when it was given up (see outbox._outcome_of)
    table = OutboxEmail.__table__
    condition = table.c.status == "failed"
    return and_(condition, table.c.next_attempt_at >= since) if since is not None else condition


def _suppressed():
    table = OutboxEmail.__table__
    return and_(table.c.kind.not_in(sorted(REP_FACING)),
                exists().where(Suppression.__table__.c.email == func.lower(func.trim(table.c.to_email))))


def retry_failed(engine: Engine, as_of: datetime, since: datetime | None = None) -> RetryOutcome:
    """Put every `failed` message (given up at or after `since`, when given) back in the queue,
    due at `as_of`, with its attempts reset, in one statement; leave failed marketing emails to
    suppressed addresses alone and count them."""
    table = OutboxEmail.__table__
    with unit_of_work(engine) as session:
        queued = session.execute(
            update(table).where(_failed(since), not_(_suppressed()))
            .values(status="pending", attempts=0, next_attempt_at=as_of, lease_until=None)
        ).rowcount
        kept = session.scalar(select(func.count()).select_from(table).where(_failed(since)))
    return RetryOutcome(queued=queued, kept_suppressed=kept)
