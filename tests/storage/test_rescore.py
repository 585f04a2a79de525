"""Rescoring every lead at one `as_of` (the scheduled decay rescore and `leadrelay rescore`) on
SQLite and PostgreSQL: decay drops tiers, history only where something changed, nurtured leads
stay nurtured, open handoffs stay with their rep, and a crashed run resumes without redoing work."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.models import Handoff, Lead, LeadEvent, RescoreRun
from leadrelay.scoring import rescore as rescore_module
from leadrelay.scoring.rescore import rescore_all, rescore_next_batch, start_or_resume
from tests.factories import REPO, T0, add_handoff, enrollments_of, events_of
from tests.support.scored_leads import scored_lead

RULES = load_rules(REPO / "config").scoring
THEN = T0 - timedelta(days=60)
VP_WITH_BUDGET = dict(title="VP Sales", budget_usd=60000)  # fit 18 + 20 = 38


def scored(session, email, stage, events=(), **facts):
    return scored_lead(session, email, stage, RULES, THEN, events, **facts)


def seed(engine):
    """Leads of every kind the rescore must tell apart; returns their ids by name."""
    with unit_of_work(engine) as session:
        leads = {
            # hot two months ago (38 fit + 30 demo request), accepted, nothing since: warm now
            "accepted": scored(session, "acc@x.example", "sal", [("demo_request", 0)], **VP_WITH_BUDGET),
            # warm then and warm now (38 + 4 -> 38 + 1): nothing to write
            "steady": scored(session, "steady@x.example", "nurturing", [("email_click", 0)], **VP_WITH_BUDGET),
            # warm then (18 + 20), cold now: stays nurtured
            "nurtured": scored(session, "nina@x.example", "nurturing",
                               [("webinar_attended", 0), ("webinar_attended", 1)], title="VP Sales"),
            # an MQL a rep holds, below the threshold now: stays an MQL with its handoff
            "held": scored(session, "held@x.example", "mql", [("demo_request", 0)], **VP_WITH_BUDGET),
            # an MQL nobody took, below the threshold now: back to nurturing
            "unrouted": scored(session, "unrouted@x.example", "mql", [("demo_request", 0)], **VP_WITH_BUDGET),
            # final and waiting leads are not the rescore's
            "won": scored(session, "won@x.example", "won", [("demo_request", 0)], **VP_WITH_BUDGET),
        }
        waiting = scored(session, "new@x.example", "new", [("demo_request", 0)], **VP_WITH_BUDGET)
        waiting.needs_scoring = True
        leads["waiting"] = waiting
        add_handoff(session, leads["held"], created_at=THEN)
        return {name: lead.id for name, lead in leads.items()}


def lead_row(engine, lead_id):
    with unit_of_work(engine) as session:
        return session.get(Lead, lead_id)


def rescored_events(engine, lead_id):
    return [e for e in events_of(engine, lead_id) if e.kind == "rescored"]


def test_the_decay_rescore_drops_tiers_and_writes_history_only_where_something_changed(engine):
    ids = seed(engine)
    assert lead_row(engine, ids["accepted"]).tier == "hot"
    summary = rescore_all(engine, RULES, "decay", T0, T0, batch_size=2, actor="flow:rescore")

    accepted = lead_row(engine, ids["accepted"])
    assert (accepted.tier, accepted.score_total, accepted.stage, accepted.scored_at) == ("warm", 42, "sal", T0)
    [event] = rescored_events(engine, ids["accepted"])
    assert event.detail["previous_tier"] == "hot" and event.detail["tier"] == "warm"
    assert event.actor == "flow:rescore" and event.at == T0

    steady = lead_row(engine, ids["steady"])
    assert (steady.tier, steady.score_total, steady.scored_at) == ("warm", 42, THEN)  # untouched
    assert rescored_events(engine, ids["steady"]) == []
    for name in ("won", "waiting"):
        assert lead_row(engine, ids[name]).tier == "hot" and events_of(engine, ids[name]) == []
    assert summary.totals["written"] == 4 and summary.totals["to_nurturing"] == 1


def test_a_nurtured_lead_that_decays_stays_nurtured_on_its_track(engine):
    ids = seed(engine)
    rescore_all(engine, RULES, "decay", T0, T0, batch_size=100, actor="flow:rescore")
    nurtured = lead_row(engine, ids["nurtured"])
    assert (nurtured.stage, nurtured.tier) == ("nurturing", "cold")
    assert [e.kind for e in events_of(engine, ids["nurtured"])] == ["rescored"]


def test_decay_never_withdraws_an_open_handoff_but_recycles_an_mql_nobody_took(engine):
    ids = seed(engine)
    rescore_all(engine, RULES, "decay", T0, T0, batch_size=100, actor="flow:rescore")
    held = lead_row(engine, ids["held"])
    assert (held.stage, held.tier) == ("mql", "warm")
    with unit_of_work(engine) as session:
        assert session.scalars(select(Handoff.status).where(Handoff.lead_id == ids["held"])).all() == ["open"]
    [event] = rescored_events(engine, ids["held"])
    assert "open handoff" in event.detail["kept"]

    unrouted = lead_row(engine, ids["unrouted"])
    assert unrouted.stage == "nurturing"
    assert [e.kind for e in events_of(engine, ids["unrouted"])] == ["rescored", "stage_changed"]
    assert [(e.status, e.reason) for e in enrollments_of(engine, ids["unrouted"])] == [("active", "unqualified")]


def test_rescoring_again_at_the_same_time_changes_nothing(engine):
    ids = seed(engine)
    rescore_all(engine, RULES, "decay", T0, T0, batch_size=100, actor="flow:rescore")
    with unit_of_work(engine) as session:
        before = session.scalars(select(LeadEvent.id)).all()
    again = rescore_all(engine, RULES, "full", T0, T0, batch_size=100, actor="cli:rescore")
    with unit_of_work(engine) as session:
        after = session.scalars(select(LeadEvent.id)).all()
    # full mode writes the steady lead's small drift (42 -> 39) and nothing else
    assert again.totals["written"] == 1 and len(after) == len(before) + 1
    assert lead_row(engine, ids["steady"]).score_total == 39


def test_a_crashed_run_resumes_after_its_last_finished_batch(engine, monkeypatch):
    ids = seed(engine)
    with unit_of_work(engine) as session:
        run, resumed = start_or_resume(session, "full", RULES, T0, T0)
        run_id = run.id
    assert not resumed
    with unit_of_work(engine) as session:
        first = rescore_next_batch(session, run_id, RULES, 2, "cli:rescore")
    assert first.claimed == 2

    real = rescore_module.apply_transitions

    def crash(*args, **kwargs):
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(rescore_module, "apply_transitions", crash)
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as session:
            rescore_next_batch(session, run_id, RULES, 2, "cli:rescore")
    monkeypatch.setattr(rescore_module, "apply_transitions", real)

    summary = rescore_all(engine, RULES, "full", T0, T0, batch_size=2, actor="cli:rescore")
    # the first batch (accepted, steady) committed; the crashed one rolled back whole
    assert (summary.resumed, summary.run_id, summary.resumed_after) == (True, run_id, ids["steady"])
    with unit_of_work(engine) as session:
        run = session.get(RescoreRun, run_id)
        assert run.status == "finished"
        # every lead of the population read exactly once: nothing redone
        assert run.counts["claimed"] == 5
    for name in ("accepted", "steady", "nurtured", "held", "unrouted"):
        assert len(rescored_events(engine, ids[name])) == 1, name


def test_a_new_config_or_time_starts_a_new_run_and_abandons_the_old(engine):
    seed(engine)
    with unit_of_work(engine) as session:
        old, _ = start_or_resume(session, "full", RULES, T0, T0)
    changed = RULES.model_copy(update={"mql_threshold": 50})
    with unit_of_work(engine) as session:
        new, resumed = start_or_resume(session, "full", changed, T0, T0)
        assert not resumed and new.id != old.id
    with unit_of_work(engine) as session:
        assert session.get(RescoreRun, old.id).status == "abandoned"
        # no as_of given: a run acting within the last hours is resumed, an older one is not
        again, resumed = start_or_resume(session, "full", changed, None, T0 + timedelta(hours=1))
        assert resumed and again.id == new.id
        later, resumed = start_or_resume(session, "full", changed, None, T0 + timedelta(days=1))
        assert not resumed and later.as_of == T0 + timedelta(days=1)


def test_a_lower_threshold_makes_nurtured_leads_mqls(engine):
    ids = seed(engine)
    lower = RULES.model_copy(update={"mql_threshold": 39})  # steady is 39 now, nurtured 21
    summary = rescore_all(engine, lower, "full", T0, T0, batch_size=100, actor="cli:rescore")
    assert lead_row(engine, ids["steady"]).stage == "mql"
    assert lead_row(engine, ids["nurtured"]).stage == "nurturing"
    assert summary.totals["to_mql"] == 1


def test_a_lead_a_rep_rejected_is_not_handed_back_for_still_scoring_over_the_threshold(engine):
    from leadrelay.models import NurtureEnrollment

    with unit_of_work(engine) as session:
        # hot yesterday (38 fit + a fresh demo request), rejected by a rep for bad timing
        rejected = scored_lead(session, "rej@x.example", "nurturing", RULES, T0 - timedelta(days=1),
                               [("demo_request", 0)], **VP_WITH_BUDGET)
        session.add(NurtureEnrollment(lead_id=rejected.id, reason="rejected:bad-timing", entered_at=T0,
                                      next_due_at=T0))
        lead_id = rejected.id
    summary = rescore_all(engine, RULES, "full", T0, T0, batch_size=100, actor="cli:rescore")
    lead = lead_row(engine, lead_id)
    assert (lead.stage, lead.score_total, lead.tier) == ("nurturing", 67, "hot")
    assert [e.kind for e in events_of(engine, lead_id)] == ["rescored"]
    assert summary.totals["to_mql"] == 0
