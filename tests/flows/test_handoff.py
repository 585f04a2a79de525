"""Handing hot leads to sales: routing, business-hours deadlines, one notification, SLA breaches."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.flows.pipeline import pipeline
from leadrelay.flows.sla import sla
from leadrelay.email.backends import build_sendgrid_body
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.models import Handoff, Lead, LeadEvent, OutboxEmail
from tests.factories import buyer
from tests.support.fake_sendgrid import mail_send_errors, mail_send_validator

pytestmark = pytest.mark.usefixtures("prefect_harness")

FRIDAY_4PM_BERLIN = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
MONDAY_11AM_BERLIN = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


def intake(engine, *rows, at=FRIDAY_4PM_BERLIN):
    with Session(engine) as session:
        store_intake(session, [IntakeItem(normalise_lead(row), str(row), "test") for row in rows], at, "test")
        session.commit()


def handoffs(engine):
    with Session(engine) as session:
        return list(session.scalars(select(Handoff).order_by(Handoff.id)))


def history(engine, email):
    with Session(engine) as session:
        lead = session.scalars(select(Lead).where(Lead.email == email)).one()
        return list(session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id)))


def dach_buyer(**overrides):
    return buyer(country="DE", company_size="300", company_domain="acme-buyer.com", **overrides)


def test_a_hot_lead_goes_to_the_rule_s_rep_with_a_business_hours_deadline_and_one_email(services):
    intake(services.engine, dach_buyer(), {"email": "cfo@acme-buyer.com", "first_name": "Colleague", "title": "CFO"})
    pipeline(as_of=FRIDAY_4PM_BERLIN)

    (handoff,) = [h for h in handoffs(services.engine) if h.lead_id == 1]
    assert handoff.rep_email == "anna.schmidt@example.com"  # rule "dach", round robin, ties by email
    assert handoff.due_at == MONDAY_11AM_BERLIN  # 4 business hours from Friday 16:00 Berlin
    assert handoff.route["rule"] == "dach"
    kinds = [e.kind for e in history(services.engine, "carla@acme-buyer.com")]
    assert kinds[-3:] == ["routed", "handoff_created", "notification_queued"]

    to_anna = [m for m in services.sender.sent if m.to_email == "anna.schmidt@example.com"
               and "Carla" in m.subject]
    assert len(to_anna) == 1
    message = to_anna[0]
    assert mail_send_errors(build_sendgrid_body(message), mail_send_validator()) == []
    assert "Asked for a demo" in message.html and "C-level or founder" in message.html  # the breakdown
    assert "Colleague" in message.html  # the buying team
    assert "handoff_created" in message.text or "Handoff created" in message.text or "routed" in message.text.lower()
    assert "11:00" in message.text  # the deadline in the rep's local time


def test_no_answer_reassigns_once_with_history_and_a_new_notification(services):
    intake(services.engine, dach_buyer())
    pipeline(as_of=FRIDAY_4PM_BERLIN)
    sent_before = len(services.sender.sent)

    after_deadline = datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)
    result = sla(as_of=after_deadline)
    assert result["breaches"]["reassigned"] == 1
    first, second = handoffs(services.engine)
    assert (first.status, first.sla_breached) == ("reassigned", True)
    assert (second.status, second.attempt) == ("open", 1)
    assert second.rep_email != first.rep_email
    assert second.due_at > after_deadline
    # The new rep gets the lead; the rep who lost it gets a short "reassigned to X" email.
    new_mail = {m.to_email: m for m in services.sender.sent[sent_before:]}
    assert set(new_mail) == {first.rep_email, second.rep_email}
    assert "Carla" in new_mail[second.rep_email].subject
    told = new_mail[first.rep_email]
    assert told.subject.startswith("Reassigned to Lukas Bauer (lukas.bauer@example.com)")
    assert "because nobody answered by the deadline" in told.text
    kinds = [e.kind for e in history(services.engine, "carla@acme-buyer.com")]
    assert "sla_breached" in kinds and kinds.count("handoff_created") == 2

    # The same run again, or the pipeline at the same moment, changes nothing.
    with Session(services.engine) as session:
        events = session.scalar(select(func.count()).select_from(LeadEvent))
    sla(as_of=after_deadline)
    pipeline(as_of=after_deadline)
    assert len(handoffs(services.engine)) == 2
    assert len(services.sender.sent) == sent_before + 2
    with Session(services.engine) as session:
        assert session.scalar(select(func.count()).select_from(LeadEvent)) == events


def test_rerunning_the_pipeline_hands_off_and_notifies_once(services):
    intake(services.engine, dach_buyer())
    pipeline(as_of=FRIDAY_4PM_BERLIN)
    pipeline(as_of=FRIDAY_4PM_BERLIN)
    assert len(handoffs(services.engine)) == 1
    with Session(services.engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 1
    assert len(services.sender.sent) == 1
