"""A rejection respected through the flows: after a `bad-timing` rejection one click makes the lead
an MQL again, and the pipeline run ends without handing it back; after the cooldown it goes back
to the rep, whose email states the earlier rejection."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.flows.engagement import engagement
from leadrelay.flows.pipeline import pipeline
from leadrelay.handoff.answers import answer_from_command_line
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.models import Handoff
from tests.factories import buyer, lead_by_email, sendgrid_event

pytestmark = pytest.mark.usefixtures("prefect_harness")

FRIDAY = datetime(2026, 11, 6, 10, 0, tzinfo=timezone.utc)
MONDAY = FRIDAY + timedelta(days=3)
ANNA = "anna.schmidt@example.com"


def test_a_rejected_lead_waits_out_its_cooldown_then_goes_back_with_the_story(services):
    engine = services.engine
    with Session(engine) as session:
        row = buyer(country="DE", company_size="300", company_domain="acme-buyer.com")
        store_intake(session, [IntakeItem(normalise_lead(row), str(row), "test")], FRIDAY, "test")
        session.commit()
    pipeline(as_of=FRIDAY)
    with unit_of_work(engine) as session:
        answer_from_command_line(session, "carla@acme-buyer.com", ANNA, "reject", "bad-timing",
                                 FRIDAY + timedelta(hours=2), note="call after the budget round")

    with unit_of_work(engine) as session:  # Monday: one click on a nurture email
        apply_events(session, [sendgrid_event("carla@acme-buyer.com", "click", "ev-1", int(MONDAY.timestamp()))],
                     MONDAY)
    clicked = engagement(as_of=MONDAY + timedelta(minutes=1))
    again = pipeline(as_of=MONDAY + timedelta(minutes=2))

    assert clicked["scoring"]["to_mql"] == 1 and not clicked["handoff"] and not again["handoff"]
    assert lead_by_email(engine).stage == "mql"
    sent_before = len(services.sender.sent)

    later = pipeline(as_of=FRIDAY + timedelta(days=31))

    assert later["handoff"] == {"claimed": 1, "handed_off": 1}
    with unit_of_work(engine) as session:
        assert [(h.rep_email, h.status) for h in session.scalars(select(Handoff).order_by(Handoff.id))] == [
            (ANNA, "rejected"), (ANNA, "open")]
    [notice] = services.sender.sent[sent_before:]
    top = notice.text.split("Hi Anna")[0]
    assert "REJECTED BEFORE: Anna Schmidt (anna.schmidt@example.com) rejected this lead on Fri 6 Nov 2026" in top
    assert "reason: Bad timing" in top and "call after the budget round" in top and "email click" in top
