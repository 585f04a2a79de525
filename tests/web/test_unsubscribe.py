"""The unsubscribe link in nurture emails: a confirmation page, one-click POST, refusals."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.nurture.unsubscribe import list_unsubscribe_headers, unsubscribe_url
from leadrelay.web import create_app
from leadrelay.models import Suppression
from tests.factories import BASE_URL, SECRET, add_nurtured_lead, enrollments_of, events_of, lead_by_email, services_for

EMAIL = "nina@acme-buyer.com"


@pytest.fixture
def client(engine):
    with TestClient(create_app(services_for(engine)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def lead_id(engine) -> int:
    with unit_of_work(engine) as session:
        return add_nurtured_lead(session, EMAIL)[0].id


def link(email: str = EMAIL, secret: str = SECRET, as_of: datetime | None = None) -> str:
    url = unsubscribe_url(email, secret, BASE_URL, as_of or datetime.now(timezone.utc))
    assert url.startswith(f"{BASE_URL}/unsubscribe/")
    return url.removeprefix(BASE_URL)


def suppressions(engine) -> list[Suppression]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Suppression)))


def test_get_shows_a_one_button_confirmation_and_records_nothing(client, engine, lead_id):
    page = client.get(link())

    assert page.status_code == 200
    assert 'id="unsubscribe-form"' in page.text and 'method="post"' in page.text
    assert "n***@acme-buyer.com" in page.text and EMAIL not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert suppressions(engine) == [] and lead_by_email(engine, EMAIL).stage == "nurturing"


def test_the_button_unsubscribes_the_lead_and_ends_its_track(client, engine, lead_id):
    page = client.post(link())

    assert page.status_code == 200 and "You are unsubscribed" in page.text
    (row,) = suppressions(engine)
    assert (row.email, row.reason, row.source) == (EMAIL, "unsubscribed", "link")
    lead = lead_by_email(engine, EMAIL)
    assert (lead.stage, lead.email_status) == ("nurturing", "unsubscribed")
    assert [e.exit_reason for e in enrollments_of(engine, lead_id)] == ["unsubscribed"]


def test_rfc_8058_one_click_post_works(client, engine, lead_id):
    page = client.post(link(), data={"List-Unsubscribe": "One-Click"})

    assert page.status_code == 200 and "You are unsubscribed" in page.text
    assert [row.email for row in suppressions(engine)] == [EMAIL]


def test_unsubscribing_twice_is_fine_and_has_one_effect(client, engine, lead_id):
    first = client.post(link())
    history = len(events_of(engine, lead_id))
    second = client.post(link(), data={"List-Unsubscribe": "One-Click"})

    assert first.status_code == second.status_code == 200 and "You are unsubscribed" in second.text
    assert len(suppressions(engine)) == 1 and len(events_of(engine, lead_id)) == history


@pytest.mark.parametrize("tamper", [
    lambda path: path + "x",
    lambda path: path.replace("/unsubscribe/", "/unsubscribe/A"),
    lambda path: "/unsubscribe/garbage",
    lambda path: link(secret="another-secret"),
])
def test_a_tampered_link_is_refused_with_a_403_page(client, engine, lead_id, tamper):
    path = tamper(link())
    for page in (client.get(path), client.post(path, data={"List-Unsubscribe": "One-Click"})):
        assert page.status_code == 403
        assert "This link is not valid." in page.text and "Traceback" not in page.text
    assert suppressions(engine) == []


def test_a_handoff_token_is_no_unsubscribe_token(client, engine, lead_id):
    from leadrelay.links.signing import sign

    token = sign("handoff", {"e": EMAIL}, SECRET, datetime.now(timezone.utc) + timedelta(days=1))
    assert client.post(f"/unsubscribe/{token}").status_code == 403
    assert suppressions(engine) == []


def test_an_expired_link_says_so(client, engine, lead_id):
    old = link(as_of=datetime.now(timezone.utc) - timedelta(days=366))
    page = client.post(old)
    assert page.status_code == 403 and "expired" in page.text and "manager" not in page.text
    assert suppressions(engine) == []


def test_list_unsubscribe_headers_name_the_link_and_one_click():
    url = unsubscribe_url(EMAIL, SECRET, BASE_URL, datetime.now(timezone.utc))
    assert list_unsubscribe_headers(url) == {"List-Unsubscribe": f"<{url}>",
                                             "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
