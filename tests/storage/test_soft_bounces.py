"""Soft bounces through SendGrid's webhook: counted per message, suppressing only after N in the
window; hard bounces, invalid drops, spam reports and unsubscribes suppress at once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import apply_events
from leadrelay.models import SoftBounce, Suppression
from leadrelay.nurture.sequences import SoftBounces
from tests.factories import T0, add_nurtured_lead, enrollments_of, events_of, lead_by_email, sendgrid_event

EMAIL = "nina@acme-buyer.com"
POLICY = SoftBounces(suppress_after=3, within_days=30)


@pytest.fixture
def lead_id(engine) -> int:
    with unit_of_work(engine) as session:
        return add_nurtured_lead(session, EMAIL)[0].id


def soft(event_id: str, day: float, event: str = "bounce", message: str | None = None) -> dict:
    at = int((T0 + timedelta(days=day)).timestamp())
    fields = {"type": "blocked", "reason": "421 4.7.0 try again later"} if event == "bounce" else {
        "response": "451 greylisted", "attempt": "1"}
    made = sendgrid_event(EMAIL, event, event_id, at, **fields)
    if message:
        made["sg_message_id"] = message
    return made


def post(engine, *events, as_of_day: float = 0):
    with unit_of_work(engine) as session:
        return apply_events(session, list(events), T0 + timedelta(days=as_of_day), POLICY).as_dict()


def suppressed(engine) -> list[tuple[str, str]]:
    with unit_of_work(engine) as session:
        return [(row.email, row.reason) for row in session.scalars(select(Suppression))]


def stored_soft_bounces(engine) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(SoftBounce))


def test_two_soft_bounces_stop_nothing_the_third_within_30_days_suppresses(engine, lead_id):
    assert post(engine, soft("ev-1", 0), soft("ev-2", 10, event="deferred")) == {
        "accepted": 2, "ignored": 0, "duplicates": 0}
    assert suppressed(engine) == [] and lead_by_email(engine, EMAIL).email_status == "ok"
    assert [e.status for e in enrollments_of(engine, lead_id)] == ["active"]

    post(engine, soft("ev-3", 20), as_of_day=21)  # arrives a day late: decided at its own time

    lead = lead_by_email(engine, EMAIL)
    assert suppressed(engine) == [(EMAIL, "soft_bounce")]
    assert (lead.email_status, lead.email_status_reason, lead.email_status_at) == (
        "bounced", "soft_bounce", T0 + timedelta(days=20))
    assert lead.stage == "nurturing"
    (event,) = [e for e in events_of(engine, lead_id) if e.kind == "suppressed"]
    assert event.detail == {"reason": "soft_bounce", "source": "sendgrid", "soft_bounces": 3, "within_days": 30}
    assert [e.exit_reason for e in enrollments_of(engine, lead_id)] == ["soft_bounce"]


def test_soft_bounces_spread_wider_than_the_window_never_suppress(engine, lead_id):
    for number, day in enumerate((0, 25, 50, 75, 100)):
        post(engine, soft(f"ev-{number}", day))
    assert stored_soft_bounces(engine) == 5
    assert suppressed(engine) == [] and lead_by_email(engine, EMAIL).email_status == "ok"


def test_retries_of_one_message_and_redeliveries_count_once(engine, lead_id):
    same_message = [soft(f"ev-{n}", n / 24, event="deferred", message="msg-A") for n in range(4)]
    assert post(engine, *same_message) == {"accepted": 1, "ignored": 0, "duplicates": 3}
    assert post(engine, soft("ev-9", 1, message="msg-A")) == {"accepted": 0, "ignored": 0, "duplicates": 1}
    assert stored_soft_bounces(engine) == 1 and suppressed(engine) == []


@pytest.mark.parametrize("event, fields, reason, status", [
    ("bounce", {"type": "bounce", "reason": "550 5.1.1 no such user"}, "bounce", "bounced"),
    ("dropped", {"reason": "Invalid"}, "dropped", "bounced"),
    ("dropped", {"reason": "Bounced Address"}, "dropped", "bounced"),
    ("dropped", {"reason": "Unsubscribed Address"}, "unsubscribe", "unsubscribed"),
    ("spamreport", {}, "spamreport", "complained"),
    ("unsubscribe", {}, "unsubscribe", "unsubscribed"),
])
def test_hard_failures_complaints_and_unsubscribes_suppress_at_once(engine, lead_id, event, fields, reason, status):
    post(engine, sendgrid_event(EMAIL, event, "ev-1", int(T0.timestamp()), **fields))

    assert suppressed(engine) == [(EMAIL, reason)]
    assert lead_by_email(engine, EMAIL).email_status == status
    assert stored_soft_bounces(engine) == 0


def test_a_drop_that_is_not_the_address_s_fault_is_ignored(engine, lead_id):
    result = post(engine, sendgrid_event(EMAIL, "dropped", "ev-1", int(T0.timestamp()),
                                         reason="Recipient List over Package Quota"))
    assert result == {"accepted": 0, "ignored": 1, "duplicates": 0}
    assert suppressed(engine) == [] and lead_by_email(engine, EMAIL).email_status == "ok"
