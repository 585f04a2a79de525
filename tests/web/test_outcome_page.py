"""The rep's outcome forms behind the signed handoff link, after accepting: qualified (SQL), won,
lost (with a reason), recorded with the rep as actor, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from leadrelay.db import unit_of_work
from leadrelay.models import Handoff
from tests.factories import enrollments_of, events_of, lead_by_email, links_for, seed_handoff
from tests.support.web import web_client


def path_of(url: str) -> str:
    return url.removeprefix("http://links.test").split("?")[0]


@pytest.fixture
def accepted(engine):
    """(client, lead_id, link path) for a lead its rep has accepted through the link."""
    lead_id, handoff_id = seed_handoff(engine)
    link = path_of(links_for(handoff_id)[0])
    with web_client(engine) as client:
        answered = client.post(link, data={"decision": "accept"})
        assert 'id="record-outcome"' in answered.text  # the confirmation offers the outcome page
        yield client, lead_id, link


def test_after_accepting_the_link_offers_qualified_won_and_lost(accepted):
    client, _, link = accepted
    for page in (client.get(link), client.get(link + "/outcome")):
        assert page.status_code == 200
        assert all(f'id="{form}-form"' in page.text for form in ("sql", "won", "lost"))
        assert 'id="stage">sal<' in page.text


def test_qualified_then_won_with_an_amount_moves_the_lead_with_the_rep_as_actor(accepted, engine):
    client, lead_id, link = accepted
    page = client.post(link + "/outcome", data={"outcome": "sql"})
    assert page.status_code == 200 and 'id="stage">sql<' in page.text and 'id="sql-form"' not in page.text

    page = client.post(link + "/outcome", data={"outcome": "won", "amount": "48,000"})

    assert page.status_code == 200 and 'id="stage">won<' in page.text and 'id="no-choices"' in page.text
    assert lead_by_email(engine).stage == "won"
    moves = [(e.detail["to"], e.actor) for e in events_of(engine, lead_id) if e.kind == "stage_changed"]
    assert moves[-2:] == [("sql", "rep:rita@seller.example"), ("won", "rep:rita@seller.example")]
    won = [e.detail for e in events_of(engine, lead_id) if e.kind == "outcome_recorded"][-1]
    assert (won["outcome"], won["amount"], won["rep"]) == ("won", "48000.00", "rita@seller.example")


def test_lost_needs_a_reason_and_then_recycles_the_lead(accepted, engine):
    client, lead_id, link = accepted
    page = client.post(link + "/outcome", data={"outcome": "lost", "reason": "  "})
    assert page.status_code == 422 and 'id="error"' in page.text and lead_by_email(engine).stage == "sal"

    page = client.post(link + "/outcome", data={"outcome": "lost", "reason": "<b>Price</b>"})

    assert page.status_code == 200 and 'id="stage">nurturing<' in page.text
    assert "<b>Price</b>" not in page.text  # shown escaped, if at all
    assert [e.reason for e in enrollments_of(engine, lead_id)] == ["lost:b-price-b"]


def test_a_bad_amount_or_choice_shows_the_forms_again(accepted, engine):
    client, _, link = accepted
    for data in ({"outcome": "won", "amount": "a lot"}, {"outcome": "disqualified"}, {}):
        page = client.post(link + "/outcome", data=data)
        assert page.status_code == 422 and 'id="error"' in page.text
    assert lead_by_email(engine).stage == "sal"


def test_no_outcome_before_accepting_or_for_another_reps_lead(engine):
    _, handoff_id = seed_handoff(engine)
    link = path_of(links_for(handoff_id)[0])
    with web_client(engine) as client:
        page = client.post(link + "/outcome", data={"outcome": "won"})
        assert page.status_code == 409 and "once it is accepted" in page.text
        client.post(link, data={"decision": "accept"})
        with unit_of_work(engine) as session:
            session.get(Handoff, handoff_id).rep_email = "otto@seller.example"
        assert client.post(link + "/outcome", data={"outcome": "won"}).status_code == 409
        tampered = client.post(link[:-3] + "abc/outcome", data={"outcome": "won"})
        assert tampered.status_code == 403
    assert lead_by_email(engine).stage == "sal"
