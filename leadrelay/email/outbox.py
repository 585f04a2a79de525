"""The outbox: emails are written in the transaction that decided them, and sent by draining it.

Each send is its own short transaction (lock the row, send, mark it), so a crash can repeat at most
the one message SendGrid had accepted but we had not yet marked; its idempotency key travels in
`custom_args` so such a duplicate can be found.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.clock import now
from leadrelay.db import claim, unit_of_work
from leadrelay.email.backends import EmailSender
from leadrelay.email.message import EmailMessage
from leadrelay.email.retry import MAX_ATTEMPTS, next_attempt_at
from leadrelay.models import OutboxEmail


def enqueue(session: Session, message: EmailMessage, kind: str, lead_id: int | None, as_of: datetime) -> bool:
    """Add the message, due at `as_of`, unless one with its idempotency key exists; True when it
    was added. `kind` is one of `leadrelay.email.kinds`."""
    exists = session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == message.idempotency_key))
    if exists:
        return False
    session.add(OutboxEmail(
        idempotency_key=message.idempotency_key, kind=kind, lead_id=lead_id, to_email=message.to_email,
        to_name=message.to_name, from_email=message.from_email, from_name=message.from_name,
        subject=message.subject, html=message.html, text=message.text, headers=dict(message.headers),
        categories=list(message.categories), custom_args=dict(message.custom_args),
        created_at=as_of, next_attempt_at=as_of,
    ))
    return True


def as_message(row: OutboxEmail) -> EmailMessage:
    """The message an outbox row holds, as `enqueue` got it."""
    return EmailMessage(
        idempotency_key=row.idempotency_key, to_email=row.to_email, to_name=row.to_name,
        from_email=row.from_email, from_name=row.from_name, subject=row.subject,
        html=row.html, text=row.text, headers=dict(row.headers), categories=tuple(row.categories),
        custom_args=dict(row.custom_args or {}),
    )


@dataclass(frozen=True)
class FailedEmail:
    """A message marked failed for good, as the run's log and events may tell it: no recipient."""

    outbox_id: int
    lead_id: int | None
    kind: str
    error: str  # the backend's reason, with the recipient's address and name blanked out


@dataclass
class DrainOutcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lead_ids: list[int] = field(default_factory=list)  # leads of the messages tried
    failures: list[FailedEmail] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed


def due_ids(engine: Engine, now: datetime, limit: int) -> list[int]:
    with unit_of_work(engine) as session:
        return list(session.scalars(
            select(OutboxEmail.id).where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit)))


def send_one(engine: Engine, outbox_id: int, sender: EmailSender, now: datetime,
             retry_base_seconds: float) -> str | None:
    """Send one pending row and record the outcome; None when another worker has it or it is done."""
    with unit_of_work(engine) as session:
        query = select(OutboxEmail).where(OutboxEmail.id == outbox_id, OutboxEmail.status == "pending")
        row = session.scalars(claim(session, query)).first()
        if row is None:
            return None
        result = sender.send(as_message(row))
        row.attempts += 1
        if result.status == "sent":
            row.status, row.sent_at, row.provider_id, row.last_error = "sent", now, result.provider_id, None
        elif result.status == "retry" and row.attempts < MAX_ATTEMPTS:
            row.next_attempt_at = next_attempt_at(row.attempts, now, result.retry_after, base_seconds=retry_base_seconds)
            row.last_error = result.error or "temporary failure"
        else:
            row.status, row.last_error = "failed", result.error or f"gave up after {row.attempts} attempts"
        return "retrying" if row.status == "pending" else row.status


def drain_outbox(engine: Engine, sender: EmailSender, now: datetime, limit: int,
                 retry_base_seconds: float = 30) -> DrainOutcome:
    """Try every message due at `now`, up to `limit`, once; the outcome counts them, names their
    leads and describes each failed-for-good one (every row is committed when this returns)."""
    outcome = DrainOutcome()
    tried = []
    for outbox_id in due_ids(engine, now, limit):
        status = send_one(engine, outbox_id, sender, now, retry_base_seconds)
        if status:
            setattr(outcome, status, getattr(outcome, status) + 1)
            tried.append(outbox_id)
    if tried:
        outcome.lead_ids, outcome.failures = _tried_leads_and_failures(engine, tried)
    return outcome


def send_due(engine: Engine, sender: EmailSender, as_of: datetime, limit: int, retry_base_seconds: float,
             max_wait_seconds: float, on_pass: Callable[[DrainOutcome], None] = lambda outcome: None,
             clock: Callable[[], datetime] = now, sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Drain the outbox until nothing is due: each pass sends what is due (up to `limit`) at the
    later of `as_of` and `clock()`, so a simulated run sends what it queued; then, while a retry
    falls due within `max_wait_seconds` of starting, sleep until it is due and pass again. Later
    retries are left for the next run.

    `on_pass` sees every pass's outcome (its rows are committed): the caller logs and reports it.
    Returns {"sent", "failed"} summed over the passes and "still_pending" (any due time).
    """
    totals = {"sent": 0, "failed": 0}
    deadline = time.monotonic() + max_wait_seconds
    while True:
        moment = max(as_of, clock())
        outcome = drain_outbox(engine, sender, moment, limit, retry_base_seconds)
        totals["sent"] += outcome.sent
        totals["failed"] += outcome.failed
        on_pass(outcome)
        wait = wait_needed(engine, moment, timedelta(seconds=max(deadline - time.monotonic(), 0)))
        if wait is None:
            break
        sleep(max(wait.total_seconds(), 0.05))
        # A simulated as_of does not move with the clock: step it by the time waited.
        as_of = as_of + max(wait, timedelta(seconds=0.05))
    totals["still_pending"] = pending_count(engine)
    return totals


def _tried_leads_and_failures(engine: Engine, outbox_ids: list[int]) -> tuple[list[int], list[FailedEmail]]:
    with unit_of_work(engine) as session:
        rows = session.execute(
            select(OutboxEmail.id, OutboxEmail.lead_id, OutboxEmail.kind, OutboxEmail.status, OutboxEmail.last_error,
                   OutboxEmail.to_email, OutboxEmail.to_name)
            .where(OutboxEmail.id.in_(outbox_ids)).order_by(OutboxEmail.id)).all()
    lead_ids = sorted({row.lead_id for row in rows if row.lead_id is not None})
    failures = [FailedEmail(row.id, row.lead_id, row.kind,
                            without_recipient(row.last_error or "", row.to_email, row.to_name))
                for row in rows if row.status == "failed"]
    return lead_ids, failures


def without_recipient(error: str, to_email: str, to_name: str | None) -> str:
    """`error` with the recipient's address (and name) replaced by `<recipient>`, in any letter case:
    backends promise not to echo them, this keeps the promise where the error is shown again."""
    for personal in (to_email, to_name):
        if personal and len(personal.strip()) >= 3:
            error = re.sub(re.escape(personal.strip()), "<recipient>", error, flags=re.IGNORECASE)
    return error


def pending_count(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "pending"))


def next_due(engine: Engine) -> datetime | None:
    with unit_of_work(engine) as session:
        return session.scalar(select(OutboxEmail.next_attempt_at).where(OutboxEmail.status == "pending")
                              .order_by(OutboxEmail.next_attempt_at).limit(1))


def wait_needed(engine: Engine, now: datetime, max_wait: timedelta) -> timedelta | None:
    """How long until the next pending message is due, if that is within `max_wait`."""
    due = next_due(engine)
    if due is None:
        return None
    wait = max(due - now, timedelta(0))
    return wait if wait <= max_wait else None
