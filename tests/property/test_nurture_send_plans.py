"""Nurture send plans for any due time, lead time zone, send window, frequency cap and history of
recent sends: the planned time is inside the window in the lead's zone, not before the due time,
and over any cap period ending then there are at most `max_emails` sends counting the planned one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.business_hours import WEEKDAYS
from leadrelay.nurture.guard_rails import FREQUENCY_CAP, OUTSIDE_WINDOW, plan_next_send, plan_send
from leadrelay.nurture.send_window import SendWindow, add_wait, next_send_at
from leadrelay.nurture.sequences import FrequencyCap
from tests.property.strategies import ZONES, as_of_times

WAITS = ["P0D", "PT4H", "P1D", "P3D", "P1W", "P2W", "P1M", "PT90M", "1bd", "3 business days"]


@st.composite
def send_windows(draw) -> SendWindow:
    """config/sequences.yaml shapes: weekdays 09-17, tue-thu 09-11, one day, a minute, all day."""
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    start = draw(st.integers(0, 23 * 60 + 58))
    end = draw(st.integers(start + 1, 23 * 60 + 59))
    return SendWindow(days=days, start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}")


caps = st.builds(FrequencyCap, max_emails=st.integers(1, 5), per_days=st.integers(1, 14))


@st.composite
def recent_sends(draw, before: datetime) -> list[datetime]:
    """Earlier sends to the lead, up to 30 days back, bursts and exact-second repeats included."""
    seconds = draw(st.lists(st.integers(0, 30 * 24 * 3600), max_size=12))
    return [to_utc(before) - timedelta(seconds=s) for s in seconds]


def to_utc(at: datetime) -> datetime:
    return at.astimezone(timezone.utc)


def sends_in_cap_period(sends, at: datetime, cap: FrequencyCap) -> int:
    """Sends in the rolling period (at - per_days, at]; sends after `at` do not exist yet."""
    return sum(1 for s in sends if at - timedelta(days=cap.per_days) < s <= at)


def assert_allowed(plan_at: datetime, due: datetime, tz: str, window: SendWindow, sends, cap: FrequencyCap):
    assert plan_at.utcoffset() == timedelta(0)
    assert plan_at >= due, "planned before it was due"
    assert window.contains(plan_at, tz), "planned outside the send window in the lead's zone"
    assert sends_in_cap_period(sends, plan_at, cap) + 1 <= cap.max_emails, "over the frequency cap"


@settings(max_examples=1000)
@given(data=st.data(), due=as_of_times, tz=st.sampled_from(ZONES), window=send_windows(), cap=caps)
def test_a_planned_send_is_inside_the_window_under_the_cap_and_not_before_it_is_due(data, due, tz, window, cap):
    sends = data.draw(recent_sends(due), label="recent_sends")

    plan = plan_send(due, tz, window, sends, cap)

    assert_allowed(plan.at, due, tz, window, sends, cap)
    # Deferred only when it had to be, and then saying why.
    allowed_at_once = window.contains(due, tz) and sends_in_cap_period(sends, to_utc(due), cap) < cap.max_emails
    assert (plan.at == to_utc(due)) == allowed_at_once
    assert (plan.deferred_by == ()) == allowed_at_once
    assert set(plan.deferred_by) <= {OUTSIDE_WINDOW, FREQUENCY_CAP}


@settings(max_examples=500)
@given(data=st.data(), previous=as_of_times, wait=st.sampled_from(WAITS), tz=st.sampled_from(ZONES),
       window=send_windows(), cap=caps)
def test_the_next_step_waits_then_goes_inside_the_window_under_the_cap(data, previous, wait, tz, window, cap):
    sends = data.draw(recent_sends(previous), label="recent_sends")

    plan = plan_next_send(previous, wait, tz, window, sends, cap)

    due = add_wait(previous, wait, tz)
    assert due >= to_utc(previous)
    assert_allowed(plan.at, due, tz, window, sends, cap)


@settings(max_examples=500)
@given(at=as_of_times, tz=st.sampled_from(ZONES), window=send_windows())
def test_next_send_at_is_the_time_itself_inside_the_window_else_the_next_opening(at, tz, window):
    sent = next_send_at(at, tz, window)

    assert sent >= to_utc(at)
    assert window.contains(sent, tz)
    if window.contains(at, tz):
        assert sent == to_utc(at)
    else:
        # Nothing in between is inside the window: it is the first opening, not a later one.
        assert window.next_opening_after(at, tz) == sent
        assert not window.contains(sent - timedelta(minutes=1), tz) or sent - to_utc(at) < timedelta(minutes=1)
