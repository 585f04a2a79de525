"""Sending apart from scoring: the pipeline sends beside its next pass, so a slow SendGrid holds
nothing back; `pipeline(send=False)` only queues the rep notifications, and the `send` flow
delivers them through the real sendgrid client, each exactly once."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.clock import now
from leadrelay.email.backends import SendGridSender
from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage
from leadrelay.email.outbox import enqueue
from leadrelay.flows import pipeline as pipeline_module
from leadrelay.flows.pipeline import pipeline
from leadrelay.flows.registry import FLOWS
from leadrelay.flows.send import send
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.models import InboundLead, Lead, OutboxEmail
from leadrelay.wiring import use_services
from tests.factories import buyer, student
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.recording_sender import RecordingSender

pytestmark = pytest.mark.usefixtures("prefect_harness", "no_proxy_for_loopback")

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # a Tuesday, inside working hours


def statuses(engine) -> list[str]:
    with Session(engine) as session:
        return [row.status for row in session.scalars(select(OutboxEmail))]


def test_pipeline_without_send_queues_and_the_send_flow_delivers_each_once(services):
    leads = [buyer(email=f"buyer{i}@company{i}.com", country=country)
             for i, country in enumerate(["DE", "US", "SG", "FR", "CA"])]
    with Session(services.engine) as session:
        store_intake(session, [IntakeItem(normalise_lead(row), "", "test") for row in leads], AS_OF, "test")
        session.commit()

    with FakeSendGrid(api_key="SG.test-key", fail_every_nth_with_429=3, retry_after="0", keep_alive=True) as server:
        settings = services.settings.model_copy(update={"send_retry_base_seconds": 0.05, "send_max_wait_seconds": 60})
        sender = SendGridSender("SG.test-key", server.url)
        with use_services(replace(services, settings=settings, sender=sender)):
            piped = pipeline(as_of=AS_OF, send=False)
            assert "email" not in piped and piped["handoff"]["handed_off"] == 5
            assert statuses(services.engine) == ["pending"] * 5 and server.requests == []
            sent = send(as_of=AS_OF)
        sender.close()

    assert sent == {"email": {"sent": 5, "failed": 0, "still_pending": 0}}
    assert server.status_counts().get(429, 0) > 0  # retried within the run
    keys = server.accepted_idempotency_keys()
    assert len(keys) == len(set(keys)) == 5
    assert statuses(services.engine) == ["sent"] * 5


def test_leadrelay_run_and_serve_know_the_send_flow():
    assert FLOWS["send"] is send and send.name == "send"


class SlowSendGrid(RecordingSender):
    """A SendGrid that holds every send until a form lead that arrives meanwhile has been scored
    (or 60 s pass): with sending inline, the pipeline could never score it first."""

    def __init__(self, engine):
        super().__init__()
        self.engine, self.sending = engine, threading.Event()
        self.scored_while_sending = False

    def send(self, message):
        with Session(self.engine) as session:  # a form post lands while the email is on its way
            session.add(InboundLead(received_at=now(), source="form:demo", payload=student(email="late@school.edu")))
            session.commit()
        self.sending.set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.scored_while_sending:
            with Session(self.engine) as session:
                self.scored_while_sending = session.scalar(
                    select(Lead.scored_at).where(Lead.email == "late@school.edu")) is not None
            time.sleep(0.1)
        return super().send(message)


def test_a_slow_sendgrid_does_not_hold_back_scoring_of_what_arrives_meanwhile(services, monkeypatch):
    if services.engine.dialect.name == "sqlite":  # as leadrelay's own engine has it: readers beside a writer
        with services.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    with Session(services.engine) as session:  # one email due, so the first pass has something to send
        enqueue(session, EmailMessage("nurture:1", "a@example.org", "A", "m@example.com", "M", "Hi", "<p>hi</p>", "hi"),
                NURTURE, None, AS_OF)
        session.commit()
    sender = SlowSendGrid(services.engine)
    real_check = pipeline_module.more_inbound_waiting

    def check_once_sending_started(_as_of):
        sender.sending.wait(30)  # the first pass's email is with SendGrid before the run looks again
        return real_check(now())

    monkeypatch.setattr(pipeline_module, "more_inbound_waiting", check_once_sending_started)
    with use_services(replace(services, sender=sender)):
        result = pipeline()

    assert sender.scored_while_sending
    assert result["scoring"]["claimed"] == 1 and result["email"]["sent"] == 1
    assert [m.idempotency_key for m in sender.sent] == ["nurture:1"]
