"""The rep's signed handoff link, through the web app (FastAPI TestClient, SQLite file database)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from leadrelay.db import unit_of_work
from leadrelay.history import append_history, history_row
from leadrelay.web import create_app
from leadrelay.models import Account, Handoff
from tests.factories import (
    add_scored_lead,
    enrollments_of,
    lead_by_email,
    links_for,
    migrated_engine,
    seed_handoff,
    services_for,
)


@pytest.fixture
def db(tmp_path):
    engine = migrated_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def client(db):
    # raise_server_exceptions=False: the test sees what a browser would, never a traceback.
    with TestClient(create_app(services_for(db)), raise_server_exceptions=False) as test_client:
        yield test_client


def path_of(url: str) -> str:
    return url.removeprefix("http://links.test")


def token_path(url: str) -> str:
    return path_of(url).split("?")[0]


def test_a_valid_link_shows_the_lead_its_score_history_and_buying_team(client, db):
    lead_id, handoff_id = seed_handoff(db)
    with unit_of_work(db) as session:
        append_history(session, [history_row(lead_id, "scored", "flow:pipeline", datetime.now(timezone.utc),
                                             {"total": 85, "tier": "hot"})])
    accept, _ = links_for(handoff_id)

    page = client.get(path_of(accept))

    assert page.status_code == 200
    html = page.text
    assert "Carla Boss" in html and "CEO" in html and "Acme" in html
    assert 'id="score">85<' in html and 'id="tier">hot<' in html
    assert "title is C-level" in html and "demo request" in html  # the breakdown
    assert "scored" in html and "flow:pipeline" in html  # the history
    assert 'id="buying-team"' in html
    assert 'name="decision" value="accept"' in html and 'value="no-budget"' in html
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"


def test_the_buying_team_lists_the_accounts_other_people(client, db):
    with unit_of_work(db) as session:
        account = Account(domain="acme-buyer.com", created_at=datetime.now(timezone.utc))
        session.add(account)
        session.flush()
        add_scored_lead(session, "cfo@acme-buyer.com", first_name="Finn", last_name="Ance", title="CFO",
                        account_id=account.id)
        account_id = account.id
    _, handoff_id = seed_handoff(db, account_id=account_id)

    html = client.get(path_of(links_for(handoff_id)[0])).text

    assert "Finn Ance" in html and "CFO" in html


def test_action_reject_opens_the_reject_section(client, db):
    _, handoff_id = seed_handoff(db)
    html = client.get(path_of(links_for(handoff_id)[1])).text
    assert 'id="reject-section" open' in html


def test_a_tampered_link_is_refused(client, db):
    _, handoff_id = seed_handoff(db)
    accept, _ = links_for(handoff_id)
    other_handoff = token_path(links_for(handoff_id + 1)[0]).split("/handoff/")[1].split(".")[0]
    signature = token_path(accept).split(".")[1]

    for path in (f"/handoff/{other_handoff}.{signature}", token_path(accept) + "x", "/handoff/garbage"):
        page = client.get(path)
        assert page.status_code == 403
        assert "This link is not valid." in page.text
        assert client.post(path, data={"decision": "accept"}).status_code == 403
    assert lead_by_email(db).stage == "mql"


def test_a_link_signed_with_another_secret_is_refused(client, db):
    _, handoff_id = seed_handoff(db)
    page = client.get(path_of(links_for(handoff_id, secret="not-the-secret")[0]))
    assert page.status_code == 403 and "This link is not valid." in page.text


def test_an_expired_link_is_refused(client, db):
    _, handoff_id = seed_handoff(db)
    accept, _ = links_for(handoff_id, expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))

    for page in (client.get(path_of(accept)), client.post(token_path(accept), data={"decision": "accept"})):
        assert page.status_code == 403
        assert "This link has expired; ask your manager to reassign the lead." in page.text
    assert lead_by_email(db).stage == "mql"


def test_posting_accept_makes_the_lead_sal(client, db):
    _, handoff_id = seed_handoff(db)
    accept, _ = links_for(handoff_id)

    page = client.post(token_path(accept), data={"decision": "accept"})

    assert page.status_code == 200
    assert 'id="stage">sal<' in page.text
    lead = lead_by_email(db)
    assert (lead.stage, lead.owner_rep) == ("sal", "rita@seller.example")


def test_posting_reject_with_a_reason_recycles_the_lead(client, db):
    lead_id, handoff_id = seed_handoff(db)
    _, reject = links_for(handoff_id)

    page = client.post(token_path(reject), data={"decision": "reject", "reason": "bad-timing", "note": "Q3"})

    assert page.status_code == 200 and 'id="stage">nurturing<' in page.text
    assert lead_by_email(db).stage == "nurturing"
    assert [e.reason for e in enrollments_of(db, lead_id)] == ["rejected:bad-timing"]


def test_reject_without_a_reason_shows_the_form_again(client, db):
    _, handoff_id = seed_handoff(db)
    _, reject = links_for(handoff_id)

    page = client.post(token_path(reject), data={"decision": "reject", "reason": "", "note": "<b>hm</b>"})

    assert page.status_code == 422
    assert 'id="error"' in page.text and "&lt;b&gt;hm&lt;/b&gt;" in page.text
    assert lead_by_email(db).stage == "mql"


def test_a_second_answer_gets_a_polite_409(client, db):
    _, handoff_id = seed_handoff(db)
    accept, _ = links_for(handoff_id)
    client.post(token_path(accept), data={"decision": "accept"})

    page = client.post(token_path(accept), data={"decision": "accept"})
    assert page.status_code == 409
    assert "You already accepted this lead." in page.text
    # The link itself now opens the outcome page (qualified, won, lost), saying it was accepted.
    page = client.get(path_of(accept))
    assert page.status_code == 200
    assert "You already accepted this lead" in page.text and 'id="sql-form"' in page.text


def test_a_reassigned_handoff_gets_a_polite_409(client, db):
    _, handoff_id = seed_handoff(db)
    with unit_of_work(db) as session:
        session.get(Handoff, handoff_id).status = "reassigned"

    page = client.post(token_path(links_for(handoff_id)[0]), data={"decision": "accept"})

    assert page.status_code == 409 and "passed to another rep" in page.text


def test_a_link_to_a_missing_handoff_is_404(client):
    page = client.get(path_of(links_for(4242)[0]))
    assert page.status_code == 404 and "Traceback" not in page.text


@pytest.mark.parametrize("name", ["{{ 7*7 }}", "<script>alert(1)</script>"])
def test_lead_data_is_shown_literally(client, db, name):
    _, handoff_id = seed_handoff(db, first_name=name, last_name=None, company="{% if 1 %}Evil{% endif %}")

    html = client.get(path_of(links_for(handoff_id)[0])).text

    assert "<script>alert(1)</script>" not in html
    assert "{{ 7*7 }}" in html or "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="lead-name">49<' not in html
    assert "{% if 1 %}Evil{% endif %}" in html


def test_an_unexpected_error_is_a_plain_500_page(db, monkeypatch):
    import leadrelay.web.handoff_routes as routes

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(routes, "handoff_page", broken)
    with TestClient(create_app(services_for(db)), raise_server_exceptions=False) as test_client:
        page = test_client.get("/handoff/anything")
    assert page.status_code == 500
    assert "secret internals" not in page.text and "Traceback" not in page.text
    assert "Something went wrong" in page.text


def test_unknown_paths_and_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    page = client.get("/nope")
    assert page.status_code == 404 and "There is no page here." in page.text
