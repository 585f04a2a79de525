"""Re-subscribing: only an unsubscribe is undone, with consent recorded (time and source) in history;
a bounce, a spam report or an erasure is never undone by a link."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.models import Lead, Suppression
from leadrelay.nurture.resubscribe import NotResubscribable, resubscribe, resubscribe_url
from leadrelay.nurture.suppression import suppress
from leadrelay.privacy.erase import erase_person
from tests.factories import BASE_URL, SECRET, T0, add_nurtured_lead, events_of, lead_by_email

EMAIL = "nina@acme-buyer.com"
STOPPED, BACK = T0 + timedelta(days=1), T0 + timedelta(days=2)


def token(email: str = EMAIL) -> str:
    return unquote(resubscribe_url(email, SECRET, BASE_URL, STOPPED).rsplit("/", 1)[1])


def stopped(engine, reason: str) -> int:
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session, EMAIL, consent=False)
        suppress(session, EMAIL, reason, "link" if reason == "unsubscribed" else "sendgrid", STOPPED, "test")
        return lead.id


def suppressions(engine) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Suppression.email)))


def test_an_unsubscribed_lead_is_ok_again_with_consent_recorded(engine):
    lead_id = stopped(engine, "unsubscribed")
    with unit_of_work(engine) as session:
        outcome = resubscribe(session, token(), SECRET, BACK)

    assert (outcome.changed, outcome.lead_id) == (True, lead_id)
    lead = lead_by_email(engine, EMAIL)
    assert (lead.email_status, lead.email_status_at, lead.email_status_reason, lead.consent) == (
        "ok", BACK, "resubscribed", True)
    assert lead.stage == "nurturing" and suppressions(engine) == []
    (event,) = [e for e in events_of(engine, lead_id) if e.kind == "resubscribed"]
    assert (event.at, event.actor) == (BACK, "lead:resubscribe-link")
    assert event.detail == {"source": "link:unsubscribe-page", "consent": True, "consent_at": BACK.isoformat(),
                            "from": "unsubscribed"}


def test_re_subscribing_twice_has_one_effect(engine):
    lead_id = stopped(engine, "unsubscribed")
    with unit_of_work(engine) as session:
        resubscribe(session, token(), SECRET, BACK)
    with unit_of_work(engine) as session:
        again = resubscribe(session, token(), SECRET, BACK + timedelta(hours=1))
    assert again.changed is False
    assert len([e for e in events_of(engine, lead_id) if e.kind == "resubscribed"]) == 1


@pytest.mark.parametrize("reason, status", [("bounce", "bounced"), ("dropped", "bounced"),
                                            ("soft_bounce", "bounced"), ("spamreport", "complained")])
def test_a_bounced_or_complained_address_is_refused_and_nothing_changes(engine, reason, status):
    lead_id = stopped(engine, reason)
    history = len(events_of(engine, lead_id))
    with unit_of_work(engine) as session:
        with pytest.raises(NotResubscribable):
            resubscribe(session, token(), SECRET, BACK)
    assert lead_by_email(engine, EMAIL).email_status == status
    assert suppressions(engine) == [EMAIL] and len(events_of(engine, lead_id)) == history


def test_an_erased_lead_is_never_re_subscribed(engine):
    stopped(engine, "unsubscribed")
    with unit_of_work(engine) as session:
        placeholder = erase_person(session, EMAIL, BACK, "cli:erase").placeholder
    with unit_of_work(engine) as session:
        with pytest.raises(NotResubscribable):
            resubscribe(session, token(placeholder), SECRET, BACK)
    assert lead_by_email(engine, placeholder).email_status == "erased"
    # The link made before the erasure names the real address, which nothing holds any more.
    with unit_of_work(engine) as session:
        assert resubscribe(session, token(), SECRET, BACK).changed is False
        assert session.scalars(select(Lead.email)).all() == [placeholder]
    assert suppressions(engine) == []
