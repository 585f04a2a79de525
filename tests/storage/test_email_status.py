"""Email status is its own axis: an MQL who unsubscribes, bounces or complains keeps its sales
stage, a rep can still accept it, and it gets no nurture email, whatever its stage becomes."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.handoff.answers import answer_handoff
from leadrelay.models import OutboxEmail, Suppression
from leadrelay.nurture.nurture_store import NurtureContext, nurture_next_batch
from leadrelay.nurture.unsubscribe import unsubscribe, unsubscribe_url
from tests.factories import (BASE_URL, REP, REPO, SECRET, T0, add_handoff, add_scored_lead, enrollments_of,
                             events_of, lead_by_email, sendgrid_event)

EMAIL = "carla@acme-buyer.com"
STOPPED = T0 + timedelta(hours=1)
ANSWERED = T0 + timedelta(hours=2)
# (how the lead stopped marketing email, the email status it then has)
STOPS = [("unsubscribe-link", "unsubscribed"), ("sendgrid-unsubscribe", "unsubscribed"),
         ("sendgrid-bounce", "bounced"), ("sendgrid-dropped", "bounced"), ("sendgrid-spamreport", "complained")]


def mql_with_open_handoff(engine) -> tuple[int, int]:
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, EMAIL, country="DE", consent=True)
        return lead.id, add_handoff(session, lead).id


def stop_marketing_email(engine, how: str) -> None:
    with unit_of_work(engine) as session:
        if how == "unsubscribe-link":  # the page's button and RFC 8058 one-click both call this
            token = unquote(unsubscribe_url(EMAIL, SECRET, BASE_URL, T0).rsplit("/", 1)[1])
            unsubscribe(session, token, SECRET, STOPPED)
        else:
            event = how.removeprefix("sendgrid-")
            apply_events(session, [sendgrid_event(EMAIL.upper(), event, "ev-1", int(STOPPED.timestamp()))], STOPPED)


def run_nurture(engine, as_of) -> dict:
    ctx = NurtureContext(sequences=load_rules(REPO / "config").sequences, secret=SECRET, base_url=BASE_URL,
                         sender=Sender("marketing@example.com", "leadrelay", "1 Main St"), actor="flow:nurture")
    with unit_of_work(engine) as session:
        return dict(nurture_next_batch(session, ctx, as_of, limit=10).counts)


def nurture_emails(engine) -> list[OutboxEmail]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "nurture")))


@pytest.mark.parametrize("how, status", STOPS, ids=[how for how, _ in STOPS])
def test_an_mql_that_stops_marketing_email_keeps_its_stage_and_can_be_accepted(engine, how, status):
    lead_id, handoff_id = mql_with_open_handoff(engine)
    stop_marketing_email(engine, how)

    lead = lead_by_email(engine, EMAIL)
    assert (lead.stage, lead.email_status, lead.email_status_at) == ("mql", status, STOPPED)
    assert [e.kind for e in events_of(engine, lead_id) if e.at == STOPPED] == ["suppressed"]

    with unit_of_work(engine) as session:
        outcome = answer_handoff(session, handoff_id, REP, "accept", None, None, ANSWERED, actor=f"rep:{REP}")

    lead = lead_by_email(engine, EMAIL)
    assert outcome.stage == "sal" and (lead.stage, lead.owner_rep, lead.email_status) == ("sal", REP, status)
    assert run_nurture(engine, ANSWERED + timedelta(days=1)) == {} and nurture_emails(engine) == []


@pytest.mark.parametrize("how, status", STOPS, ids=[how for how, _ in STOPS])
def test_a_rejected_mql_that_stopped_marketing_email_is_nurturing_but_gets_no_nurture_email(engine, how, status):
    lead_id, handoff_id = mql_with_open_handoff(engine)
    stop_marketing_email(engine, how)
    with unit_of_work(engine) as session:
        answer_handoff(session, handoff_id, REP, "reject", "bad-timing", None, ANSWERED, actor=f"rep:{REP}")
    assert lead_by_email(engine, EMAIL).stage == "nurturing"

    counts = run_nurture(engine, ANSWERED)

    assert counts.get("sent", 0) == 0 and counts["exited"] == 1 and nurture_emails(engine) == []
    (enrollment,) = enrollments_of(engine, lead_id)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "suppressed")
    assert lead_by_email(engine, EMAIL).email_status == status


def test_one_soft_blocked_bounce_is_counted_and_stops_nothing(engine):
    mql_with_open_handoff(engine)
    with unit_of_work(engine) as session:
        summary = apply_events(session, [sendgrid_event(EMAIL, "bounce", "ev-1", int(STOPPED.timestamp()),
                                                        type="blocked", reason="421 try again later")], STOPPED)

    assert summary.as_dict() == {"accepted": 1, "ignored": 0, "duplicates": 0}
    assert lead_by_email(engine, EMAIL).email_status == "ok"
    with unit_of_work(engine) as session:
        assert session.scalars(select(Suppression)).all() == []
