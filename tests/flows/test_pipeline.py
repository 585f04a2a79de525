"""The pipeline flow under Prefect: intake, scoring, staging, history, and safe re-runs."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.flows.pipeline import pipeline
from leadrelay.intake.normalise import normalise_lead
from leadrelay.intake.store import IntakeItem, store_intake
from leadrelay.models import InboundLead, Lead, LeadEvent, NurtureEnrollment, QuarantineEntry
from tests.factories import T0, buyer, student

pytestmark = pytest.mark.usefixtures("prefect_harness")


def intake(engine, *rows):
    with Session(engine) as session:
        store_intake(session, [IntakeItem(normalise_lead(row), str(row), "test") for row in rows], T0, "test")
        session.commit()


def lead(engine, email):
    with Session(engine) as session:
        return session.scalars(select(Lead).where(Lead.email == email)).one()


def event_count(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(LeadEvent))


def test_buyer_becomes_mql_and_student_goes_to_nurture(services):
    intake(services.engine, buyer(), student())
    result = pipeline(as_of=T0)

    assert result["scoring"] == {"claimed": 2, "to_mql": 1, "to_nurturing": 1}
    carla, sam = lead(services.engine, "carla@acme-buyer.com"), lead(services.engine, "sam@gmail.com")
    assert (carla.stage, carla.tier) == ("mql", "hot")
    assert carla.score_total >= services.rules.scoring.mql_threshold
    assert {"rule": "Asked for a demo", "points": 25} in carla.score_breakdown
    assert sam.stage == "nurturing"
    with Session(services.engine) as session:
        history = session.execute(select(LeadEvent.kind, LeadEvent.to_stage, LeadEvent.flow_run_id)
                                  .where(LeadEvent.lead_id == carla.id).order_by(LeadEvent.id)).all()
        enrollment = session.scalars(select(NurtureEnrollment)).one()
    assert [(kind, stage) for kind, stage, _ in history[:3]] == [("intake", None), ("scored", None), ("stage_changed", "mql")]
    assert history[2][2] is not None  # the flow run that made the change is recorded
    assert (enrollment.lead_id, enrollment.reason) == (sam.id, "unqualified")


def test_running_twice_for_the_same_as_of_changes_nothing(services):
    intake(services.engine, buyer(), student())
    pipeline(as_of=T0)
    events = event_count(services.engine)
    second = pipeline(as_of=T0)
    assert second["scoring"] == {}
    assert event_count(services.engine) == events


def test_a_changed_lead_is_rescored_and_can_become_mql(services):
    intake(services.engine, student(email="later@bigco.com", title="Analyst"))
    pipeline(as_of=T0)
    assert lead(services.engine, "later@bigco.com").stage == "nurturing"
    intake(services.engine, buyer(email="later@bigco.com"))  # a second, richer form fill
    pipeline(as_of=T0)
    assert lead(services.engine, "later@bigco.com").stage == "mql"


def test_form_submissions_in_the_inbound_table_become_leads_or_quarantine(services):
    with Session(services.engine) as session:
        session.add(InboundLead(received_at=T0, source="form:demo", payload=buyer()))
        session.add(InboundLead(received_at=T0, source="form:demo", payload={"email": "nope"}))
        session.commit()
    result = pipeline(as_of=T0)
    assert result["intake"] == {"claimed": 2, "created": 1, "merged": 0, "quarantined": 1}
    assert lead(services.engine, "carla@acme-buyer.com").stage == "mql"
    with Session(services.engine) as session:
        entry = session.scalars(select(QuarantineEntry)).one()
    assert entry.source.startswith("inbound:form:demo") and "not valid" in entry.reason


def test_batches_are_small_and_all_leads_get_scored(services):
    intake(services.engine, *[student(email=f"s{i}@school.edu") for i in range(25)])
    result = pipeline(as_of=T0, batch_size=10)
    assert result["scoring"]["claimed"] == 25
