"""A rep's answer to a handoff, on a real (SQLite) database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from leadrelay.config.settings import Settings
from leadrelay.db import unit_of_work
from leadrelay.handoff.answers import (
    REJECT_REASONS,
    HandoffClosed,
    HandoffNotFound,
    InvalidAnswer,
    answer_handoff,
    clean_text,
    find_open_handoff,
)
from leadrelay.links.secret import LINK_SECRET_NAME, handoff_links, link_secret, read_handoff_link
from leadrelay.links.signing import LinkInvalid
from leadrelay.models import AppSecret, Handoff, Lead
from tests.factories import REP, T0, add_handoff, add_scored_lead, enrollments_of, events_of, migrated_engine

ON_TIME = T0 + timedelta(hours=1)


@pytest.fixture
def db(tmp_path):
    engine = migrated_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def handoff_id(db) -> int:
    with unit_of_work(db) as session:
        return add_handoff(session, add_scored_lead(session)).id


def answer(db, handoff_id, decision="accept", reason=None, note=None, rep=REP, as_of=ON_TIME):
    with unit_of_work(db) as session:
        return answer_handoff(session, handoff_id, rep, decision, reason, note, as_of=as_of, actor=f"rep:{rep}")


def state(db, handoff_id) -> tuple[Handoff, Lead]:
    with Session(db) as session:
        handoff = session.get(Handoff, handoff_id)
        return handoff, session.get(Lead, handoff.lead_id)


def test_accept_makes_the_lead_sales_accepted_and_owned_by_the_rep(db, handoff_id):
    outcome = answer(db, handoff_id, "accept")

    handoff, lead = state(db, handoff_id)
    assert (outcome.lead_email, outcome.stage) == ("carla@acme-buyer.com", "sal")
    assert outcome.message
    assert (handoff.status, handoff.answered_at, handoff.sla_breached) == ("accepted", ON_TIME, False)
    assert (lead.stage, lead.owner_rep) == ("sal", REP)
    kinds = [(e.kind, e.to_stage, e.actor) for e in events_of(db, lead.id)][1:]
    assert kinds == [("handoff_accepted", None, f"rep:{REP}"), ("stage_changed", "sal", f"rep:{REP}")]
    assert events_of(db, lead.id)[-1].detail == {"from": "mql", "to": "sal", "reason": "accepted by rep"}
    assert enrollments_of(db, lead.id) == []


def test_reject_with_a_reason_recycles_the_lead_into_nurturing(db, handoff_id):
    outcome = answer(db, handoff_id, "reject", reason="no-budget", note="  Call back\x07 in Q3 \u202e ")

    handoff, lead = state(db, handoff_id)
    assert outcome.stage == "nurturing" and "No budget" in outcome.message
    assert (handoff.status, handoff.answered_at) == ("rejected", ON_TIME)
    assert (lead.stage, lead.owner_rep) == ("nurturing", None)
    rejected, changed = events_of(db, lead.id)[1:]
    assert rejected.kind == "handoff_rejected"
    assert rejected.detail["reason"] == "no-budget" and rejected.detail["note"] == "Call back in Q3"
    assert (changed.kind, changed.to_stage, changed.detail["from"]) == ("stage_changed", "nurturing", "mql")
    [enrollment] = enrollments_of(db, lead.id)
    assert (enrollment.status, enrollment.reason, enrollment.step_index) == ("active", "rejected:no-budget", 0)
    assert enrollment.entered_at == enrollment.next_due_at == ON_TIME


def test_reject_accepts_a_reason_label_in_any_case(db, handoff_id):
    answer(db, handoff_id, "reject", reason="BAD TIMING")
    assert enrollments_of(db, state(db, handoff_id)[1].id)[0].reason == "rejected:bad-timing"


@pytest.mark.parametrize("reason, note", [(None, None), ("", "note"), ("too-expensive", None), ("other", "   ")])
def test_reject_without_a_known_reason_or_other_without_a_note_is_refused(db, handoff_id, reason, note):
    with pytest.raises(InvalidAnswer):
        answer(db, handoff_id, "reject", reason=reason, note=note)

    handoff, lead = state(db, handoff_id)
    assert (handoff.status, lead.stage) == ("open", "mql")


def test_other_with_a_note_is_kept(db, handoff_id):
    answer(db, handoff_id, "reject", reason="other", note="Competitor's employee")
    assert events_of(db, state(db, handoff_id)[1].id)[1].detail["note"] == "Competitor's employee"


def test_an_unknown_decision_is_refused(db, handoff_id):
    with pytest.raises(InvalidAnswer):
        answer(db, handoff_id, "maybe")


@pytest.mark.parametrize("status, words", [
    ("reassigned", "passed to another rep"), ("accepted", "already accepted"), ("rejected", "already rejected"),
    ("recycled", "nurturing"),
])
def test_a_closed_handoff_is_refused_politely(db, status, words):
    with unit_of_work(db) as session:
        handoff_id = add_handoff(session, add_scored_lead(session), status=status).id

    with pytest.raises(HandoffClosed, match=words):
        answer(db, handoff_id, "accept")

    assert state(db, handoff_id)[1].stage == "mql"


def test_a_second_answer_is_refused(db, handoff_id):
    answer(db, handoff_id, "accept")
    with pytest.raises(HandoffClosed, match="already accepted"):
        answer(db, handoff_id, "reject", reason="no-need")


def test_another_reps_answer_is_refused(db, handoff_id):
    with pytest.raises(HandoffClosed, match="another rep"):
        answer(db, handoff_id, "accept", rep="mallory@seller.example")
    assert state(db, handoff_id)[0].status == "open"


def test_the_rep_email_matches_in_any_case(db, handoff_id):
    assert answer(db, handoff_id, "accept", rep=REP.upper()).stage == "sal"


def test_a_missing_handoff_is_not_found(db):
    with pytest.raises(HandoffNotFound):
        answer(db, 999, "accept")


def test_a_late_answer_marks_the_sla_breached(db, handoff_id):
    answer(db, handoff_id, "accept", as_of=T0 + timedelta(hours=5))

    handoff, _ = state(db, handoff_id)
    assert handoff.sla_breached is True
    assert handoff.status == "accepted"


def test_find_open_handoff_finds_the_reps_open_one_only(db, handoff_id):
    with Session(db) as session:
        assert find_open_handoff(session, " Carla@Acme-Buyer.com ", REP.upper()).id == handoff_id
        assert find_open_handoff(session, "carla@acme-buyer.com", "other@seller.example") is None
    answer(db, handoff_id, "accept")
    with Session(db) as session:
        assert find_open_handoff(session, "carla@acme-buyer.com", REP) is None


def test_notes_are_trimmed_cleaned_and_capped():
    assert clean_text(" a\r\nb\x00c\u202e ") == "a\nbc"
    assert clean_text("x" * 600) == "x" * 500
    assert clean_text(" \x07 ") is None and clean_text(None) is None


def test_reject_reasons_are_in_form_order():
    assert list(REJECT_REASONS) == ["no-budget", "no-authority", "no-need", "bad-timing", "not-a-fit", "duplicate", "other"]


def test_the_configured_secret_key_is_used(db):
    with unit_of_work(db) as session:
        assert link_secret(session, Settings(secret_key="configured")) == "configured"
        assert session.get(AppSecret, LINK_SECRET_NAME) is None


def test_without_a_secret_key_one_is_generated_once_and_kept(db):
    settings = Settings(secret_key=None)
    with unit_of_work(db) as session:
        first = link_secret(session, settings)
    with unit_of_work(db) as session:
        assert link_secret(session, settings) == first
    assert len(first) >= 40


def test_losing_the_race_to_store_the_secret_reads_the_winners(db):
    settings = Settings(secret_key=None)
    with unit_of_work(db) as session:
        add_scored_lead(session, "kept@buyer.example")
        real_get = session.get
        calls = []

        def get_racing(model, key, **options):
            # The first read misses; by then another process has stored its key.
            calls.append(key)
            if len(calls) == 1:
                session.execute(AppSecret.__table__.insert().values(name=LINK_SECRET_NAME, value="winner"))
                return None
            return real_get(model, key, **options)

        session.get = get_racing
        assert link_secret(session, settings) == "winner"
    with Session(db) as session:  # the caller's own work survived the lost race
        assert session.get(Lead, 1).email == "kept@buyer.example"


def test_handoff_links_carry_the_handoff_and_rep():
    accept, reject = handoff_links(7, REP, "s3cret", "http://links.test/", T0 + timedelta(days=3))
    assert accept.startswith("http://links.test/handoff/") and accept.endswith("?action=accept")
    token = accept.split("/handoff/")[1].split("?")[0]
    assert reject == f"http://links.test/handoff/{token}?action=reject"
    link = read_handoff_link(token, "s3cret", T0)
    assert (link.handoff_id, link.rep_email) == (7, REP)
    with pytest.raises(LinkInvalid):
        read_handoff_link(token, "other-secret", T0)
