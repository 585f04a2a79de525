"""Notifications through the real sendgrid client and a flaky loopback SendGrid: each exactly once."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.flows.pipeline import pipeline
from leadrelay.email.backends import SendGridSender
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.wiring import use_services
from leadrelay.models import OutboxEmail
from tests.factories import buyer
from tests.support.fake_sendgrid import FakeSendGrid

pytestmark = pytest.mark.usefixtures("prefect_harness")

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # a Tuesday, inside working hours


def test_every_notification_is_delivered_exactly_once_despite_500s_and_429s(services):
    leads = [buyer(email=f"buyer{i}@company{i}.com", country=country)
             for i, country in enumerate(["DE", "US", "SG", "FR", "CA"] * 5)]
    with Session(services.engine) as session:
        store_intake(session, [IntakeItem(normalise_lead(row), "", "test") for row in leads], AS_OF, "test")
        session.commit()

    with FakeSendGrid(api_key="SG.test-key", fail_ratio_500=0.3, fail_every_nth_with_429=5, retry_after="0",
                      seed=3) as server:
        settings = services.settings.model_copy(update={"send_retry_base_seconds": 0.05, "send_max_wait_seconds": 60})
        with use_services(replace(services, settings=settings, sender=SendGridSender("SG.test-key", server.url))):
            result = pipeline(as_of=AS_OF)
        statuses = server.status_counts()

    assert result["email"]["sent"] == 25 and result["email"]["still_pending"] == 0
    assert statuses.get(500, 0) > 0 and statuses.get(429, 0) > 0  # the failures really happened
    keys = server.accepted_idempotency_keys()
    assert len(keys) == len(set(keys)) == 25
    with Session(services.engine) as session:
        rows = list(session.scalars(select(OutboxEmail)))
    assert {row.status for row in rows} == {"sent"}
    assert sorted(keys) == sorted(row.idempotency_key for row in rows)
