"""Rescoring decisions and the simulation summary as plain functions of hand-written leads."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from leadrelay.config.rules import load_rules
from leadrelay.handoff.routing import RepLoad, RouteDecision
from leadrelay.scoring.rescore_decision import DECAY, FULL, rescore_decision, stage_after_rescore
from leadrelay.scoring.score import Score
from leadrelay.scoring.simulate import SimulatedRouting
from leadrelay.scoring.simulation_summary import SimulationSummary
from tests.conftest import REPO

THRESHOLD = 60
AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def score(total: int, tier: str, breakdown=None) -> Score:
    lines = tuple(breakdown if breakdown is not None else [{"rule": "fit", "points": total}])
    return Score(fit=total, engagement=0, total=total, tier=tier, breakdown=lines)


def lead(stage="nurturing", total=50, tier="warm", lead_id=1, breakdown=None, **more):
    return {"id": lead_id, "email": f"l{lead_id}@x.example", "stage": stage, "score_total": total, "tier": tier,
            "fit_score": total, "engagement_score": 0,
            "score_breakdown": breakdown if breakdown is not None else [{"rule": "fit", "points": total}], **more}


def test_decay_within_a_tier_writes_nothing():
    assert rescore_decision(lead(total=50), score(45, "warm"), THRESHOLD, False, DECAY) is None


def test_the_full_rescore_writes_any_change_of_score():
    changed = rescore_decision(lead(total=50), score(45, "warm"), THRESHOLD, False, FULL)
    assert changed is not None and changed.move is None and not changed.tier_changed
    assert rescore_decision(lead(total=50), score(50, "warm"), THRESHOLD, False, FULL) is None
    renamed = score(50, "warm", [{"rule": "renamed", "points": 50}])
    assert rescore_decision(lead(total=50), renamed, THRESHOLD, False, FULL) is not None


def test_a_tier_change_is_written_and_a_nurtured_lead_stays_nurtured():
    rescored = rescore_decision(lead(total=40), score(30, "cold"), THRESHOLD, False, DECAY)
    assert rescored.tier_changed and rescored.move is None and (rescored.old_total, rescored.old_tier) == (40, "warm")


def test_crossing_the_threshold_is_written_even_within_one_tier():
    # a threshold between tier bounds: 55 -> 50 stays warm but stops being over 52
    rescored = rescore_decision(lead(stage="sal", total=55), score(50, "warm"), 52, False, DECAY)
    assert rescored is not None and not rescored.tier_changed and rescored.move is None


@pytest.mark.parametrize("stage, held, expected_move, kept", [
    ("mql", True, None, True),          # a rep holds it: decay never withdraws it
    ("mql", False, "nurturing", False),  # nobody took it: back to nurture
    ("sal", False, None, False),        # sales' stage: never moved by a score
    ("new", False, None, False),        # the pipeline scores new leads first
])
def test_falling_below_the_threshold(stage, held, expected_move, kept):
    move, was_kept = stage_after_rescore(stage, score(42, "warm"), THRESHOLD, held)
    assert (move[0].value if move else None, was_kept) == (expected_move, kept)
    if expected_move:
        assert "fell below the MQL threshold 60" in move[1]


def test_a_nurtured_lead_over_a_lower_threshold_becomes_an_mql():
    rescored = rescore_decision(lead(total=50), score(50, "warm"), 45, False, DECAY)
    assert rescored.move[0].value == "mql"


def test_the_summary_counts_tier_moves_mql_changes_and_reps():
    summary = SimulationSummary(live_threshold=60, new_threshold=50)
    assert summary.add_lead(lead(total=55, lead_id=1), score(55, "warm"), False).value == "mql"
    assert summary.add_lead(lead(stage="mql", total=70, tier="hot", lead_id=2), score(40, "warm"), True) is None
    assert summary.add_lead(lead(stage="mql", total=70, tier="hot", lead_id=3), score(30, "cold"), False).value == "nurturing"
    assert summary.add_lead(lead(total=20, tier="cold", lead_id=4), score(20, "cold"), False) is None
    summary.add_routes([RouteDecision("anna@x.example", "dach", (), "round_robin", "", False),
                        RouteDecision(None, "fallback", (), "fallback", "", True)])
    report = summary.as_dict(AS_OF, "other/")
    assert report["leads"] == 4 and report["score_changed"] == 2
    assert report["tiers"] == {"moved": 2, "moves": {"hot->cold": 1, "hot->warm": 1}}
    assert report["mql"] == {"threshold": {"live": 60, "simulated": 50}, "became": 1, "stopped": 2,
                             "kept_by_open_handoff": 1}
    assert report["stage_moves"] == {"mql->nurturing": 1, "nurturing->mql": 1}
    assert report["handoffs"] == {"total": 2, "by_rep": {"anna@x.example": 1}, "unassigned": 1}


def test_the_summary_keeps_only_the_biggest_movers_with_both_breakdowns():
    summary = SimulationSummary(60, 60, top=2)
    for lead_id, new_total in enumerate([49, 20, 80, 51, 50], start=1):
        summary.add_lead(lead(total=50, lead_id=lead_id), score(new_total, "warm"), False)
    movers = summary.biggest_movers()
    assert [(m["id"], m["change"]) for m in movers] == [(2, -30), (3, 30)]
    assert movers[0]["old"] == {"total": 50, "fit": 50, "engagement": 0, "tier": "warm",
                                "breakdown": [{"rule": "fit", "points": 50}]}
    assert movers[0]["new"]["breakdown"] == [{"rule": "fit", "points": 20}]


def test_simulated_routing_keeps_turning_round_robin_across_batches():
    rules = load_rules(REPO / "config")
    routing = SimulatedRouting(rules, {"emily.chen@example.com": RepLoad(0, AS_OF.replace(year=2025))}, {}, AS_OF)
    views = [{"id": n, "account_id": None, "tier": "warm", "country": "BR"} for n in range(4)]
    reps = [routing.route([view])[0].rep_email for view in views]  # one lead per batch
    # the catch-all pool, never assigned first, then least recently: as one batch of four would go
    assert reps == ["lukas.bauer@example.com", "sophie.martin@example.com", "emily.chen@example.com",
                    "lukas.bauer@example.com"]
    assert routing.loads()["lukas.bauer@example.com"].open_handoffs == 2


def test_routing_batch_by_batch_hands_out_what_one_batch_would():
    from leadrelay.handoff.routing import route_batch

    rules = load_rules(REPO / "config")
    loads = {"anna.schmidt@example.com": RepLoad(3, AS_OF.replace(day=1)), "emily.chen@example.com": RepLoad(1, None)}
    views = [{"id": n, "account_id": None, "tier": "warm", "country": country}
             for n, country in enumerate(["BR", "DE", "US", "DE", "BR", "BR", "US", "DE", "FR", "DE", "US", "BR"])]
    at_once = [d.rep_email for d in route_batch(views, rules.routing, rules.reps, loads, AS_OF)]
    routing = SimulatedRouting(rules, loads, {}, AS_OF)
    batched = [d.rep_email for start in range(0, len(views), 5) for d in routing.route(views[start:start + 5])]
    assert batched == at_once


def test_a_lead_sales_sent_back_to_nurture_is_not_handed_back_for_still_being_over_the_threshold():
    from leadrelay.scoring.rescore_decision import nurtured_for_score

    rejected = nurtured_for_score("rejected:bad-timing")
    assert not rejected and nurtured_for_score("unqualified") and nurtured_for_score(None)
    # rejected at 75, decayed to 70 overnight: still over 60, but it did nothing new
    assert stage_after_rescore("nurturing", score(70, "hot"), THRESHOLD, False, 75, rejected) == (None, False)
    assert rescore_decision(lead(total=75, tier="hot"), score(70, "hot"), THRESHOLD, False, DECAY, rejected) is None
    # a rise across the threshold (new rules) returns it, as new engagement would
    move, _ = stage_after_rescore("nurturing", score(65, "hot"), THRESHOLD, False, 55, rejected)
    assert move[0].value == "mql"
    # nurtured for its score, over a lowered threshold: an MQL
    move, _ = stage_after_rescore("nurturing", score(55, "warm"), 50, False, 55, True)
    assert move[0].value == "mql"
