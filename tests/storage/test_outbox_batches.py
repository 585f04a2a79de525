"""Batched sending: a claimed batch is leased (`sending`), sent with requests in flight at once,
and marked per outcome; a dead drainer's rows come back when the lease runs out."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.email.backends import SendGridSender
from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage
from leadrelay.email.outbox import SENDING, Queued, claim_due, drain_outbox, enqueue, enqueue_many, send_due
from leadrelay.email.rendering import HandoffNotice, Sender, rep_notification_later
from leadrelay.models import OutboxEmail
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.recording_sender import RecordingSender

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
KEY = "SG.fake-key.for-tests"


pytestmark = pytest.mark.usefixtures("no_proxy_for_loopback")


def message(key: str, **changes) -> EmailMessage:
    fields = dict(idempotency_key=key, to_email=f"{key.replace(':', '.')}@example.org", to_name="Lea",
                  from_email="marketing@example.com", from_name="Example", subject="Hello", html="<p>hi</p>",
                  text="hi", categories=(NURTURE,), custom_args={"kind": NURTURE})
    return EmailMessage(**{**fields, **changes})


def queue(engine, messages) -> None:
    with Session(engine) as session:
        for m in messages:
            enqueue(session, m, NURTURE, None, AS_OF)
        session.commit()


def rows_by_key(engine) -> dict[str, OutboxEmail]:
    with Session(engine) as session:
        return {row.idempotency_key: row for row in session.scalars(select(OutboxEmail))}


class ParallelRecordingSender(RecordingSender):
    """RecordingSender that lets the drainer run several sends at once, each taking a moment."""

    def __init__(self, max_in_flight: int = 4, delay: float = 0.002):
        super().__init__()
        self.max_in_flight, self.delay = max_in_flight, delay

    def send(self, message):
        time.sleep(self.delay)
        return super().send(message)


def test_a_lease_that_ran_out_brings_the_rows_back(engine):
    queue(engine, [message(f"nurture:{i}:0") for i in range(3)])
    # a drainer claims the batch and dies before sending anything
    claimed = claim_due(engine, AS_OF, 10, lease_until=AS_OF + timedelta(minutes=5), lease_now=AS_OF)
    assert len(claimed) == 3
    assert {row.status for row in rows_by_key(engine).values()} == {SENDING}

    sender = RecordingSender()
    early = drain_outbox(engine, sender, AS_OF, 10, clock=lambda: AS_OF + timedelta(minutes=4))
    assert early.claimed == 0 and sender.attempts == []  # still leased: nobody else sends them

    later = drain_outbox(engine, sender, AS_OF, 10, clock=lambda: AS_OF + timedelta(minutes=5, seconds=1))
    assert later.sent == 3
    assert sorted(m.idempotency_key for m in sender.sent) == [f"nurture:{i}:0" for i in range(3)]
    rows = rows_by_key(engine).values()
    assert {(row.status, row.attempts, row.lease_until) for row in rows} == {("sent", 1, None)}


def test_rows_the_lease_is_too_short_for_are_released_not_sent(engine):
    queue(engine, [message(f"nurture:{i}:0") for i in range(3)])
    sender = RecordingSender()
    outcome = drain_outbox(engine, sender, AS_OF, 10, clock=lambda: AS_OF, lease_seconds=30)  # < the 60 s margin
    assert outcome.claimed == 0 and sender.attempts == []
    assert {(row.status, row.lease_until) for row in rows_by_key(engine).values()} == {("pending", None)}


def test_two_concurrent_drainers_on_postgresql_never_send_the_same_row(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent claims are a PostgreSQL matter; SQLite has one writer")
    count = 300
    queue(engine, [message(f"nurture:{i}:0") for i in range(count)])
    sender = ParallelRecordingSender(max_in_flight=4, delay=0.003)
    totals, errors = [], []
    start = threading.Barrier(2)

    def drainer():
        try:
            start.wait()
            totals.append(send_due(engine, sender, AS_OF, 20, retry_base_seconds=30, max_wait_seconds=0,
                                   clock=lambda: AS_OF))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    keys = [m.idempotency_key for m in sender.attempts]
    assert len(keys) == len(set(keys)) == count
    assert sum(t["sent"] for t in totals) == count
    assert all(t["sent"] > 0 for t in totals)  # both really drained
    assert {(row.status, row.attempts) for row in rows_by_key(engine).values()} == {("sent", 1)}


def test_at_most_twice_the_requests_in_flight_are_ever_sent_and_unmarked(engine):
    queue(engine, [message(f"nurture:{i}:0") for i in range(120)])
    unmarked_at_send = []

    class Watching(ParallelRecordingSender):
        def send(self, msg):
            with Session(engine) as session:
                marked = session.scalar(select(func.count()).select_from(OutboxEmail)
                                        .where(OutboxEmail.status == "sent"))
            with self._lock:
                unmarked_at_send.append(len(self.attempts) + 1 - marked)
            return super().send(msg)

    sender = Watching(max_in_flight=4)
    outcome = drain_outbox(engine, sender, AS_OF, 500, clock=lambda: AS_OF)
    assert outcome.sent == 120
    assert max(unmarked_at_send) <= 2 * sender.max_in_flight


class ScriptedSendGrid(FakeSendGrid):
    """The loopback SendGrid, answering 429 or 500 for keys that end so; the rest as usual."""

    def _answer(self, record):
        try:
            key = json.loads(record.body)["personalizations"][0]["custom_args"]["idempotency_key"]
        except (ValueError, KeyError, IndexError, TypeError):
            key = ""
        if key.endswith(":429"):
            return 429, {"Retry-After": "7"}, {"errors": [{"message": "too many requests"}]}
        if key.endswith(":500"):
            return 500, {}, {"errors": [{"message": "internal server error"}]}
        return super()._answer(record)


def test_a_batch_with_mixed_answers_marks_each_row_right(engine):
    accepted = [message(f"nurture:{i}:0") for i in range(5)]
    queue(engine, accepted + [message("nurture:x:429"), message("nurture:y:500"),
                              message("nurture:z:400", subject="")])
    with ScriptedSendGrid(KEY) as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5, max_in_flight=8)
        outcome = drain_outbox(engine, sender, AS_OF, 100, retry_base_seconds=30, clock=lambda: AS_OF)
        sender.close()
        statuses = server.status_counts()
    assert statuses == {202: 5, 429: 1, 500: 1, 400: 1}
    assert (outcome.sent, outcome.retrying, outcome.failed) == (5, 2, 1)
    rows = rows_by_key(engine)
    assert {key for key, row in rows.items() if row.status == SENDING} == set()
    for m in accepted:
        row = rows[m.idempotency_key]
        assert (row.status, row.attempts, row.sent_at, row.last_error, row.lease_until) == ("sent", 1, AS_OF, None, None)
        assert row.provider_id and len(row.provider_id) == 22
    limited = rows["nurture:x:429"]
    # a 429 is the server asking to wait, not a failed attempt
    assert (limited.status, limited.attempts, limited.next_attempt_at) == ("pending", 0, AS_OF + timedelta(seconds=7))
    assert limited.last_error == "SendGrid 429: rate limited"
    broken = rows["nurture:y:500"]
    assert (broken.status, broken.attempts, broken.next_attempt_at) == ("pending", 1, AS_OF + timedelta(seconds=30))
    assert broken.last_error.startswith("SendGrid 500:")
    refused = rows["nurture:z:400"]
    assert (refused.status, refused.attempts, refused.sent_at) == ("failed", 1, None)
    assert refused.last_error.startswith("SendGrid 400:") and "field: subject" in refused.last_error
    assert KEY not in refused.last_error and refused.to_email not in refused.last_error
    [failure] = outcome.failures
    assert (failure.outbox_id, failure.kind) == (refused.id, NURTURE)
    assert sorted(server.accepted_idempotency_keys()) == sorted(m.idempotency_key for m in accepted)


def test_migration_0005_adds_the_lease_and_downgrading_puts_sending_rows_back(empty_engine):
    from alembic import command
    from sqlalchemy import inspect, text

    from leadrelay.db import _alembic_config

    config = _alembic_config(empty_engine)
    command.upgrade(config, "0005")
    assert "lease_until" in {c["name"] for c in inspect(empty_engine).get_columns("outbox_email")}
    with empty_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox_email (idempotency_key, kind, to_email, to_name, from_email, from_name, subject, html, "
            "text, headers, categories, custom_args, status, attempts, created_at, next_attempt_at, lease_until) "
            "VALUES ('nurture:1:0', 'nurture', 'a@example.org', '', 'm@example.com', '', 'Hi', '<p>x</p>', 'x', "
            "'{}', '[]', '{}', 'sending', 0, :at, :at, :at)"), {"at": AS_OF.replace(tzinfo=None)})
    command.downgrade(config, "0004")
    assert "lease_until" not in {c["name"] for c in inspect(empty_engine).get_columns("outbox_email")}
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM outbox_email")).scalar_one() == "pending"


def test_a_message_stored_for_rendering_is_rendered_when_sent_and_a_broken_one_fails_for_good(engine):
    notice = HandoffNotice(7, "rep@example.com", "Rita Rep", "Europe/Berlin", AS_OF + timedelta(hours=4),
                           "https://x.example/a", "https://x.example/r", 0, "territory", "handoff:7:notify")
    profile = {"email": "lea@example.org", "first_name": "Lea", "score": {"total": 80, "tier": "hot", "breakdown": []},
               "history": [], "attributes": {}}
    later, context = rep_notification_later(profile, notice, Sender("m@example.com", "Example", "1 Street"))
    with Session(engine) as session:
        added = enqueue_many(session, [Queued(later, "rep_notification", None, context),
                                       Queued(message("broken"), NURTURE, None, {"template": "gone"}),
                                       Queued(message("broken"), NURTURE, None)], AS_OF)
        session.commit()
    assert added == {"handoff:7:notify", "broken"}  # the second "broken" was a duplicate key

    sender = RecordingSender()
    outcome = drain_outbox(engine, sender, AS_OF, 10)

    assert (outcome.sent, outcome.failed) == (1, 1)
    [sent] = sender.sent
    assert "Lea" in sent.subject and "Accept" in sent.html and sent.to_email == "rep@example.com"
    assert rows_by_key(engine)["broken"].last_error == "could not render the message: ValueError"
