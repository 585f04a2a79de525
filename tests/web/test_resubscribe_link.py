"""The re-subscribe button on the page that confirms an unsubscribe: signed, GET records nothing,
tampered or foreign tokens refused, a bounce never undone."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.models import Suppression
from leadrelay.nurture.resubscribe import resubscribe_url
from leadrelay.nurture.suppression import suppress
from leadrelay.nurture.unsubscribe import unsubscribe_url
from leadrelay.web import create_app
from tests.factories import BASE_URL, SECRET, add_nurtured_lead, events_of, lead_by_email, services_for

EMAIL = "nina@acme-buyer.com"


@pytest.fixture
def client(engine):
    with TestClient(create_app(services_for(engine)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def lead_id(engine) -> int:
    with unit_of_work(engine) as session:
        return add_nurtured_lead(session, EMAIL)[0].id


def unsubscribe_path() -> str:
    return unsubscribe_url(EMAIL, SECRET, BASE_URL, datetime.now(timezone.utc)).removeprefix(BASE_URL)


def suppressed(engine) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Suppression.email)))


def test_the_unsubscribe_confirmation_offers_a_signed_resubscribe_that_works(client, engine, lead_id):
    done = client.post(unsubscribe_path())
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    path = re.search(r'action="(/resubscribe/[^"]+)"', done.text).group(1)

    confirm = client.get(path)
    assert confirm.status_code == 200 and 'id="resubscribe-form"' in confirm.text
    assert "n***@acme-buyer.com" in confirm.text and EMAIL not in confirm.text
    assert lead_by_email(engine, EMAIL).email_status == "unsubscribed"  # GET records nothing

    back = client.post(path)
    assert back.status_code == 200 and "You are subscribed again" in back.text
    assert lead_by_email(engine, EMAIL).email_status == "ok" and suppressed(engine) == []
    assert [e.detail["source"] for e in events_of(engine, lead_id) if e.kind == "resubscribed"] == [
        "link:unsubscribe-page"]
    again = client.post(path)
    assert again.status_code == 200 and "nothing to change" in again.text


@pytest.mark.parametrize("tamper", [
    lambda path: path + "x",
    lambda path: path.replace("/resubscribe/", "/resubscribe/A"),
    lambda path: "/resubscribe/garbage",
    lambda path: resubscribe_url(EMAIL, "another-secret", "", datetime.now(timezone.utc)),
    lambda path: unsubscribe_path().replace("/unsubscribe/", "/resubscribe/"),  # another purpose
])
def test_a_tampered_or_foreign_link_is_refused_and_changes_nothing(client, engine, lead_id, tamper):
    client.post(unsubscribe_path())
    path = tamper(resubscribe_url(EMAIL, SECRET, "", datetime.now(timezone.utc)))
    for page in (client.get(path), client.post(path)):
        assert page.status_code == 403 and "This link is not valid." in page.text
    assert lead_by_email(engine, EMAIL).email_status == "unsubscribed" and suppressed(engine) == [EMAIL]


def test_an_expired_link_says_so(client, engine, lead_id):
    client.post(unsubscribe_path())
    old = resubscribe_url(EMAIL, SECRET, "", datetime.now(timezone.utc) - timedelta(days=31))
    page = client.post(old)
    assert page.status_code == 403 and "expired" in page.text
    assert lead_by_email(engine, EMAIL).email_status == "unsubscribed"


def test_a_bounced_address_is_not_re_subscribed_by_a_link(client, engine, lead_id):
    with unit_of_work(engine) as session:
        suppress(session, EMAIL, "bounce", "sendgrid", datetime.now(timezone.utc), "webhook:sendgrid")
    page = client.post(resubscribe_url(EMAIL, SECRET, "", datetime.now(timezone.utc)))
    assert page.status_code == 409 and "cannot be re-subscribed" in page.text
    assert lead_by_email(engine, EMAIL).email_status == "bounced" and suppressed(engine) == [EMAIL]
