"""SLA deadlines for any start time, length, rep time zone and working hours (DST included):
never before the start, inside the rep's working hours (or exactly at a closing), and exactly
the requested amount of working time after the start."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.business_hours import WEEKDAYS, WorkingHours, to_utc
from leadrelay.handoff.sla import sla_due_at
from tests.property.strategies import ZONES, as_of_times


@st.composite
def working_hours(draw) -> WorkingHours:
    """Config shapes: mon-fri 09-17, weekends only, one day a week, midnight starts, 23:59 ends.

    At least an hour a day: a minute a week would need decades for a 72-hour SLA, which
    add_working_hours refuses with a ValueError after 20 years by design."""
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    start = draw(st.integers(0, 22 * 60 + 59))
    end = draw(st.integers(start + 60, 23 * 60 + 59))
    return WorkingHours(days=days, start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}")


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
