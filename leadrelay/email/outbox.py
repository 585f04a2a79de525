"""The outbox: emails are written in the transaction that decided them, and sent by draining it.

Each send is its own short transaction (lock the row, send, mark it), so a crash can repeat at most
the one message SendGrid had accepted but we had not yet marked; its idempotency key travels in
`custom_args` so such a duplicate can be found.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.email.backends import EmailSender
from leadrelay.email.message import EmailMessage
from leadrelay.email.retry import MAX_ATTEMPTS, next_attempt_at
from leadrelay.models import OutboxEmail


def enqueue(session: Session, message: EmailMessage, kind: str, lead_id: int | None, as_of: datetime) -> bool:
    """Add the message unless one with its idempotency key exists; True when it was added."""
    exists = session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == message.idempotency_key))
    if exists:
        return False
    session.add(OutboxEmail(
        idempotency_key=message.idempotency_key, kind=kind, lead_id=lead_id, to_email=message.to_email,
        to_name=message.to_name, subject=message.subject, html=message.html, text=message.text,
        headers={**message.headers, "_from_email": message.from_email, "_from_name": message.from_name,
                 "_custom_args": message.custom_args},
        categories=list(message.categories), created_at=as_of, next_attempt_at=as_of,
    ))
    return True


def as_message(row: OutboxEmail) -> EmailMessage:
    headers = {k: v for k, v in row.headers.items() if not k.startswith("_")}
    return EmailMessage(
        idempotency_key=row.idempotency_key, to_email=row.to_email, to_name=row.to_name,
        from_email=row.headers["_from_email"], from_name=row.headers["_from_name"], subject=row.subject,
        html=row.html, text=row.text, headers=headers, categories=tuple(row.categories),
        custom_args=dict(row.headers.get("_custom_args") or {}),
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
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.scalars(query).first()
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
