"""Routing: rules from routing.yaml applied to the reps of reps.yaml, as pure functions."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from leadrelay.business_hours import WorkingHours
from leadrelay.handoff.routing import RepLoad, RouteDecision, route_batch, route_to_rep
from leadrelay.handoff.routing_rules import RepsConfig, RoutingRules, check_routing_against_reps

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# Tuesday 2025-03-04 10:00 UTC: 11:00 in Berlin, 05:00 in New York, 19:00 in Tokyo.
TUESDAY_MORNING_UTC = datetime(2025, 3, 4, 10, 0, tzinfo=timezone.utc)
# Tuesday 2025-03-04 20:00 UTC: 21:00 in Berlin, after everyone's day in Europe.
TUESDAY_EVENING_UTC = datetime(2025, 3, 4, 20, 0, tzinfo=timezone.utc)

OFFICE_HOURS = {"start": "09:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


def rep(email: str, **overrides) -> dict:
    """A rep entry as it would appear in reps.yaml, with sensible defaults."""
    entry = {"email": email, "name": email.split("@")[0].title(), "timezone": "Europe/Berlin", "capacity": 100}
    entry.update(overrides)
    return entry


def make_reps(*entries: dict, fallback: str | None = "queue@example.com") -> RepsConfig:
    return RepsConfig.model_validate({"reps": list(entries), "fallback": fallback})


def make_rules(*rules: dict, **settings) -> RoutingRules:
    return RoutingRules.model_validate({"rules": list(rules), **settings})


def route(lead, rules, reps, loads=None, as_of=TUESDAY_MORNING_UTC, **kwargs) -> RouteDecision:
    return route_to_rep(lead, rules, reps, loads or {}, as_of, **kwargs)


THREE_REPS = make_reps(rep("a@example.com"), rep("b@example.com"), rep("c@example.com"))
ONE_POOL = make_rules({"name": "everyone", "pool": ["a@example.com", "b@example.com", "c@example.com"]})


# --- matching ---------------------------------------------------------------------------------


REGIONAL_RULES = make_rules(
    {"name": "enterprise", "when": {"company_size": {"min": 1000}}, "pool": ["a@example.com"]},
    {"name": "dach-software", "when": {"country": ["DE", "AT", "CH"], "industry": ["software", "saas"]}, "pool": ["b@example.com"]},
    {"name": "mid-band", "when": {"company_size": {"min": 200, "max": 999}}, "pool": ["b@example.com"]},
    {"name": "strategic", "when": {"attributes.segment": ["strategic"]}, "pool": ["c@example.com"]},
    {"name": "catch-all", "pool": ["c@example.com"]},
)


@pytest.mark.parametrize(
    ("lead", "expected_rule"),
    [
        ({"country": "DE", "industry": "software", "company_size": 5000}, "enterprise"),  # first match wins
        ({"country": "de", "industry": "SaaS", "company_size": 50}, "dach-software"),  # case-insensitive
        ({"country": " AT ", "industry": "software"}, "dach-software"),  # spaces ignored
        ({"country": "DE", "industry": "retail", "company_size": 50}, "catch-all"),  # all conditions must hold
        ({"country": "FR", "company_size": 200}, "mid-band"),  # range bounds are inclusive
        ({"country": "FR", "company_size": 999}, "mid-band"),
        ({"country": "FR", "company_size": "1,200"}, "enterprise"),  # numbers from CSV text
        ({"country": "FR", "company_size": "unknown"}, "catch-all"),  # not a number: outside every range
        ({"country": "FR", "attributes": {"segment": "Strategic"}}, "strategic"),
        ({"country": "FR", "attributes": {"Segment": "strategic"}}, "strategic"),  # CSV header case
        ({"country": "FR", "attributes": {"segment": ["smb", "strategic"]}}, "strategic"),  # any item of a list
        ({}, "catch-all"),
    ],
)
def test_first_matching_rule_decides(lead, expected_rule):
    assert route(lead, REGIONAL_RULES, THREE_REPS).rule == expected_rule


def test_enum_and_float_lead_values_compare_by_value():
    class Tier(str, Enum):
        HOT = "hot"

    rules = make_rules(
        {"name": "hot-3m", "when": {"tier": ["hot"], "timeframe_months": [3]}, "pool": ["a@example.com"]},
        {"name": "catch-all", "pool": ["b@example.com"]},
    )
    assert route({"tier": Tier.HOT, "timeframe_months": 3.0}, rules, THREE_REPS).rule == "hot-3m"


def test_single_value_condition_reads_as_a_list_of_one():
    rules = make_rules({"name": "germany", "when": {"country": "DE"}, "pool": ["a@example.com"]})
    assert rules.rules[0].when["country"] == ["DE"]
    assert route({"country": "de"}, rules, THREE_REPS).rule == "germany"


def test_no_rule_matching_goes_to_the_fallback():
    rules = make_rules({"name": "dach", "when": {"country": ["DE"]}, "pool": ["a@example.com"]})
    decision = route({"country": "BR"}, rules, THREE_REPS)
    assert decision == RouteDecision(
        rep_email="queue@example.com",
        rule="fallback",
        pool=(),
        strategy="fallback",
        reason="no rule matched; sent to the fallback queue@example.com",
        fallback=True,
    )


def test_without_a_fallback_the_lead_stays_unassigned():
    reps = make_reps(rep("a@example.com"), fallback=None)
    rules = make_rules({"name": "dach", "when": {"country": ["DE"]}, "pool": ["a@example.com"]})
    decision = route({"country": "BR"}, rules, reps)
    assert decision.rep_email is None and decision.fallback
    assert "no fallback" in decision.reason


# --- strategies -------------------------------------------------------------------------------


def test_round_robin_rotates_evenly_within_a_batch():
    decisions = route_batch([{"country": "DE"}] * 12, ONE_POOL, THREE_REPS, {}, TUESDAY_MORNING_UTC)
    picked = [decision.rep_email for decision in decisions]
    assert picked == ["a@example.com", "b@example.com", "c@example.com"] * 4
    assert decisions[0].reason == "matched rule 'everyone'; round robin picked the least recently assigned of 3 available reps"


def test_round_robin_starts_with_the_least_recently_assigned():
    loads = {
        "a@example.com": RepLoad(0, TUESDAY_MORNING_UTC - timedelta(hours=1)),
        "b@example.com": RepLoad(0, TUESDAY_MORNING_UTC - timedelta(hours=3)),
        "c@example.com": RepLoad(0, TUESDAY_MORNING_UTC - timedelta(hours=2)),
    }
    picked = [d.rep_email for d in route_batch([{}] * 4, ONE_POOL, THREE_REPS, loads, TUESDAY_MORNING_UTC)]
    assert picked == ["b@example.com", "c@example.com", "a@example.com", "b@example.com"]


def test_never_assigned_rep_goes_before_anyone_assigned():
    loads = {"a@example.com": RepLoad(0, TUESDAY_MORNING_UTC - timedelta(days=300)), "b@example.com": RepLoad(0, None)}
    reps = make_reps(rep("a@example.com"), rep("b@example.com"))
    rules = make_rules({"name": "pair", "pool": ["a@example.com", "b@example.com"]})
    assert route({}, rules, reps, loads).rep_email == "b@example.com"


def test_weighted_shares_leads_by_weight():
    reps = make_reps(rep("heavy@example.com", weight=2), rep("light@example.com", weight=1))
    rules = make_rules({"name": "pair", "pool": ["heavy@example.com", "light@example.com"]}, strategy="weighted")
    decisions = route_batch([{}] * 30, rules, reps, {}, TUESDAY_MORNING_UTC)
    counts = Counter(decision.rep_email for decision in decisions)
    assert abs(counts["heavy@example.com"] - 20) <= 1
    assert abs(counts["light@example.com"] - 10) <= 1
    assert decisions[0].strategy == "weighted"
    assert "fewest open handoffs per weight" in decisions[0].reason


def test_weighted_prefers_the_lowest_load_per_weight():
    reps = make_reps(rep("heavy@example.com", weight=3), rep("light@example.com", weight=1))
    rules = make_rules({"name": "pair", "pool": ["heavy@example.com", "light@example.com"], "strategy": "weighted"})
    loads = {"heavy@example.com": RepLoad(5), "light@example.com": RepLoad(2)}  # 5/3 < 2/1
    assert route({}, rules, reps, loads).rep_email == "heavy@example.com"


# --- who can take a lead ----------------------------------------------------------------------


def test_rep_at_capacity_is_skipped():
    reps = make_reps(rep("a@example.com", capacity=2), rep("b@example.com", capacity=2), rep("c@example.com"))
    loads = {"a@example.com": RepLoad(2), "b@example.com": RepLoad(1)}
    decision = route({}, ONE_POOL, reps, loads)
    assert decision.rep_email == "b@example.com"
    assert decision.reason.endswith("; skipped 1 at capacity")


def test_capacity_holds_within_a_batch():
    reps = make_reps(rep("a@example.com", capacity=1), rep("b@example.com", capacity=1), rep("c@example.com", capacity=1))
    decisions = route_batch([{}] * 4, ONE_POOL, reps, {}, TUESDAY_MORNING_UTC)
    assert [d.rep_email for d in decisions] == ["a@example.com", "b@example.com", "c@example.com", "queue@example.com"]
    assert decisions[3].fallback


def test_everyone_at_capacity_goes_to_the_fallback_with_the_reason():
    reps = make_reps(rep("a@example.com", capacity=1), rep("b@example.com", capacity=1), rep("c@example.com", capacity=1))
    loads = {email: RepLoad(1) for email in ("a@example.com", "b@example.com", "c@example.com")}
    decision = route({}, ONE_POOL, reps, loads)
    assert decision.rep_email == "queue@example.com"
    assert decision.fallback and decision.rule == "fallback"
    assert decision.pool == ("a@example.com", "b@example.com", "c@example.com")
    assert decision.reason == (
        "matched rule 'everyone' but none of its 3 reps could take the lead (3 at capacity); "
        "sent to the fallback queue@example.com"
    )


def test_out_of_office_rep_is_skipped():
    reps = make_reps(rep("a@example.com", out_of_office=True), rep("b@example.com"), rep("c@example.com"))
    decision = route({}, ONE_POOL, reps)
    assert decision.rep_email == "b@example.com"
    assert "skipped 1 out of office" in decision.reason


def test_out_of_office_until_is_the_last_day_away():
    away_until_today = make_reps(
        rep("a@example.com", out_of_office=True, out_of_office_until=date(2025, 3, 4)), rep("b@example.com"), rep("c@example.com")
    )
    back_today = make_reps(
        rep("a@example.com", out_of_office=True, out_of_office_until=date(2025, 3, 3)), rep("b@example.com"), rep("c@example.com")
    )
    assert route({}, ONE_POOL, away_until_today).rep_email == "b@example.com"
    assert route({}, ONE_POOL, back_today).rep_email == "a@example.com"


def test_outside_working_hours_is_skipped_only_for_configured_tiers():
    reps = make_reps(
        rep("berlin@example.com", working_hours=OFFICE_HOURS),
        rep("newyork@example.com", timezone="America/New_York", working_hours=OFFICE_HOURS),
    )
    rules = make_rules(
        {"name": "pair", "pool": ["berlin@example.com", "newyork@example.com"]},
        skip_outside_working_hours_for=["HOT"],
    )
    # 20:00 UTC: 21:00 in Berlin (gone home), 15:00 in New York (at work).
    hot = route({"tier": "hot"}, rules, reps, as_of=TUESDAY_EVENING_UTC)
    assert hot.rep_email == "newyork@example.com"
    assert hot.reason.endswith("; skipped 1 outside working hours")
    warm = route({"tier": "warm"}, rules, reps, as_of=TUESDAY_EVENING_UTC)
    assert warm.rep_email == "berlin@example.com"


def test_rep_without_working_hours_counts_as_always_working():
    reps = make_reps(rep("a@example.com"), rep("b@example.com", working_hours=WorkingHours(**OFFICE_HOURS)))
    rules = make_rules({"name": "pair", "pool": ["b@example.com", "a@example.com"]}, skip_outside_working_hours_for=["hot"])
    loads = {"a@example.com": RepLoad(0, TUESDAY_EVENING_UTC)}  # b would be first in round robin
    assert route({"tier": "hot"}, rules, reps, loads, as_of=TUESDAY_EVENING_UTC).rep_email == "a@example.com"


def test_reasons_count_every_kind_of_skip():
    reps = make_reps(
        rep("a@example.com", capacity=1),
        rep("b@example.com", out_of_office=True),
        rep("c@example.com", working_hours=OFFICE_HOURS),
        rep("d@example.com"),
        rep("e@example.com"),
    )
    rules = make_rules(
        {"name": "all", "pool": ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"]},
        skip_outside_working_hours_for=["hot"],
    )
    decision = route(
        {"tier": "hot"}, rules, reps, {"a@example.com": RepLoad(1)}, as_of=TUESDAY_EVENING_UTC, exclude={"d@example.com"}
    )
    assert decision.rep_email == "e@example.com"
    assert decision.reason == (
        "matched rule 'all'; the only available rep in the pool; skipped 1 who already had this lead, "
        "1 out of office, 1 at capacity, 1 outside working hours"
    )


def test_excluded_reps_are_never_chosen():
    decision = route({}, ONE_POOL, THREE_REPS, exclude={"A@example.com"})
    assert decision.rep_email == "b@example.com"
    everyone_had_it = route({}, ONE_POOL, THREE_REPS, exclude={"a@example.com", "b@example.com", "c@example.com"})
    assert everyone_had_it.fallback and "3 who already had this lead" in everyone_had_it.reason


def test_batch_excludes_apply_per_lead():
    decisions = route_batch(
        [{}, {}], ONE_POOL, THREE_REPS, {}, TUESDAY_MORNING_UTC, excludes=[{"a@example.com"}, set()]
    )
    assert [d.rep_email for d in decisions] == ["b@example.com", "a@example.com"]


# --- account ownership ------------------------------------------------------------------------


OWNERSHIP_RULES = make_rules(
    {"name": "everyone", "pool": ["a@example.com", "b@example.com", "c@example.com"]}, account_ownership=True
)


def test_account_owner_wins():
    decision = route({}, OWNERSHIP_RULES, THREE_REPS, account_owner="C@Example.com")
    assert decision == RouteDecision(
        rep_email="c@example.com",
        rule="account-owner",
        pool=("c@example.com",),
        strategy="account-owner",
        reason="the account is owned by c@example.com, who is available and under capacity",
        fallback=False,
    )


def test_account_owner_at_capacity_falls_back_to_the_rules_and_says_so():
    reps = make_reps(rep("a@example.com"), rep("b@example.com"), rep("c@example.com", capacity=3))
    decision = route({}, OWNERSHIP_RULES, reps, {"c@example.com": RepLoad(3)}, account_owner="c@example.com")
    assert decision.rep_email == "a@example.com" and decision.rule == "everyone"
    assert decision.reason.startswith("account owner c@example.com is at capacity, so the rules decided: matched rule 'everyone'")


def test_account_owner_who_is_not_a_rep_is_said_so():
    decision = route({}, OWNERSHIP_RULES, THREE_REPS, account_owner="former.rep@example.com")
    assert decision.rule == "everyone"
    assert "former.rep@example.com is not a rep in reps.yaml" in decision.reason


def test_account_owner_ignored_unless_ownership_is_on():
    decision = route({}, ONE_POOL, THREE_REPS, account_owner="c@example.com")
    assert decision.rep_email == "a@example.com" and "owner" not in decision.reason


def test_account_owner_who_already_had_the_lead_is_passed_over():
    decision = route({}, OWNERSHIP_RULES, THREE_REPS, account_owner="c@example.com", exclude={"c@example.com"})
    assert decision.rep_email == "a@example.com"
    assert "already had this lead" in decision.reason


# --- determinism and purity -------------------------------------------------------------------


def test_same_inputs_same_decisions():
    leads = [{"country": c, "company_size": s} for c, s in [("DE", 10), ("US", 5000), ("de", 300), ("BR", None)] * 5]
    loads = {"b@example.com": RepLoad(3, TUESDAY_MORNING_UTC - timedelta(hours=1))}
    first = route_batch(leads, REGIONAL_RULES, THREE_REPS, loads, TUESDAY_MORNING_UTC)
    second = route_batch(leads, REGIONAL_RULES, THREE_REPS, loads, TUESDAY_MORNING_UTC)
    assert first == second


def test_ties_are_broken_by_email_whatever_the_pool_order():
    rules = make_rules({"name": "reversed", "pool": ["c@example.com", "b@example.com", "a@example.com"]})
    assert route({}, rules, THREE_REPS).rep_email == "a@example.com"


def test_batch_does_not_change_the_callers_loads():
    loads = {"a@example.com": RepLoad(1, None)}
    snapshot = dict(loads)
    route_batch([{}] * 5, ONE_POOL, THREE_REPS, loads, TUESDAY_MORNING_UTC)
    assert loads == snapshot


def test_naive_as_of_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        route({}, ONE_POOL, THREE_REPS, as_of=datetime(2025, 3, 4, 10))


def test_naive_last_assigned_at_is_read_as_utc():
    loads = {
        "a@example.com": RepLoad(0, datetime(2025, 3, 4, 9, 0)),  # as SQLite returns it
        "b@example.com": RepLoad(0, datetime(2025, 3, 4, 8, 0, tzinfo=timezone.utc)),
        "c@example.com": RepLoad(0, datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)),
    }
    assert route({}, ONE_POOL, THREE_REPS, loads).rep_email == "b@example.com"


# --- the config files -------------------------------------------------------------------------


def load_yaml(name: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / name).read_text(encoding="utf-8"))


def test_shipped_config_files_load_and_agree():
    reps = RepsConfig.model_validate(load_yaml("reps.yaml"))
    rules = RoutingRules.model_validate(load_yaml("routing.yaml"))
    assert check_routing_against_reps(rules, reps) == []
    assert len(reps.reps) >= 6
    assert all(r.manager and r.working_hours for r in reps.reps)
    assert reps.fallback is not None
    assert rules.rules[-1].when == {}, "the last rule should be the catch-all"


@pytest.mark.parametrize(
    ("lead", "expected_rule"),
    [
        ({"country": "DE", "company_size": 5000}, "enterprise"),
        ({"country": "FR", "attributes": {"segment": "Enterprise"}}, "enterprise-flagged"),
        ({"country": "ch", "company_size": 80}, "dach"),
        ({"country": "US", "company_size": 80}, "north-america"),
        ({"country": "SG"}, "apac"),
        ({"country": "BR"}, "catch-all"),
    ],
)
def test_shipped_rules_route_sample_leads(lead, expected_rule):
    reps = RepsConfig.model_validate(load_yaml("reps.yaml"))
    rules = RoutingRules.model_validate(load_yaml("routing.yaml"))
    decision = route(lead, rules, reps)
    assert decision.rule == expected_rule and not decision.fallback


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ValidationError) as error:
        make_rules({"name": "x", "pool": ["a@example.com"]}, stratgy="weighted")
    assert "stratgy" in str(error.value) and "Extra inputs are not permitted" in str(error.value)
    with pytest.raises(ValidationError, match="capcity"):
        make_reps(rep("a@example.com", capcity=3))


def test_unknown_lead_field_in_a_condition_is_an_error():
    with pytest.raises(ValidationError, match="unknown lead field 'contry'.*attributes.<column>"):
        make_rules({"name": "x", "when": {"contry": ["DE"]}, "pool": ["a@example.com"]})


def test_pool_naming_a_missing_rep_is_reported():
    rules = make_rules({"name": "dach", "pool": ["a@example.com", "jonas@example.com"]})
    assert check_routing_against_reps(rules, THREE_REPS) == [
        "routing.yaml rule 'dach': pool names jonas@example.com, who is not a rep in reps.yaml"
    ]


@pytest.mark.parametrize(
    ("reps_yaml", "message"),
    [
        ({"reps": [rep("a@example.com", timezone="Europe/Berln")]}, "unknown time zone 'Europe/Berln'"),
        ({"reps": [rep("a@example.com", capacity=0)]}, "greater than or equal to 1"),
        ({"reps": [rep("a@example.com"), rep("A@example.com")]}, "listed more than once: a@example.com"),
        ({"reps": [rep("a@example.com", manager="boss@example.com")]}, "manager boss@example.com is not listed under 'managers'"),
        ({"reps": [rep("a@example.com", out_of_office_until="2025-08-15")]}, "set out_of_office: true"),
        ({"reps": [rep("not-an-email")]}, "not a valid email address"),
        ({"reps": [rep("a@example.com", working_hours={"start": "09:00", "end": "17:00", "days": ["mon"], "tz": "x"})]}, "tz"),
    ],
)
def test_bad_reps_config_gives_a_clear_error(reps_yaml, message):
    with pytest.raises(ValidationError, match=message):
        RepsConfig.model_validate(reps_yaml)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "pool": []}, "at least 1 item"),
        ({"name": "x", "when": {"company_size": {"min": 10, "max": 5}}, "pool": ["a@example.com"]}, "min \\(10\\) is greater than max \\(5\\)"),
        ({"name": "x", "when": {"company_size": {"minimum": 10}}, "pool": ["a@example.com"]}, "minimum"),
        ({"name": "x", "when": {"country": [False]}, "pool": ["a@example.com"]}, "in quotes: 'NO'"),
        ({"name": "x", "pool": ["a@example.com", "A@example.com"]}, "more than once"),
        ({"name": "x", "pool": ["a@example.com"], "strategy": "random"}, "'round_robin' or 'weighted'"),
    ],
)
def test_bad_rule_gives_a_clear_error(rule, message):
    with pytest.raises(ValidationError, match=message):
        make_rules(rule)


def test_norway_unquoted_in_yaml_is_caught():
    with pytest.raises(ValidationError, match="'NO'"):
        RoutingRules.model_validate(yaml.safe_load("rules:\n  - name: nordics\n    when: {country: [SE, NO, DK]}\n    pool: [a@example.com]\n"))


def test_duplicate_rule_names_are_an_error():
    with pytest.raises(ValidationError, match="used more than once: same"):
        make_rules({"name": "same", "pool": ["a@example.com"]}, {"name": "same", "pool": ["b@example.com"]})
