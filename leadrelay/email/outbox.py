"""The outbox: emails are written in the transaction that decided them, and sent by draining it.

A drain claims a batch of due rows in one committed statement (`sending`, with a lease that runs
out, so a dead drainer's rows come back), sends them with up to `sender.max_in_flight` requests at
once, and marks the results in one executemany per group of finished sends. A crash can repeat at
most the messages handed to the backend and not yet marked (at most `2 * max_in_flight`: 16 for
SendGrid); their idempotency key travels in `custom_args` so such a duplicate can be found.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.clock import now
from leadrelay.bulk import insert_returning, insert_rows
from leadrelay.db import claim, unit_of_work
from leadrelay.email.backends import EmailSender
from leadrelay.email.message import EmailMessage, SendResult
from leadrelay.email.rendering import render_stored
from leadrelay.email.retry import MAX_ATTEMPTS, next_attempt_at, rate_limited_until
from leadrelay.models import OutboxEmail

SENDING = "sending"


@dataclass(frozen=True)
class Queued:
    """One message for `enqueue_many`: of `kind` (one of `leadrelay.email.kinds`), about `lead_id`.
    With `render_context` the message's subject and body are empty and sending renders them
    (`leadrelay.email.rendering.render_stored`)."""

    message: EmailMessage
    kind: str
    lead_id: int | None
    render_context: dict[str, Any] | None = None


def enqueue_many(session: Session, queued: list[Queued], as_of: datetime, new_keys: bool = False) -> set[str]:
    """Add the messages, due at `as_of`, in one statement, skipping any whose idempotency key is
    already there (the database decides, so concurrent runs cannot both add one); returns the
    keys that were added. `new_keys`: the caller made every key from rows it inserted in this
    unit of work, so none can exist yet: one COPY straight into the table, no conflict check."""
    if not queued:
        return set()
    rows = [{
        "idempotency_key": q.message.idempotency_key, "kind": q.kind, "lead_id": q.lead_id,
        "to_email": q.message.to_email, "to_name": q.message.to_name, "from_email": q.message.from_email,
        "from_name": q.message.from_name, "subject": q.message.subject, "html": q.message.html,
        "text": q.message.text, "headers": dict(q.message.headers), "categories": list(q.message.categories),
        "custom_args": dict(q.message.custom_args), "render_context": q.render_context,
        "status": "pending", "attempts": 0, "created_at": as_of, "next_attempt_at": as_of,
    } for q in queued]
    if new_keys:  # a rep notification's snapshot is ~3 KB: copying it twice was half a hand-off's writing
        insert_rows(session.connection(), OutboxEmail.__table__, rows)
        return {row["idempotency_key"] for row in rows}
    added = insert_returning(session.connection(), OutboxEmail.__table__, rows, ["idempotency_key"],
                             skip_conflicts_on="idempotency_key")
    return {key for (key,) in added}


def enqueue(session: Session, message: EmailMessage, kind: str, lead_id: int | None, as_of: datetime) -> bool:
    """Add the message, due at `as_of`, unless one with its idempotency key exists; True when it
    was added. `kind` is one of `leadrelay.email.kinds`."""
    return bool(enqueue_many(session, [Queued(message, kind, lead_id)], as_of))


def as_message(row: Any) -> EmailMessage:
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


LEASE_SECONDS = 300.0
"""How long a claimed (`sending`) row stays ours; after that another drainer may take it back."""
LEASE_MARGIN_SECONDS = 60.0
"""No message is handed to the backend with less than this left on its lease (it must exceed the
backend's timeout, 10 s for SendGrid): a row still being sent is never taken back by another."""


@dataclass
class _Claimed:
    """A claimed row: what sending it needs and what marking and reporting it need."""

    id: int
    lead_id: int | None
    kind: str
    attempts: int
    next_attempt_at: datetime
    message: EmailMessage  # for a row rendered when sent, its addresses and key, no body yet
    render_context: dict[str, Any] | None = None


def claim_due(engine: Engine, now: datetime, limit: int, lease_until: datetime, lease_now: datetime) -> list[_Claimed]:
    """Claim up to `limit` rows in one statement and commit: those due at `now` (`pending`) and
    those whose lease ran out by `lease_now` (a drainer died holding them). They become `sending`
    until `lease_until`. On PostgreSQL the inner SELECT skips rows another drainer is claiming."""
    with unit_of_work(engine) as session:
        due = or_(and_(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now),
                  and_(OutboxEmail.status == SENDING, OutboxEmail.lease_until <= lease_now))
        ids = claim(session, select(OutboxEmail.id).where(due)
                    .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit))
        table = OutboxEmail.__table__
        rows = session.execute(
            update(table).where(table.c.id.in_(ids.scalar_subquery()))
            .values(status=SENDING, lease_until=lease_until)
            .returning(*(table.c[name] for name in _CLAIMED_COLUMNS))).all()
    rows.sort(key=lambda row: (row.next_attempt_at, row.id))
    return [_Claimed(row.id, row.lead_id, row.kind, row.attempts, row.next_attempt_at, as_message(row),
                     row.render_context) for row in rows]


_CLAIMED_COLUMNS = ("id", "lead_id", "kind", "attempts", "next_attempt_at", "idempotency_key", "to_email", "to_name",
                    "from_email", "from_name", "subject", "html", "text", "headers", "categories", "custom_args", "render_context")


def _mark(engine: Engine, marks: list[dict], lease_until: datetime) -> None:
    """Record the outcomes of sent rows in one executemany and commit (only rows still ours:
    `sending` under this claim's lease)."""
    if not marks:
        return
    table = OutboxEmail.__table__
    statement = (update(table).where(table.c.id == bindparam("row_id"), table.c.status == SENDING,
                                     table.c.lease_until == lease_until)
                 .values(status=bindparam("new_status"), attempts=bindparam("new_attempts"),
                         next_attempt_at=bindparam("new_next"), sent_at=bindparam("new_sent_at"),
                         provider_id=bindparam("new_provider_id"), last_error=bindparam("new_error"),
                         lease_until=None))
    with unit_of_work(engine) as session:
        session.connection().execute(statement, marks)


def _release(engine: Engine, ids: list[int], lease_until: datetime) -> None:
    """Give claimed rows that were never handed to the backend back to the queue, as they were."""
    if ids:
        table = OutboxEmail.__table__
        with unit_of_work(engine) as session:
            session.execute(update(table).where(table.c.id.in_(ids), table.c.status == SENDING,
                                                table.c.lease_until == lease_until)
                            .values(status="pending", lease_until=None))


def _release_quietly(engine: Engine, ids: list[int], lease_until: datetime) -> None:
    """`_release`, when the database lets us; otherwise the rows come back when their lease runs out."""
    try:
        _release(engine, ids, lease_until)
    except Exception:  # the database is still unreachable: the caller's error is the one to see
        pass


def _outcome_of(row: _Claimed, result: SendResult, now: datetime, retry_base_seconds: float) -> tuple[str, dict]:
    """("sent" | "retrying" | "failed", the row's new values) for one attempt's result. A rate
    limit (429) spends no attempt: the row goes back to `pending`, due after the server's
    Retry-After. A row marked failed keeps in `next_attempt_at` when it was given up (what
    `retry_failed --since` selects on)."""
    if result.status == "retry" and result.rate_limited:
        return "retrying", {"row_id": row.id, "new_attempts": row.attempts, "new_status": "pending",
                            "new_next": rate_limited_until(now, result.retry_after, retry_base_seconds),
                            "new_sent_at": None, "new_provider_id": None,
                            "new_error": result.error or "rate limited"}
    attempts = row.attempts + 1
    mark = {"row_id": row.id, "new_attempts": attempts, "new_next": row.next_attempt_at, "new_sent_at": None,
            "new_provider_id": None, "new_error": None}
    if result.status == "sent":
        return "sent", {**mark, "new_status": "sent", "new_sent_at": now, "new_provider_id": result.provider_id}
    if result.status == "retry" and attempts < MAX_ATTEMPTS:
        return "retrying", {**mark, "new_status": "pending", "new_error": result.error or "temporary failure",
                            "new_next": next_attempt_at(attempts, now, result.retry_after,
                                                        base_seconds=retry_base_seconds)}
    return "failed", {**mark, "new_status": "failed", "new_next": now,
                      "new_error": result.error or f"gave up after {attempts} attempts"}


def _attempt(sender: EmailSender, row: _Claimed) -> SendResult:
    message = row.message
    if row.render_context is not None:
        try:
            message = render_stored(row.render_context)
        except Exception as exc:  # a template that cannot render now never will: no retry
            return SendResult("failed", error=f"could not render the message: {type(exc).__name__}")
    try:
        return sender.send(message)
    except Exception as exc:  # a backend bug must not lose the batch's other outcomes
        return SendResult("retry", error=f"backend error: {type(exc).__name__}")


def drain_outbox(engine: Engine, sender: EmailSender, now: datetime, limit: int,
                 retry_base_seconds: float = 30, clock: Callable[[], datetime] = now,
                 lease_seconds: float = LEASE_SECONDS) -> DrainOutcome:
    """Try every message due at `now`, up to `limit`, once; the outcome counts them, names their
    leads and describes each failed-for-good one (every row is committed when this returns).

    One statement claims the batch (`sending`, leased until `clock()` + `lease_seconds`) and is
    committed; then up to `sender.max_in_flight` sends run at once, and the results are marked in
    one executemany per group of finished sends. A message is handed to the backend only while
    fewer than `2 * max_in_flight` messages are handed over and not yet marked: that is the most a
    crash can send twice (the rest of a dead drainer's batch was never sent and comes back when its
    lease runs out). Rows whose lease got too short to start them are released, not sent.
    """
    lease_until = clock() + timedelta(seconds=lease_seconds)
    rows = claim_due(engine, now, limit, lease_until, clock())
    outcome = DrainOutcome()
    if not rows:
        return outcome
    in_flight = max(1, int(getattr(sender, "max_in_flight", 1) or 1))
    window = 2 * in_flight
    finished: list[tuple[_Claimed, SendResult]] = []
    tried: list[_Claimed] = []
    waiting = list(reversed(rows))

    def record(done: list[tuple[_Claimed, SendResult]]) -> None:
        marks = []
        for row, result in done:
            status, mark = _outcome_of(row, result, now, retry_base_seconds)
            setattr(outcome, status, getattr(outcome, status) + 1)
            if status == "failed":
                outcome.failures.append(FailedEmail(row.id, row.lead_id, row.kind, without_recipient(
                    mark["new_error"], row.message.to_email, row.message.to_name)))
            marks.append(mark)
            tried.append(row)
        _mark(engine, marks, lease_until)

    def may_start() -> bool:
        return clock() + timedelta(seconds=LEASE_MARGIN_SECONDS) < lease_until

    try:
        if in_flight == 1:  # a local backend (outbox folder, tests): one at a time, marked as it goes
            while waiting and may_start():
                row = waiting.pop()
                record([(row, _attempt(sender, row))])
        else:
            with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="send-outbox") as pool:
                running: dict[Future, _Claimed] = {}
                while waiting or running:
                    while waiting and len(running) < in_flight and len(running) + len(finished) < window \
                            and may_start():
                        row = waiting.pop()
                        running[pool.submit(_attempt, sender, row)] = row
                    if not running:
                        break  # the lease is too short to start the rest: they are released below
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    finished.extend((running.pop(future), future.result()) for future in done)
                    if len(finished) >= in_flight or not running or not waiting:
                        record(finished)
                        finished = []
            if finished:
                record(finished)
    except BaseException:
        # A lost database connection (or any error) while sending: what was never handed to the
        # backend goes straight back to the queue instead of waiting for the lease; what was
        # handed over and not marked stays leased (the documented window).
        _release_quietly(engine, [row.id for row in reversed(waiting)], lease_until)
        raise
    _release(engine, [row.id for row in reversed(waiting)], lease_until)
    outcome.lead_ids = sorted({row.lead_id for row in tried if row.lead_id is not None})
    outcome.failures.sort(key=lambda failure: failure.outbox_id)
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
        outcome = drain_outbox(engine, sender, moment, limit, retry_base_seconds, clock=clock)
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
