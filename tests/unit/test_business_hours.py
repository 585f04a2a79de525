"""Working hours and working-time arithmetic in leadrelay.business_hours (what SLA deadlines and
nurture send windows are built on)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from leadrelay.business_hours import WorkingHours, add_business_days, is_working_time

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"

OFFICE = WorkingHours(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")


def local(tz: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- is_working_time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(BERLIN, 2026, 1, 12, 9), True),  # Monday opening is inside
        (local(BERLIN, 2026, 1, 12, 8, 59), False),
        (local(BERLIN, 2026, 1, 12, 16, 59), True),
        (local(BERLIN, 2026, 1, 12, 17), False),  # closing is outside
        (local(BERLIN, 2026, 1, 17, 12), False),  # Saturday
        (utc(2026, 1, 12, 8, 30), True),  # 09:30 in Berlin
        (utc(2026, 1, 12, 16, 30), False),  # 17:30 in Berlin
    ],
)
def test_is_working_time(at, expected):
    assert is_working_time(at, BERLIN, OFFICE) is expected


def test_is_working_time_uses_the_given_time_zone():
    # 16:30 UTC on a Monday is 11:30 in New York (but 17:30 in Berlin); 13:30 UTC is 08:30 there.
    assert is_working_time(utc(2026, 1, 12, 16, 30), NEW_YORK, OFFICE) is True
    assert is_working_time(utc(2026, 1, 12, 13, 30), NEW_YORK, OFFICE) is False


# --- WorkingHours -----------------------------------------------------------------------------


def test_working_hours_accepts_full_and_capitalised_day_names_in_week_order():
    hours = WorkingHours(days=["Friday", "mon", "Wed", "mon"], start="08:30", end="12:00")
    assert hours.days == ["mon", "wed", "fri"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"days": ["mon"], "start": "17:00", "end": "09:00"}, "must be before end"),
        ({"days": ["mon"], "start": "9am", "end": "17:00"}, "HH:MM"),
        ({"days": ["mon"], "start": "09:00", "end": "24:00"}, "HH:MM"),
        ({"days": ["funday"], "start": "09:00", "end": "17:00"}, "not a weekday"),
        ({"days": [], "start": "09:00", "end": "17:00"}, "at least 1"),
        ({"days": ["mon"], "start": "09:00", "end": 1020}, "quoted"),
        ({"days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "UTC"}, "Extra inputs"),
    ],
)
def test_working_hours_rejects_bad_values(fields, message):
    with pytest.raises(ValidationError, match=message):
        WorkingHours(**fields)


# --- add_business_days ------------------------------------------------------------------------


def test_business_days_step_over_the_weekend():
    from datetime import date

    friday, saturday, monday = date(2026, 1, 16), date(2026, 1, 17), date(2026, 1, 19)
    assert add_business_days(friday, 1) == monday
    assert add_business_days(saturday, 1) == monday
    assert add_business_days(friday, 0) == friday
    with pytest.raises(ValueError, match="negative"):
        add_business_days(friday, -1)


def test_the_repeated_hour_of_a_dst_fall_back_is_compared_in_real_time():
    # New York, Sunday 3 November 2024: 01:00-02:00 happens twice. A closing of 01:30 is the
    # later 01:30 (EST, 06:30 UTC), so 01:45 EDT (05:45 UTC, 45 minutes earlier) is still open;
    # a wall-clock comparison ignoring the fold said closed (found by tests/property).
    working = WorkingHours(days=["sun"], start="00:00", end="01:30")

    assert is_working_time(datetime(2024, 11, 3, 5, 45, tzinfo=timezone.utc), "America/New_York", working)
    assert not is_working_time(datetime(2024, 11, 3, 6, 30, tzinfo=timezone.utc), "America/New_York", working)
