"""The send flow apart from the pipeline: `pipeline(send=False)` only queues the rep notifications,
and the `send` flow delivers them through the real sendgrid client, each exactly once."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.email.backends import SendGridSender
from leadrelay.flows.pipeline import pipeline
from leadrelay.flows.registry import FLOWS
from leadrelay.flows.send import send
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.models import OutboxEmail
from leadrelay.wiring import use_services
from tests.factories import buyer
from tests.support.fake_sendgrid import FakeSendGrid

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
