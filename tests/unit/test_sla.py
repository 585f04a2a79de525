"""SLA rules (config/sla.yaml) and deadline arithmetic in leadrelay.handoff.sla."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
import yaml
from pydantic import ValidationError

from leadrelay.business_hours import WorkingHours
from leadrelay.handoff.sla import SlaRules, TierPolicy, sla_due_at

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
SLA_YAML = Path(__file__).resolve().parents[2] / "config" / "sla.yaml"

OFFICE = WorkingHours(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")


def local(tz: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- sla_due_at, business hours ---------------------------------------------------------------


def test_four_business_hours_from_friday_16_is_monday_12():
    # 1 hour left on Friday (16-17), the other 3 from Monday 09:00.
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 16), 4, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 19, 12)
    assert due == utc(2026, 1, 19, 11)


def test_three_business_hours_from_friday_16_is_monday_11():
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 16), 3, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 19, 11)


def test_friday_16_over_the_march_dst_weekend_is_monday_12_summer_time():
    # Berlin switches to CEST on Sunday 2026-03-29; Monday 12:00 CEST is 10:00 UTC, not 11:00.
    due = sla_due_at(local(BERLIN, 2026, 3, 27, 16), 4, BERLIN, OFFICE, business_hours=True)
    assert due == utc(2026, 3, 30, 10)


def test_result_is_utc_aware():
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 16), 4, BERLIN, OFFICE, business_hours=True)
    assert due.utcoffset() == timedelta(0)
    assert due.tzinfo is not None


def test_start_given_in_utc_is_read_in_the_reps_time_zone():
    # 15:00 UTC is 16:00 in Berlin in January.
    due = sla_due_at(utc(2026, 1, 16, 15), 4, BERLIN, OFFICE, business_hours=True)
    assert due == utc(2026, 1, 19, 11)


def test_start_before_opening_counts_from_opening():
    due = sla_due_at(local(BERLIN, 2026, 1, 13, 7, 30), 2, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 13, 11)


def test_start_after_closing_counts_from_next_morning():
    due = sla_due_at(local(BERLIN, 2026, 1, 13, 18), 1, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 14, 10)


def test_start_on_saturday_counts_from_monday_opening():
    due = sla_due_at(local(BERLIN, 2026, 1, 17, 10), 4, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 19, 13)


def test_fractional_hours_split_across_two_days():
    # 45 minutes on Wednesday (16:15-17:00), 45 minutes on Thursday.
    due = sla_due_at(local(BERLIN, 2026, 1, 14, 16, 15), 1.5, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 15, 9, 45)


def test_deadline_exactly_at_closing_stays_on_the_same_day():
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 13), 4, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 16, 17)


def test_several_full_days():
    # Three 8-hour days from Monday 09:00 end on Wednesday 17:00.
    due = sla_due_at(local(BERLIN, 2026, 1, 12, 9), 24, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 14, 17)


def test_us_dst_change_over_the_weekend():
    # New York moves to EDT on Sunday 2026-03-08. 2 hours on Friday (EST), 6 on Monday (EDT).
    start = local(NEW_YORK, 2026, 3, 6, 15)
    due = sla_due_at(start, 8, NEW_YORK, OFFICE, business_hours=True)
    assert due == utc(2026, 3, 9, 19)  # Monday 15:00 EDT (UTC-4)


def test_working_hours_spanning_the_dst_switch_count_real_hours():
    # 01:00-05:00 local on the night Berlin skips 02:00-03:00 holds only 3 real hours,
    # so 3.5 hours from Sunday 01:00 end at Monday 01:30.
    night_shift = WorkingHours(days=["sun", "mon"], start="01:00", end="05:00")
    due = sla_due_at(local(BERLIN, 2026, 3, 29, 1), 3.5, BERLIN, night_shift, business_hours=True)
    assert due == local(BERLIN, 2026, 3, 30, 1, 30)


def test_weekend_working_days_are_counted_when_configured():
    weekend_rep = WorkingHours(days=["sat", "sun"], start="10:00", end="14:00")
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 12), 5, BERLIN, weekend_rep, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 18, 11)


def test_zero_hours_outside_working_time_is_the_next_opening():
    due = sla_due_at(local(BERLIN, 2026, 1, 17, 10), 0, BERLIN, OFFICE, business_hours=True)
    assert due == local(BERLIN, 2026, 1, 19, 9)


# --- sla_due_at, wall clock -------------------------------------------------------------------


def test_wall_clock_mode_ignores_working_hours():
    due = sla_due_at(local(BERLIN, 2026, 1, 16, 16), 4, BERLIN, OFFICE, business_hours=False)
    assert due == local(BERLIN, 2026, 1, 16, 20)


def test_wall_clock_hours_are_elapsed_hours_across_dst():
    # 24 real hours from Saturday 12:00 CET end at Sunday 13:00 CEST (the night lost an hour).
    due = sla_due_at(local(BERLIN, 2026, 3, 28, 12), 24, BERLIN, OFFICE, business_hours=False)
    assert due == utc(2026, 3, 29, 11)
    assert due == local(BERLIN, 2026, 3, 29, 13)


def test_wall_clock_fractional_hours():
    due = sla_due_at(utc(2026, 1, 16, 10), 0.25, BERLIN, OFFICE, business_hours=False)
    assert due == utc(2026, 1, 16, 10, 15)


# --- sla_due_at, bad input --------------------------------------------------------------------


def test_naive_start_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        sla_due_at(datetime(2026, 1, 16, 16), 4, BERLIN, OFFICE, business_hours=True)


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValueError, match="not an IANA time zone"):
        sla_due_at(utc(2026, 1, 16, 16), 4, "Europe/Atlantis", OFFICE, business_hours=True)


def test_negative_hours_are_rejected():
    with pytest.raises(ValueError, match="negative"):
        sla_due_at(utc(2026, 1, 16, 16), -1, BERLIN, OFFICE, business_hours=False)


# --- SlaRules and config/sla.yaml -------------------------------------------------------------


def valid_rules() -> dict:
    return {
        "default_working_hours": {"start": "08:00", "end": "16:00"},
        "default_working_days": ["mon", "tue", "wed", "thu"],
        "tiers": {
            "hot": {"hours_to_accept": 2, "business_hours": True, "on_breach": "reassign",
                    "max_reassignments": 2, "then": "escalate"},
            "warm": {"hours_to_accept": 8, "business_hours": True, "on_breach": "escalate"},
            "cold": {"hours_to_accept": 48, "business_hours": False, "on_breach": "recycle"},
        },
    }


def test_shipped_config_file_is_valid():
    rules = SlaRules.model_validate(yaml.safe_load(SLA_YAML.read_text()))
    assert rules.policy_for("hot").hours_to_accept == 4
    assert rules.policy_for("hot").on_breach == "reassign"
    assert rules.policy_for("cold").business_hours is False
    assert rules.default_working() == WorkingHours(start="09:00", end="18:00", days=["mon", "tue", "wed", "thu", "fri"])


def test_the_default_working_day_gives_the_documented_example():
    """The handoff issue's example: 4 business hours from Friday 16:00 Berlin end Monday 11:00."""
    rules = SlaRules.model_validate(yaml.safe_load(SLA_YAML.read_text()))
    friday_4pm = pendulum.datetime(2026, 11, 27, 16, 0, tz="Europe/Berlin")
    due = sla_due_at(friday_4pm, 4, "Europe/Berlin", rules.default_working(), business_hours=True)
    assert due == pendulum.datetime(2026, 11, 30, 11, 0, tz="Europe/Berlin")


def test_policy_for_each_tier():
    rules = SlaRules.model_validate(valid_rules())
    assert rules.policy_for("hot").hours_to_accept == 2
    assert rules.policy_for("warm").on_breach == "escalate"
    assert rules.policy_for("cold").business_hours is False


def test_policy_for_unknown_tier():
    rules = SlaRules.model_validate(valid_rules())
    with pytest.raises(ValueError, match="not a lead tier"):
        rules.policy_for("lukewarm")


def test_default_working_builds_working_hours():
    rules = SlaRules.model_validate(valid_rules())
    assert rules.default_working() == WorkingHours(days=["mon", "tue", "wed", "thu"], start="08:00", end="16:00")


def test_missing_defaults_mean_office_hours_monday_to_friday():
    data = valid_rules()
    del data["default_working_hours"], data["default_working_days"]
    assert SlaRules.model_validate(data).default_working() == OFFICE


def test_misspelt_key_is_an_error_naming_it():
    data = valid_rules()
    data["tiers"]["hot"]["hours_to_acept"] = data["tiers"]["hot"].pop("hours_to_accept")
    with pytest.raises(ValidationError) as error:
        SlaRules.model_validate(data)
    assert "hours_to_acept" in str(error.value)


def test_missing_tier_is_an_error():
    data = valid_rules()
    del data["tiers"]["cold"]
    with pytest.raises(ValidationError, match="cold"):
        SlaRules.model_validate(data)


def test_unquoted_yaml_time_gets_a_helpful_message():
    text = "default_working_hours: {start: '09:00', end: 17:00}\n"
    data = valid_rules()
    data.update(yaml.safe_load(text))
    with pytest.raises(ValidationError, match="quoted"):
        SlaRules.model_validate(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours_to_accept": 0}, "greater than 0"),
        ({"hours_to_accept": -4}, "greater than 0"),
        ({"on_breach": "ignore"}, "reassign"),
        ({"max_reassignments": -1}, "greater than or equal to 0"),
        ({"then": "reassign"}, "escalate"),
    ],
)
def test_bad_tier_values(change, message):
    data = valid_rules()
    data["tiers"]["hot"].update(change)
    with pytest.raises(ValidationError, match=message):
        SlaRules.model_validate(data)


def test_max_reassignments_without_reassign_is_an_error():
    with pytest.raises(ValidationError, match="only applies when on_breach is reassign"):
        TierPolicy(hours_to_accept=4, on_breach="escalate", max_reassignments=2)


def test_action_on_breach_reassigns_until_the_limit_then_follows_then():
    policy = TierPolicy(hours_to_accept=4, on_breach="reassign", max_reassignments=2, then="escalate")
    assert [policy.action_on_breach(done) for done in range(4)] == ["reassign", "reassign", "escalate", "escalate"]


def test_action_on_breach_with_no_reassignments_allowed():
    policy = TierPolicy(hours_to_accept=4, on_breach="reassign", max_reassignments=0, then="recycle")
    assert policy.action_on_breach(0) == "recycle"


def test_action_on_breach_for_non_reassigning_tier_is_its_own_action():
    policy = TierPolicy(hours_to_accept=72, business_hours=False, on_breach="recycle")
    assert policy.action_on_breach(0) == "recycle"
    assert policy.action_on_breach(5) == "recycle"


def test_a_deadline_in_the_repeated_hour_of_a_dst_fall_back_is_inside_working_hours():
    # The minimal example tests/property found: hours 00:07-01:07 on the night New York falls back
    # (3 November 2024) last two real hours, so 1 hour from the opening (04:07 UTC) is 05:07 UTC.
    working = WorkingHours(days=["sun"], start="00:07", end="01:07")

    due = sla_due_at(datetime(2024, 11, 3, tzinfo=timezone.utc), 1, "America/New_York", working, business_hours=True)

    assert due == datetime(2024, 11, 3, 5, 7, tzinfo=timezone.utc)
    assert working.contains(due, "America/New_York")
