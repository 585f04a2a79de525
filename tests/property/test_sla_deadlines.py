"""SLA deadlines for any start time, length, rep time zone and working hours (DST included):
never before the start, inside the rep's working hours (or exactly at a closing), and exactly
the requested amount of working time after the start."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.business_hours import WEEKDAYS, WorkingHours, to_utc
from leadrelay.handoff.sla import sla_due_at

# Real zones with odd offsets and DST rules: half-hour DST (Lord_Howe), 45-minute offsets
# (Chatham, Kathmandu), southern-hemisphere DST, no DST, and a DST change at midnight (Santiago).
ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
         "America/St_Johns", "America/Sao_Paulo", "America/Santiago", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tokyo", "Africa/Cairo"]


@st.composite
def working_hours(draw) -> WorkingHours:
    """Config shapes: mon-fri 09-17, weekends only, one day a week, midnight starts, 23:59 ends.

    At least an hour a day: a minute a week would need decades for a 72-hour SLA, which
    add_working_hours refuses with a ValueError after 20 years by design."""
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    start = draw(st.integers(0, 22 * 60 + 59))
    end = draw(st.integers(start + 60, 23 * 60 + 59))
    return WorkingHours(days=days, start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}")


# Any instant 2024-2030 written in any of the zones (aware; DST transitions included).
as_of_times = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                           timezones=st.sampled_from(ZONES).map(ZoneInfo), allow_imaginary=False)
# DST changes of 2026 (UTC, to the hour or so; the offsets below cover a few days either side):
# Europe, New York, Sydney, Lord Howe (half an hour) and Santiago (at local midnight).
DST_CHANGES = [datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1), datetime(2026, 3, 8, 7),
               datetime(2026, 11, 1, 6), datetime(2026, 4, 4, 16), datetime(2026, 10, 3, 16),
               datetime(2026, 4, 4, 15), datetime(2026, 10, 3, 15, 30), datetime(2026, 4, 5, 3),
               datetime(2026, 9, 6, 4)]
near_dst_changes = st.builds(
    lambda change, minutes, tz: (change.replace(tzinfo=timezone.utc) + timedelta(minutes=minutes)).astimezone(ZoneInfo(tz)),
    st.sampled_from(DST_CHANGES), st.integers(-3 * 24 * 60, 24 * 60), st.sampled_from(ZONES))
as_of_times = st.one_of(as_of_times, near_dst_changes)

# config/sla.yaml uses a few hours to a few days.
hours_to_accept = st.one_of(st.sampled_from([0, 0.25, 1, 4, 8, 24, 48, 72]),
                            st.floats(min_value=0, max_value=72, allow_nan=False, allow_infinity=False))


def _local_days(start: datetime, end: datetime, tz: str):
    day = pendulum.instance(start).in_tz(tz).date() - timedelta(days=1)
    last = pendulum.instance(end).in_tz(tz).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def working_time_between(start: datetime, end: datetime, tz: str, working: WorkingHours) -> timedelta:
    """Time inside the working hours between two instants, summed day by day (the oracle)."""
    total = timedelta()
    for day in _local_days(start, end, tz):
        if working.is_open_on(day):
            opening, closing = to_utc(working.opening_on(day, tz)), to_utc(working.closing_on(day, tz))
            overlap = min(closing, end) - max(opening, start)
            total += max(overlap, timedelta())
    return total


def at_a_closing(at: datetime, tz: str, working: WorkingHours) -> bool:
    day = pendulum.instance(at).in_tz(tz).date()
    return working.is_open_on(day) and to_utc(working.closing_on(day, tz)) == at


@settings(max_examples=1500)
@given(as_of=as_of_times, hours=hours_to_accept, tz=st.sampled_from(ZONES), working=working_hours())
def test_a_business_hours_deadline_is_inside_working_hours_and_never_before_as_of(as_of, hours, tz, working):
    due = sla_due_at(as_of, hours, tz, working, business_hours=True)

    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due >= as_of
    assert working.contains(due, tz) or at_a_closing(due, tz, working)
    # Exactly `hours` of working time lie between as_of and the deadline (to the microsecond's rounding).
    counted = working_time_between(to_utc(as_of), due, tz, working)
    assert abs(counted - timedelta(hours=hours)) <= timedelta(microseconds=2)


@settings(max_examples=200)
@given(as_of=as_of_times, hours=hours_to_accept, tz=st.sampled_from(ZONES), working=working_hours())
def test_a_wall_clock_deadline_is_exactly_the_hours_after_as_of(as_of, hours, tz, working):
    due = sla_due_at(as_of, hours, tz, working, business_hours=False)

    assert due >= as_of
    assert due == as_of.astimezone(timezone.utc) + timedelta(hours=hours)
