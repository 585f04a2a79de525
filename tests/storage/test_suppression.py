"""Suppressing an address: the row, the lead's email status and history, its nurture enrollments."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.nurture.suppression import is_suppressed, suppress
from leadrelay.models import Suppression
from tests.factories import T0, add_handoff, add_nurtured_lead, enrollments_of, events_of, lead_by_email

LATER = T0 + timedelta(days=3)


def test_suppressing_a_nurtured_lead_sets_its_email_status_exits_its_track_and_records_why(engine):
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session)
        outcome = suppress(session, "  Nina@Acme-Buyer.com ", "unsubscribed", "link", LATER, "lead:unsubscribe-link")

    assert (outcome.newly_suppressed, outcome.lead_id, outcome.enrollments_exited) == (True, lead.id, 1)
    stored = lead_by_email(engine, "nina@acme-buyer.com")
    assert stored.stage == "nurturing"  # email status is its own axis: the stage stays
    assert (stored.email_status, stored.email_status_at, stored.email_status_reason) == ("unsubscribed", LATER,
                                                                                        "unsubscribed")
    (enrollment,) = enrollments_of(engine, lead.id)
    assert (enrollment.status, enrollment.exited_at, enrollment.exit_reason) == ("exited", LATER, "unsubscribed")
    events = [e for e in events_of(engine, lead.id) if e.at == LATER]
    assert [e.kind for e in events] == ["suppressed", "nurture_exited"]
    assert events[0].detail == {"reason": "unsubscribed", "source": "link"}
    with unit_of_work(engine) as session:
        row = session.get(Suppression, "nina@acme-buyer.com")
        assert (row.reason, row.source, row.at) == ("unsubscribed", "link", LATER)


def test_suppressing_again_changes_nothing(engine):
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session)
        suppress(session, "nina@acme-buyer.com", "bounce", "sendgrid", LATER, "webhook:sendgrid")
    before = len(events_of(engine, lead.id))

    with unit_of_work(engine) as session:
        again = suppress(session, "NINA@acme-buyer.com", "unsubscribed", "link", LATER + timedelta(days=1), "x")

    assert again.newly_suppressed is False
    assert len(events_of(engine, lead.id)) == before
    with unit_of_work(engine) as session:
        assert session.get(Suppression, "nina@acme-buyer.com").reason == "bounce"  # the first reason stays
    assert lead_by_email(engine, "nina@acme-buyer.com").email_status == "bounced"


def test_an_open_handoff_is_left_to_the_rep_but_named_in_history(engine):
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session, stage="mql")
        handoff = add_handoff(session, lead)
        suppress(session, lead.email, "spamreport", "sendgrid", LATER, "webhook:sendgrid")
        handoff_id = handoff.id

    (suppressed,) = [e for e in events_of(engine, lead.id) if e.kind == "suppressed"]
    assert suppressed.detail["open_handoff"] == handoff_id
    with unit_of_work(engine) as session:
        from leadrelay.models import Handoff

        assert session.get(Handoff, handoff_id).status == "open"


def test_an_address_without_a_lead_is_suppressed_too_and_is_suppressed_answers_in_lower_case(engine):
    with unit_of_work(engine) as session:
        outcome = suppress(session, "Stranger@Example.org", "unsubscribed", "link", LATER, "x")
        assert outcome.newly_suppressed and outcome.lead_id is None
        assert is_suppressed(session, ["STRANGER@example.org", "other@example.org", ""]) == {"stranger@example.org"}
        assert is_suppressed(session, []) == set()
        assert session.scalars(select(Suppression.email)).all() == ["stranger@example.org"]
