"""The nurture flow end to end: tracks, send windows, guard rails, the cap, exactly-once steps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.flows.nurture import nurture
from leadrelay.email.backends import build_sendgrid_body
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.nurture.suppression import suppress
from leadrelay.models import Handoff, LeadEvent, NurtureEnrollment, OutboxEmail, Suppression
from tests.factories import add_lead
from tests.support.fake_sendgrid import mail_send_errors, mail_send_validator

pytestmark = pytest.mark.usefixtures("prefect_harness")

FRIDAY_EVENING_BERLIN = datetime(2026, 11, 27, 18, 30, tzinfo=timezone.utc)  # 19:30 local
MONDAY_9AM_BERLIN = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def enrol(engine, email, reason="rejected:bad-timing", at=FRIDAY_EVENING_BERLIN, consent=True, **fields):
    """A nurturing lead in Germany with an active enrollment due at `at`; returns the lead id."""
    with Session(engine) as session:
        lead = add_lead(session, email, at=at, first_name="Carla", title="Head of Operations", company="Acme",
                        country="DE", consent=consent, stage=fields.pop("stage", "nurturing"), **fields)
        session.add(NurtureEnrollment(lead_id=lead.id, reason=reason, entered_at=at, next_due_at=at))
        session.commit()
        return lead.id


def events(engine, lead_id, prefix="nurture_"):
    with Session(engine) as session:
        rows = session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id))
        return [(e.kind, e.detail) for e in rows if e.kind.startswith(prefix)]


def sent_to(services, email):
    return [m for m in services.sender.sent if m.to_email == email]


def test_rejected_for_bad_timing_on_friday_evening_gets_step_1_monday_9am_and_step_2_a_week_later(services):
    lead_id = enrol(services.engine, "carla@acme.example")
    nurture(as_of=FRIDAY_EVENING_BERLIN)
    assert services.sender.sent == []
    (enrolled, deferred) = events(services.engine, lead_id)
    assert enrolled == ("nurture_enrolled", {"enrollment": 1, "track": "timing", "reason": "rejected:bad-timing"})
    assert deferred[0] == "nurture_deferred" and deferred[1]["reason"] == "outside-send-window"
    assert deferred[1]["until"] == MONDAY_9AM_BERLIN.isoformat() and deferred[1]["timezone"] == "Europe/Berlin"

    nurture(as_of=MONDAY_9AM_BERLIN)
    (message,) = sent_to(services, "carla@acme.example")
    assert message.custom_args == {"kind": "nurture", "track": "timing", "step": "1"}
    assert "planning guide" in message.subject
    assert mail_send_errors(build_sendgrid_body(message), mail_send_validator()) == []
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert events(services.engine, lead_id)[-1] == ("nurture_sent", {
        "enrollment": 1, "track": "timing", "step": 1, "template": "nurture_timing_guide"})

    nurture(as_of=MONDAY_9AM_BERLIN)  # the same run again: nothing twice
    nurture(as_of=MONDAY_9AM_BERLIN + timedelta(days=6))
    assert len(sent_to(services, "carla@acme.example")) == 1
    nurture(as_of=MONDAY_9AM_BERLIN + timedelta(days=7))
    second = sent_to(services, "carla@acme.example")[1]
    assert second.custom_args["step"] == "2" and "Northwind" in second.subject
    with Session(services.engine) as session:
        keys = list(session.scalars(select(OutboxEmail.idempotency_key).order_by(OutboxEmail.id)))
    assert keys == ["nurture:1:0", "nurture:1:1"]


@pytest.mark.parametrize("case", ["no-consent", "suppressed-address", "email-status", "back-with-sales"])
def test_leads_that_must_not_get_marketing_email_leave_the_track_and_get_nothing(services, case):
    email = "kim@acme.example"
    if case == "no-consent":
        lead_id = enrol(services.engine, email, at=MONDAY_9AM_BERLIN, consent=None)
    elif case == "email-status":
        lead_id = enrol(services.engine, email, at=MONDAY_9AM_BERLIN, email_status="bounced")
    elif case == "back-with-sales":
        lead_id = enrol(services.engine, email, at=MONDAY_9AM_BERLIN, stage="sal")
    else:
        lead_id = enrol(services.engine, email, at=MONDAY_9AM_BERLIN)
        with Session(services.engine) as session:
            session.add(Suppression(email=email, reason="unsubscribed", source="link", at=MONDAY_9AM_BERLIN))
            session.commit()
    nurture(as_of=MONDAY_9AM_BERLIN)
    assert services.sender.attempts == []
    kind, detail = events(services.engine, lead_id)[-1]
    expected = {"no-consent": "no-consent", "back-with-sales": "back-with-sales"}.get(case, "suppressed")
    assert (kind, detail["reason"]) == ("nurture_exited", expected)
    with Session(services.engine) as session:
        (enrollment,) = session.scalars(select(NurtureEnrollment))
        assert (enrollment.status, enrollment.exit_reason) == ("exited", expected)
        assert session.scalars(select(OutboxEmail)).all() == []


def test_no_nurture_email_while_a_rep_holds_an_open_handoff(services):
    lead_id = enrol(services.engine, "ola@acme.example", at=MONDAY_9AM_BERLIN)
    with Session(services.engine) as session:
        session.add(Handoff(lead_id=lead_id, rep_email="anna.schmidt@example.com", status="open",
                            created_at=MONDAY_9AM_BERLIN, due_at=MONDAY_9AM_BERLIN + timedelta(hours=4)))
        session.commit()
    nurture(as_of=MONDAY_9AM_BERLIN)
    assert services.sender.attempts == []
    kind, detail = events(services.engine, lead_id)[-1]
    assert (kind, detail["reason"]) == ("nurture_deferred", "open-handoff")
    with Session(services.engine) as session:
        session.scalars(select(Handoff)).one().status = "rejected"
        session.commit()
    nurture(as_of=MONDAY_9AM_BERLIN + timedelta(days=1))
    assert len(sent_to(services, "ola@acme.example")) == 1


def test_the_frequency_cap_holds_across_two_tracks(services):
    # Two active enrollments (an SLA recycle beside an older one) on two tracks.
    wednesday, thursday = MONDAY_9AM_BERLIN + timedelta(days=2), MONDAY_9AM_BERLIN + timedelta(days=3)
    lead_id = enrol(services.engine, "max@acme.example", reason="unqualified", at=wednesday)
    with Session(services.engine) as session:
        session.add(NurtureEnrollment(lead_id=lead_id, reason="rejected:no-need", entered_at=thursday,
                                      next_due_at=thursday))
        session.commit()
    for day in range(11):
        nurture(as_of=MONDAY_9AM_BERLIN + timedelta(days=day))
    sends = [(m.custom_args["track"], m.custom_args["step"]) for m in sent_to(services, "max@acme.example")]
    # executive 1 (Wed), education 1 (Thu); executive 2, due Monday after 5 days, waits until the
    # Wednesday send is 7 days old; education 2 is due Thursday and goes.
    assert sends == [("executive", "1"), ("education", "1"), ("executive", "2"), ("education", "2")]
    with Session(services.engine) as session:
        times = sorted(session.scalars(select(OutboxEmail.created_at).where(OutboxEmail.lead_id == lead_id)))
    assert times[2] == wednesday + timedelta(days=7)
    for index, at in enumerate(times):  # never more than 2 in any 7 days
        assert sum(1 for other in times[index:] if other - at < timedelta(days=7)) <= 2
    deferred = [d for k, d in events(services.engine, lead_id) if k == "nurture_deferred"]
    assert [d["reason"] for d in deferred] == ["frequency-cap"]


@pytest.mark.parametrize("how", ["sendgrid-event", "link"])
def test_nothing_goes_out_after_the_lead_unsubscribes(services, how):
    enrol(services.engine, "carla@acme.example")
    nurture(as_of=MONDAY_9AM_BERLIN)
    assert len(sent_to(services, "carla@acme.example")) == 1

    later = MONDAY_9AM_BERLIN + timedelta(days=1)
    with Session(services.engine) as session:
        if how == "sendgrid-event":
            apply_events(session, [{"email": "Carla@acme.example", "event": "unsubscribe", "sg_event_id": "ev-1",
                                    "timestamp": int(later.timestamp())}], later)
        else:
            suppress(session, "carla@acme.example", "unsubscribed", "link", later, "web:unsubscribe")
        session.commit()

    for days in (7, 14, 30):
        nurture(as_of=MONDAY_9AM_BERLIN + timedelta(days=days))
    assert len(sent_to(services, "carla@acme.example")) == 1
    with Session(services.engine) as session:
        enrollment = session.scalars(select(NurtureEnrollment)).one()
    assert enrollment.status == "exited"
