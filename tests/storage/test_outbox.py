"""The outbox: what a row keeps of a message, the 0004 migration of older rows, and `send_due`."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import defer
from sqlmodel import Session

from leadrelay.db import _alembic_config
from leadrelay.email.kinds import REP_NOTIFICATION, SLA_ESCALATION
from leadrelay.email.message import EmailMessage, SendResult
from leadrelay.email.outbox import as_message, enqueue, send_due
from leadrelay.models import OutboxEmail
from tests.support.recording_sender import RecordingSender

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
MESSAGE = EmailMessage(
    idempotency_key="handoff:7:notify", to_email="rita@seller.example", to_name="Rita", from_email="leads@example.com",
    from_name="leadrelay", subject="Hot lead", html="<p>hi</p>", text="hi", headers={"X-Tag": "a"},
    categories=(REP_NOTIFICATION,), custom_args={"kind": REP_NOTIFICATION, "handoff_id": "7"},
)


def test_a_row_gives_back_the_message_it_was_given(engine):
    with Session(engine) as session:
        assert enqueue(session, MESSAGE, REP_NOTIFICATION, None, AS_OF)
        assert not enqueue(session, MESSAGE, REP_NOTIFICATION, None, AS_OF)  # same key: kept once
        session.commit()
    with Session(engine) as session:
        row = session.scalars(select(OutboxEmail)).one()
        assert (row.from_email, row.from_name, row.custom_args) == ("leads@example.com", "leadrelay",
                                                                     {"kind": REP_NOTIFICATION, "handoff_id": "7"})
        assert row.headers == {"X-Tag": "a"}
        assert as_message(row) == MESSAGE


def test_send_due_waits_for_a_retry_that_falls_due_soon(engine):
    with Session(engine) as session:
        enqueue(session, MESSAGE, REP_NOTIFICATION, None, AS_OF)
        session.commit()
    sender = RecordingSender([SendResult("retry", retry_after=1)])
    passes, slept = [], []
    totals = send_due(engine, sender, AS_OF, 10, retry_base_seconds=30, max_wait_seconds=60,
                      on_pass=passes.append, clock=lambda: AS_OF, sleep=slept.append)
    assert totals == {"sent": 1, "failed": 0, "still_pending": 0}
    assert [(p.sent, p.retrying) for p in passes] == [(0, 1), (1, 0)]
    assert len(sender.attempts) == 2 and slept and slept[0] <= 1


def test_send_due_leaves_a_later_retry_for_the_next_run(engine):
    with Session(engine) as session:
        enqueue(session, MESSAGE, REP_NOTIFICATION, None, AS_OF)
        session.commit()
    sender = RecordingSender([SendResult("retry", retry_after=3600)])
    totals = send_due(engine, sender, AS_OF, 10, retry_base_seconds=30, max_wait_seconds=5,
                      clock=lambda: AS_OF, sleep=pytest.fail)
    assert totals == {"sent": 0, "failed": 0, "still_pending": 1}


def test_migration_0004_moves_sender_and_custom_args_out_of_the_headers_and_back(empty_engine):
    config = _alembic_config(empty_engine)
    command.upgrade(config, "0003")
    old_headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "_from_email": "leads@example.com",
                   "_from_name": "leadrelay", "_custom_args": {"kind": SLA_ESCALATION}}
    with empty_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox_email (idempotency_key, kind, to_email, to_name, subject, html, text, headers, "
            "categories, status, attempts, created_at, next_attempt_at) VALUES ('handoff:1:escalate', 'escalation', "
            "'boss@example.com', 'Bea', 'SLA missed', '<p>x</p>', 'x', :headers, '[]', 'pending', 0, :at, :at)"),
            {"headers": json.dumps(old_headers), "at": AS_OF.replace(tzinfo=None)})

    command.upgrade(config, "0004")
    with Session(empty_engine) as session:
        # deferred: lease_until only exists from 0005 on, render_context from 0006
        row = session.scalars(select(OutboxEmail).options(defer(OutboxEmail.lease_until),
                                                          defer(OutboxEmail.render_context))).one()
        assert (row.from_email, row.from_name, row.custom_args) == ("leads@example.com", "leadrelay",
                                                                     {"kind": SLA_ESCALATION})
        assert row.headers == {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        assert row.kind == SLA_ESCALATION
    assert "applied" not in {c["name"] for c in inspect(empty_engine).get_columns("engagement_event")}

    command.downgrade(config, "0003")
    with empty_engine.connect() as connection:
        kind, headers = connection.execute(text("SELECT kind, headers FROM outbox_email")).one()
    assert kind == "escalation"
    assert (json.loads(headers) if isinstance(headers, str) else headers) == old_headers
