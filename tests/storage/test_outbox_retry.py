"""Rate limits spend no attempt; `leadrelay outbox retry` queues failed emails again (never a
marketing email to an address suppressed since); the funnel counts the outbox by status; a drain
that loses its database releases what it never sent."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.email.kinds import NURTURE, REP_NOTIFICATION
from leadrelay.email.message import EmailMessage, SendResult
from leadrelay.email.outbox import drain_outbox, enqueue
from leadrelay.email.outbox_retry import retry_failed
from leadrelay.email.retry import MAX_ATTEMPTS
from leadrelay.models import OutboxEmail, Suppression
from leadrelay.reporting.funnel import funnel_report
from tests.support.recording_sender import RecordingSender

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
MESSAGE = EmailMessage(idempotency_key="nurture:1:1", to_email="nina@buyer.example", to_name="Nina",
                       from_email="m@example.com", from_name="M", subject="Hi", html="<p>hi</p>", text="hi")
RATE_LIMITED = SendResult("retry", retry_after=7, error="SendGrid 429: rate limited", rate_limited=True)


def add(engine, *messages: tuple[EmailMessage, str]) -> None:
    with Session(engine) as session:
        for message, kind in messages:
            enqueue(session, message, kind, None, AS_OF)
        session.commit()


def rows(engine) -> dict[str, OutboxEmail]:
    with Session(engine) as session:
        return {row.idempotency_key: row for row in session.scalars(select(OutboxEmail))}


def test_a_429_goes_back_to_the_queue_after_retry_after_without_spending_an_attempt(engine):
    add(engine, (MESSAGE, NURTURE))
    sender = RecordingSender([RATE_LIMITED] * (MAX_ATTEMPTS + 2))
    moment = AS_OF
    for _ in range(MAX_ATTEMPTS + 2):  # more 429s in a row than a message has attempts
        outcome = drain_outbox(engine, sender, moment, 10, clock=lambda: AS_OF)
        assert (outcome.retrying, outcome.failed) == (1, 0)
        row = rows(engine)["nurture:1:1"]
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.next_attempt_at == moment + timedelta(seconds=7)  # Retry-After, not backoff
        moment = row.next_attempt_at

    assert drain_outbox(engine, sender, moment, 10, clock=lambda: AS_OF).sent == 1
    row = rows(engine)["nurture:1:1"]
    assert (row.status, row.attempts) == ("sent", 1)


def test_real_failures_still_spend_attempts_and_end_failed(engine):
    add(engine, (MESSAGE, NURTURE))
    sender = RecordingSender([SendResult("retry", error="SendGrid 500: boom")] * MAX_ATTEMPTS)
    moment = AS_OF
    for _ in range(MAX_ATTEMPTS):
        drain_outbox(engine, sender, moment, 10, retry_base_seconds=1, clock=lambda: AS_OF)
        moment = rows(engine)["nurture:1:1"].next_attempt_at
    row = rows(engine)["nurture:1:1"]
    assert (row.status, row.attempts, row.last_error) == ("failed", MAX_ATTEMPTS, "SendGrid 500: boom")


def fail_all(engine, at: datetime) -> None:
    """Every pending row gets a permanent failure, marked at `at`."""
    drain_outbox(engine, RecordingSender([SendResult("failed", error="SendGrid 400: bad")] * 10), at, 10,
                 clock=lambda: AS_OF)


def test_retry_queues_failed_rows_again_and_since_picks_when_they_failed(engine):
    early, late = replace(MESSAGE, idempotency_key="nurture:1:1"), replace(MESSAGE, idempotency_key="handoff:2",
                                                                               to_email="rita@seller.example")
    add(engine, (early, NURTURE))
    fail_all(engine, AS_OF)
    add(engine, (late, REP_NOTIFICATION))
    fail_all(engine, AS_OF + timedelta(hours=2))
    assert {row.status for row in rows(engine).values()} == {"failed"}

    later = retry_failed(engine, AS_OF + timedelta(hours=3), since=AS_OF + timedelta(hours=1))
    assert (later.queued, later.kept_suppressed) == (1, 0)
    assert {k: r.status for k, r in rows(engine).items()} == {"nurture:1:1": "failed", "handoff:2": "pending"}
    again = rows(engine)["handoff:2"]
    assert (again.attempts, again.next_attempt_at) == (0, AS_OF + timedelta(hours=3))

    everything = retry_failed(engine, AS_OF + timedelta(hours=3))
    assert everything.queued == 1
    assert retry_failed(engine, AS_OF + timedelta(hours=3)).queued == 0  # nothing failed is left
    sender = RecordingSender()
    assert drain_outbox(engine, sender, AS_OF + timedelta(hours=3), 10, clock=lambda: AS_OF).sent == 2
    assert sorted(m.idempotency_key for m in sender.sent) == ["handoff:2", "nurture:1:1"]


def test_retry_leaves_a_marketing_email_to_an_address_suppressed_since(engine):
    rep = replace(MESSAGE, idempotency_key="handoff:2")  # same address, but a rep's email goes anyway
    add(engine, (MESSAGE, NURTURE), (rep, REP_NOTIFICATION))
    fail_all(engine, AS_OF)
    with Session(engine) as session:
        session.add(Suppression(email="nina@buyer.example", reason="unsubscribe", source="link", at=AS_OF))
        session.commit()

    outcome = retry_failed(engine, AS_OF)

    assert (outcome.queued, outcome.kept_suppressed) == (1, 1)
    assert {k: r.status for k, r in rows(engine).items()} == {"nurture:1:1": "failed", "handoff:2": "pending"}


def test_the_funnel_counts_the_outbox_by_status(engine):
    add(engine, (MESSAGE, NURTURE), (replace(MESSAGE, idempotency_key="b"), NURTURE),
        (replace(MESSAGE, idempotency_key="c"), NURTURE))
    drain_outbox(engine, RecordingSender([SendResult("failed", error="no"), SendResult("sent")]), AS_OF, 2,
                 clock=lambda: AS_OF)
    with Session(engine) as session:
        report = funnel_report(session)
        empty = funnel_report(session, since=AS_OF + timedelta(days=1))
    assert report["email"] == {"queued": 1, "sending": 0, "sent": 1, "failed": 1}
    assert empty["email"] == {"queued": 0, "sending": 0, "sent": 0, "failed": 0}
    assert {"stages", "conversion", "sla", "by_source", "current"} <= set(report)


def test_a_drain_that_loses_its_database_gives_back_what_it_never_handed_over(engine, monkeypatch):
    from leadrelay.email import outbox

    add(engine, *[(replace(MESSAGE, idempotency_key=f"k{i}"), NURTURE) for i in range(5)])
    real_mark = outbox._mark

    def mark_then_lose_the_connection(*args):
        real_mark(*args)
        raise ConnectionError("the connection is lost")

    monkeypatch.setattr(outbox, "_mark", mark_then_lose_the_connection)
    sender = RecordingSender()
    try:
        drain_outbox(engine, sender, AS_OF, 10, clock=lambda: AS_OF)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the lost connection was not raised")

    statuses = {key: row.status for key, row in rows(engine).items()}
    assert [m.idempotency_key for m in sender.attempts] == ["k0"]  # one at a time: the first, then the error
    assert statuses == {"k0": "sent", "k1": "pending", "k2": "pending", "k3": "pending", "k4": "pending"}


def test_the_report_flows_markdown_shows_failed_emails(engine):
    from leadrelay.reporting.funnel import funnel_markdown

    add(engine, (MESSAGE, NURTURE))
    fail_all(engine, AS_OF)
    with Session(engine) as session:
        markdown = funnel_markdown(funnel_report(session), AS_OF)
    assert "Email: 0 queued, 0 sending, 0 sent, 1 failed (`leadrelay outbox retry` sends them again)" in markdown
