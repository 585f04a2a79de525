from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadrelay.config.rules import load_rules
from leadrelay.intake.normalise import normalise_lead
from leadrelay.scoring.score import EngagementRules, FitRule, decayed, engagement_lines, fit_lines, score_lead, stage_after_scoring
from tests.factories import buyer, student

RULES = load_rules(Path(__file__).resolve().parents[2] / "config").scoring
AS_OF = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def lead_dict(row):
    data = normalise_lead(row)
    return {"email": data.email, **data.fields, "attributes": data.attributes}


def test_an_obvious_buyer_is_above_the_mql_threshold_with_a_breakdown():
    score = score_lead(lead_dict(buyer()), [], RULES, AS_OF)
    rules = {line["rule"] for line in score.breakdown}
    assert score.total >= RULES.mql_threshold
    assert score.tier == "hot"
    assert {"C-level or founder", "Budget of 50k USD or more", "Buying within 3 months", "Asked for a demo"} <= rules
    assert score.total == sum(line["points"] for line in score.breakdown)


def test_an_obvious_non_buyer_is_below_the_threshold():
    score = score_lead(lead_dict(student()), [], RULES, AS_OF)
    assert score.total < RULES.mql_threshold
    assert score.tier == "cold"
    assert {"rule": "Student or intern", "points": -25} in score.breakdown
    assert {"rule": "No budget", "points": -10} in score.breakdown


def test_only_the_first_matching_rule_of_a_group_counts():
    rules = [
        FitRule(rule="C-level", group="seniority", points=25, when=[{"field": "title", "pattern": r"\bceo\b"}]),
        FitRule(rule="Head of", group="seniority", points=18, when=[{"field": "title", "pattern": "head of"}]),
        FitRule(rule="Any title", points=1, when=[{"field": "title", "missing": False}]),
    ]
    assert fit_lines({"title": "CEO and Head of Sales"}, rules) == [
        {"rule": "C-level", "points": 25}, {"rule": "Any title", "points": 1}]


def test_rules_read_extra_csv_columns_through_attributes():
    rule = FitRule(rule="Enterprise segment", points=7, when=[{"field": "attributes.segment", "one_of": ["Enterprise"]}])
    assert fit_lines({"attributes": {"segment": "enterprise"}}, [rule]) == [{"rule": "Enterprise segment", "points": 7}]
    assert fit_lines({"attributes": {}}, [rule]) == []


def test_engagement_halves_every_half_life():
    assert decayed(40, AS_OF - timedelta(days=14), AS_OF, half_life_days=14) == pytest.approx(20)
    assert decayed(40, AS_OF - timedelta(days=28), AS_OF, half_life_days=14) == pytest.approx(10)
    assert decayed(40, AS_OF + timedelta(days=1), AS_OF, half_life_days=14) == 0


def test_engagement_lines_group_by_kind_and_respect_the_cap():
    rules = EngagementRules(half_life_days=14, max_points=10, points={"email_click": 4, "demo_request": 30})
    events = [("email_click", AS_OF), ("email_click", AS_OF), ("demo_request", AS_OF), ("unknown", AS_OF)]
    lines = engagement_lines(events, rules, AS_OF)
    assert {"rule": "engagement: email click ×2", "points": 8} in lines
    assert {"rule": "engagement capped at 10", "points": -28} in lines
    assert sum(line["points"] for line in lines) == 10


def test_engagement_as_of_a_later_time_scores_less():
    events = [("demo_request", AS_OF - timedelta(days=1))]
    now = score_lead(lead_dict(student()), events, RULES, AS_OF)
    later = score_lead(lead_dict(student()), events, RULES, AS_OF + timedelta(days=60))
    assert later.engagement < now.engagement


def test_stage_moves():
    hot = score_lead(lead_dict(buyer()), [], RULES, AS_OF)
    cold = score_lead(lead_dict(student()), [], RULES, AS_OF)
    assert stage_after_scoring("new", hot, RULES.mql_threshold)[0] == "mql"
    assert stage_after_scoring("new", cold, RULES.mql_threshold)[0] == "nurturing"
    assert stage_after_scoring("nurturing", hot, RULES.mql_threshold)[0] == "mql"
    assert stage_after_scoring("nurturing", cold, RULES.mql_threshold) is None
    assert stage_after_scoring("sal", cold, RULES.mql_threshold) is None
