"""The engagement flow: new clicks rescore a nurtured lead, which leaves its track and goes to a rep
whose email shows its nurture history; a second run at the same as_of does nothing more."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadrelay.flows.engagement import engagement
from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.models import Handoff, LeadEvent, OutboxEmail
from tests.factories import T0, add_handoff, add_nurtured_lead, enrollments_of, events_of, lead_by_email, sendgrid_event

pytestmark = pytest.mark.usefixtures("prefect_harness")

AS_OF = T0 + timedelta(days=1)  # Tuesday 10:00 in Berlin: reps are at work
EMAIL = "nina@acme-buyer.com"


def nurtured_lead_with_a_rejected_handoff(engine) -> int:
    """Fit 49 (head of, budget, timeframe, mid-market): short of the MQL threshold of 60."""
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session, EMAIL, country="DE", company_size=300, budget_usd=60000,
                                    timeframe_months=6, needs_scoring=True)
        add_handoff(session, lead, rep_email="anna.schmidt@example.com", status="rejected")
        return lead.id


def clicks(engine, count: int) -> None:
    stamp = int((AS_OF - timedelta(hours=1)).timestamp())
    with unit_of_work(engine) as session:
        apply_events(session, [sendgrid_event(EMAIL, "click", f"ev-{n}", stamp) for n in range(count)], AS_OF)


def test_a_lead_that_clicks_enough_leaves_nurture_and_is_handed_off_with_its_history(services):
    engine = services.engine
    lead_id = nurtured_lead_with_a_rejected_handoff(engine)
    engagement(as_of=AS_OF)  # scored on fit alone: still nurturing
    assert lead_by_email(engine, EMAIL).stage == "nurturing"
    clicks(engine, 4)  # 4 points each, fresh

    result = engagement(as_of=AS_OF)

    assert result["scoring"]["to_mql"] == 1
    assert result["nurture_exits"]["claimed"] == 1 and result["handoff"]["claimed"] == 1
    lead = lead_by_email(engine, EMAIL)
    assert lead.stage == "mql" and lead.score_total >= 60
    (enrollment,) = enrollments_of(engine, lead_id)
    assert (enrollment.status, enrollment.exit_reason, enrollment.exited_at) == ("exited", "became-mql", AS_OF)
    kinds = [e.kind for e in events_of(engine, lead_id) if e.at == AS_OF]
    assert kinds.index("stage_changed") < kinds.index("nurture_exited") < kinds.index("handoff_created")
    assert {e.actor for e in events_of(engine, lead_id) if e.at == AS_OF} == {"flow:engagement"}
    with unit_of_work(engine) as session:
        statuses = session.scalars(select(Handoff.status).where(Handoff.lead_id == lead_id).order_by(Handoff.id)).all()
    assert statuses == ["rejected", "open"]

    (notice,) = [m for m in services.sender.sent if "Nina" in m.subject]
    assert "NURTURE ACTIVITY" in notice.text
    assert "Nurture enrolled" in notice.text and "Nurture step sent" in notice.text
    assert "Nurture exited" in notice.text and "became-mql" in notice.text
    assert "Nurture exited" in notice.html


def test_a_second_run_at_the_same_as_of_does_nothing_more(services):
    engine = services.engine
    lead_id = nurtured_lead_with_a_rejected_handoff(engine)
    clicks(engine, 4)
    engagement(as_of=AS_OF)
    sent = len(services.sender.sent)
    with unit_of_work(engine) as session:
        history = session.scalar(select(func.count()).select_from(LeadEvent))
        outbox = session.scalar(select(func.count()).select_from(OutboxEmail))

    again = engagement(as_of=AS_OF)

    assert again["scoring"] == again["nurture_exits"] == again["handoff"] == {}
    assert len(services.sender.sent) == sent
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(LeadEvent)) == history
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == outbox
    assert lead_by_email(engine, EMAIL).stage == "mql"
    assert len(enrollments_of(engine, lead_id)) == 1
