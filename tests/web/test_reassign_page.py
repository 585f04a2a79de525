"""The manager's signed reassign link (from the escalation email), and the rep page refusing an
unknown reject reason; through the web app on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.links.secret import reassign_link
from leadrelay.models import Handoff, LeadEvent, OutboxEmail
from leadrelay.web import create_app
from tests.factories import BASE_URL, SECRET, add_handoff, add_scored_lead, links_for, services_for

ANNA, LUKAS, MANAGER = "anna.schmidt@example.com", "lukas.bauer@example.com", "emea.manager@example.com"


@pytest.fixture
def client(engine):
    with TestClient(create_app(services_for(engine)), raise_server_exceptions=False) as test_client:
        yield test_client


def escalated(engine) -> int:
    """An MQL whose handoff to Anna passed its deadline a day ago and was escalated."""
    now = datetime.now(timezone.utc)
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, country="DE")
        handoff = add_handoff(session, lead, rep_email=ANNA, created_at=now - timedelta(days=2),
                              due_at=now - timedelta(days=1))
        handoff.sla_breached = True
        return handoff.id


def path(url: str) -> str:
    return url.removeprefix(BASE_URL)


def link(handoff_id: int, secret: str = SECRET) -> str:
    return path(reassign_link(handoff_id, MANAGER, secret, BASE_URL, datetime.now(timezone.utc) + timedelta(days=7)))


def rows(engine, model, *where):
    with unit_of_work(engine) as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def test_the_page_shows_the_lead_and_the_other_reps_and_records_nothing(client, engine):
    handoff_id = escalated(engine)

    page = client.get(link(handoff_id))

    assert page.status_code == 200
    assert "Carla Boss" in page.text and ANNA in page.text and "has not come" in page.text
    assert f'<option value="{LUKAS}">Lukas Bauer' in page.text
    assert f'<option value="{ANNA}">' not in page.text  # not back to the rep who did not answer
    assert [h.status for h in rows(engine, Handoff)] == ["open"]


def test_choosing_a_rep_moves_the_handoff_and_tells_both_reps(client, engine):
    handoff_id = escalated(engine)

    page = client.post(link(handoff_id), data={"to": LUKAS})

    assert page.status_code == 200 and "now with Lukas Bauer (lukas.bauer@example.com)" in page.text
    old, new = rows(engine, Handoff)
    assert (old.id, old.status) == (handoff_id, "reassigned")
    assert (new.rep_email, new.status, new.sla_breached) == (LUKAS, "open", False)
    assert new.due_at > datetime.now(timezone.utc)
    mail = {(m.to_email, m.kind) for m in rows(engine, OutboxEmail)}
    assert mail == {(LUKAS, "rep_notification"), (ANNA, "handoff_reassigned")}
    [moved] = rows(engine, LeadEvent, LeadEvent.kind == "reassigned")
    assert moved.actor == f"manager:{MANAGER} (signed link)" and moved.detail["to"] == LUKAS

    again = client.post(link(handoff_id), data={"to": LUKAS})  # the same link, used twice
    assert again.status_code == 409 and "already reassigned" in again.text
    assert len(rows(engine, Handoff)) == 2


@pytest.mark.parametrize("to", ["nobody@example.com", "", "<script>x</script>"])
def test_a_rep_not_in_reps_yaml_shows_the_form_again(client, engine, to):
    handoff_id = escalated(engine)

    page = client.post(link(handoff_id), data={"to": to})

    assert page.status_code == 422 and "is not a rep in reps.yaml" in page.text
    assert "<script>x" not in page.text
    assert [h.status for h in rows(engine, Handoff)] == ["open"]


def test_a_tampered_or_foreign_link_is_refused(client, engine):
    handoff_id = escalated(engine)
    tampered = link(handoff_id)[:-3] + "abc"
    accept_url, _ = links_for(handoff_id, rep_email=ANNA)
    rep_token = path(accept_url).split("?")[0].removeprefix("/handoff/")

    assert client.post(tampered, data={"to": LUKAS}).status_code == 403
    assert client.post(link(handoff_id, secret="another-secret"), data={"to": LUKAS}).status_code == 403
    assert client.post(f"/reassign/{rep_token}", data={"to": LUKAS}).status_code == 403  # a rep's link
    assert [h.status for h in rows(engine, Handoff)] == ["open"]


def test_the_rep_page_refuses_a_misspelt_reason_listing_the_known_ones(client, engine):
    handoff_id = escalated(engine)
    _, reject_url = links_for(handoff_id, rep_email=ANNA)

    page = client.post(path(reject_url).split("?")[0], data={"decision": "reject", "reason": "bad-timng"})

    assert page.status_code == 422
    assert "&#39;bad-timng&#39; is not a reject reason; use one of: no-budget, no-authority, no-need, bad-timing" \
        in page.text
    assert [h.status for h in rows(engine, Handoff)] == ["open"]


def test_a_rep_who_is_away_is_marked_so(engine):
    services = services_for(engine)
    reps = services.rules.reps
    away = reps.model_copy(update={"reps": [r.model_copy(update={"out_of_office": r.email == LUKAS}) for r in reps.reps]})
    services = replace(services, rules=replace(services.rules, reps=away))
    handoff_id = escalated(engine)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        page = client.get(link(handoff_id))
    assert "Lukas Bauer (lukas.bauer@example.com) · DE, AT, CH · out of office</option>" in page.text
    assert "Sophie Martin (sophie.martin@example.com)" in page.text and page.text.count("out of office") == 1
