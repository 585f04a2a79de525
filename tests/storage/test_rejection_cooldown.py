"""A rep's rejection is respected in the batched hand-off: a rejected lead that is an MQL again
within its reason's cooldown is not handed back (and not claimed), after the cooldown or a big
enough engagement rise it is, to a rep the reason allows, and the email says who rejected it and
why. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender, render_stored
from leadrelay.handoff.answers import answer_handoff
from leadrelay.handoff.handoff_store import HandoffContext, hand_off_new_mqls
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.models import Account, Handoff, Lead, OutboxEmail
from tests.factories import REPO, T0, add_engagement, add_scored_lead, events_of

ANNA, LUKAS = "anna.schmidt@example.com", "lukas.bauer@example.com"
REJECTED_AT = T0 + timedelta(hours=1)


@pytest.fixture
def ctx():
    return HandoffContext(rules=load_rules(REPO / "config"), secret="s", base_url="http://links.test",
                          sender=Sender("m@example.com", "leadrelay", "1 Street"), actor="flow:test")


def hand_off(engine, ctx, as_of, limit=100):
    with unit_of_work(engine) as session:
        return hand_off_new_mqls(session, ctx, as_of, limit)


def owned_mql(engine, email="carla@acme-buyer.com", owner=ANNA) -> int:
    """A warm DACH MQL whose account Anna owns, so account ownership sends it to her."""
    with unit_of_work(engine) as session:
        account = Account(domain=email.split("@")[1], owner_rep=owner, created_at=T0)
        session.add(account)
        session.flush()
        lead = add_scored_lead(session, email, country="DE", tier="warm", score_total=70, fit_score=60,
                               engagement_score=10, account_id=account.id)
        return lead.id


def reject(engine, lead_id, reason, at=REJECTED_AT):
    with unit_of_work(engine) as session:
        handoff = session.scalars(select(Handoff).where(Handoff.lead_id == lead_id, Handoff.status == "open")).one()
        answer_handoff(session, handoff.id, handoff.rep_email, "reject", reason, None, at, actor="rep:test")


def mql_again(engine, lead_id, at, engagement_gain):
    """What scoring does after a click: more engagement, and nurturing -> mql."""
    with unit_of_work(engine) as session:
        lead = session.get(Lead, lead_id)
        add_engagement(session, lead, "email_click", at - timedelta(minutes=5))
        lead.engagement_score += engagement_gain
        lead.score_total += engagement_gain
        apply_transitions(session, [Transition.of(lead, "mql", "score reached the MQL threshold")], at, "flow:test")


def open_handoffs(engine, lead_id):
    with unit_of_work(engine) as session:
        return [h.rep_email for h in session.scalars(select(Handoff).where(Handoff.lead_id == lead_id,
                                                                          Handoff.status == "open"))]


def last_email_to(engine, rep):
    with unit_of_work(engine) as session:
        row = session.scalars(select(OutboxEmail).where(OutboxEmail.to_email == rep)
                              .order_by(OutboxEmail.id.desc())).first()
        return render_stored(row.render_context)


def test_bad_timing_is_respected_for_its_cooldown_then_handed_back_with_the_story(engine, ctx):
    lead_id = owned_mql(engine)
    assert [h.rep_email for h in hand_off(engine, ctx, T0).handed_off] == [ANNA]
    reject(engine, lead_id, "bad-timing")

    three_days = T0 + timedelta(days=3)
    mql_again(engine, lead_id, three_days, engagement_gain=3)  # one click: an MQL again on fit alone
    outcome = hand_off(engine, ctx, three_days)
    assert (outcome.claimed, outcome.handed_off) == (0, [])  # not even claimed: no hot loop
    assert open_handoffs(engine, lead_id) == []
    with unit_of_work(engine) as session:
        assert session.get(Lead, lead_id).stage == "mql"  # waits as an MQL, as the lifecycle has it

    assert hand_off(engine, ctx, T0 + timedelta(days=30)).handed_off == []  # 30 days after the rejection
    after = REJECTED_AT + timedelta(days=30)
    assert [h.rep_email for h in hand_off(engine, ctx, after).handed_off] == [ANNA]  # same rep allowed

    message = last_email_to(engine, ANNA)
    top = message.text.split("Hi Anna")[0]
    assert "Anna Schmidt (anna.schmidt@example.com) rejected this lead on Mon 2 Nov 2026, 11:00 CET" in top
    assert "reason: Bad timing" in top and "email click" in top
    assert "score 70 then, 73 now" in top and "engagement 10 then, 13 now (+3)" in top
    assert "30-day cooldown is over" in top
    assert "Rejected before" in message.html.split("Hi Anna")[0]
    assert "handed back after a rejection" in message.subject
    back = [e for e in events_of(engine, lead_id) if e.kind == "handed_back"]
    assert [(e.detail["rejected_by"], e.detail["reason"]) for e in back] == [(ANNA, "bad-timing")]


def test_a_big_enough_engagement_rise_ends_the_cooldown_early(engine, ctx):
    lead_id = owned_mql(engine)
    hand_off(engine, ctx, T0)
    reject(engine, lead_id, "bad-timing")

    soon = T0 + timedelta(days=5)
    rise = ctx.rules.routing.rejections.engagement_rise
    mql_again(engine, lead_id, soon, engagement_gain=rise)
    assert [h.rep_email for h in hand_off(engine, ctx, soon).handed_off] == [ANNA]
    assert f"engagement rose by {rise} points" in last_email_to(engine, ANNA).text


def test_no_authority_goes_back_at_once_but_to_another_rep(engine, ctx):
    lead_id = owned_mql(engine)
    hand_off(engine, ctx, T0)
    reject(engine, lead_id, "No authority")  # a label works as well as the code

    soon = T0 + timedelta(hours=2)
    mql_again(engine, lead_id, soon, engagement_gain=1)
    [handed] = hand_off(engine, ctx, soon).handed_off
    assert handed.rep_email == LUKAS  # the account owner (Anna) rejected it for no authority
    text = last_email_to(engine, LUKAS).text
    assert "Anna Schmidt (anna.schmidt@example.com) rejected this lead" in text and "reason: No authority" in text


def test_a_lead_cooling_down_does_not_hold_back_the_leads_behind_it(engine, ctx):
    cooling = owned_mql(engine)
    hand_off(engine, ctx, T0)
    reject(engine, cooling, "no-budget")
    mql_again(engine, cooling, T0 + timedelta(days=1), engagement_gain=2)
    fresh = owned_mql(engine, "dora@other-buyer.com", owner=LUKAS)

    # A batch of one: the cooling lead (the lower id) is skipped by the claim, the fresh one is taken.
    outcome = hand_off(engine, ctx, T0 + timedelta(days=1), limit=1)
    assert [h.lead_id for h in outcome.handed_off] == [fresh]
    assert hand_off(engine, ctx, T0 + timedelta(days=1), limit=1).claimed == 0
