"""Cooldown arithmetic after a rep's rejection, and the `rejections` block of routing.yaml."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadrelay.config.rules import ConfigError, load_rules
from leadrelay.handoff.cooldown import (
    Rejection,
    RejectionRules,
    code_of,
    cooldown_ends_at,
    hand_back_reason,
    reps_to_avoid,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
AT = datetime(2026, 11, 6, 16, 0, tzinfo=timezone.utc)  # a Friday
RULES = RejectionRules.model_validate({"engagement_rise": 15, "default_cooldown_days": 7, "reasons": {
    "bad-timing": {"cooldown_days": 30}, "No authority": {"cooldown_days": 0, "another_rep": True}}})


def rejection(reason="bad-timing", engagement_then=10, rep="Anna@Example.com") -> Rejection:
    return Rejection(lead_id=1, handoff_id=2, rep_email=rep, reason=reason, note=None, answered_at=AT,
                     score_then=70, engagement_then=engagement_then)


def test_bad_timing_waits_its_days_to_the_second():
    assert cooldown_ends_at(rejection(), RULES) == AT + timedelta(days=30)
    assert hand_back_reason(rejection(), 13, AT + timedelta(days=3), RULES) is None  # one click: still waiting
    assert hand_back_reason(rejection(), 13, AT + timedelta(days=30, seconds=-1), RULES) is None
    assert hand_back_reason(rejection(), 13, AT + timedelta(days=30), RULES) == "its 30-day cooldown is over"


def test_an_engagement_rise_of_the_configured_amount_ends_it_early():
    assert hand_back_reason(rejection(), 24, AT + timedelta(days=3), RULES) is None  # +14
    assert "rose by 15 points" in hand_back_reason(rejection(), 25, AT + timedelta(days=3), RULES)
    # An old rejection with no engagement recorded: only time ends it.
    assert hand_back_reason(rejection(engagement_then=None), 500, AT + timedelta(days=3), RULES) is None


def test_a_zero_day_reason_hands_back_at_once_to_another_rep():
    no_authority = rejection("no-authority")
    assert hand_back_reason(no_authority, 10, AT, RULES) == "no cooldown applies to this reason"
    assert reps_to_avoid(no_authority, RULES) == {"anna@example.com"}
    assert reps_to_avoid(rejection(), RULES) == set() and reps_to_avoid(None, RULES) == set()


def test_an_unlisted_reason_waits_the_default_and_codes_read_from_the_handoff():
    assert cooldown_ends_at(rejection("no-need"), RULES) == AT + timedelta(days=7)
    assert code_of("rejected:bad-timing") == "bad-timing" and code_of(None) == "other"


def test_no_configuration_still_respects_rejections():
    defaults = RejectionRules()
    assert cooldown_ends_at(rejection(), defaults) == AT + timedelta(days=30)
    assert reps_to_avoid(rejection("no-authority"), defaults) == {"anna@example.com"}


@pytest.fixture
def config_copy(tmp_path):
    for path in CONFIG.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_shipped_routing_file_has_the_cooldowns():
    rules = load_rules(CONFIG).routing.rejections
    assert rules.rule_for("bad-timing").cooldown_days == 30 and rules.rule_for("no-authority").another_rep


@pytest.mark.parametrize("old, new, expected", [
    ("    bad-timing: {cooldown_days: 30}", "    bad-timng: {cooldown_days: 30}",
     "routing.yaml: rejections.reasons: unknown reject reason 'bad-timng'; use one of no-budget,"),
    ("    bad-timing: {cooldown_days: 30}", "    bad-timing: {cooldown_days: -1}",
     "routing.yaml: rejections.reasons.bad-timing.cooldown_days: Input should be greater than or equal to 0"),
    ("    bad-timing: {cooldown_days: 30}", "    bad-timing: {cooldown: 30}",
     "routing.yaml: rejections.reasons.bad-timing.cooldown: unknown key (check its spelling)"),
    ("  engagement_rise: 15", "  engagement_rise: lots",
     "routing.yaml: rejections.engagement_rise: Input should be a valid integer"),
])
def test_a_broken_rejections_block_names_the_file_and_key(config_copy, old, new, expected):
    path = config_copy / "routing.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_rules(config_copy)
    assert expected in str(error.value)


@pytest.mark.parametrize("value, expected", [
    ("0", "sla.yaml: recycle_escalated_after_hours: Input should be greater than 0"),
    ("soon", "sla.yaml: recycle_escalated_after_hours: Input should be a valid number"),
])
def test_a_broken_escalation_recycle_time_names_the_file_and_key(config_copy, value, expected):
    path = config_copy / "sla.yaml"
    text = path.read_text()
    assert "recycle_escalated_after_hours: 72" in text
    path.write_text(text.replace("recycle_escalated_after_hours: 72", f"recycle_escalated_after_hours: {value}"))
    with pytest.raises(ConfigError) as error:
        load_rules(config_copy)
    assert expected in str(error.value)


def test_without_the_key_escalations_recycle_after_three_days(config_copy):
    path = config_copy / "sla.yaml"
    path.write_text(path.read_text().replace("recycle_escalated_after_hours: 72", ""))
    assert load_rules(config_copy).sla.recycle_escalated_after_hours == 72
