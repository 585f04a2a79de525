"""Send windows, waits and lead time zones in leadrelay.nurture.send_window."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ValidationError

from leadrelay.nurture.send_window import (
    SendWindow,
    Wait,
    WaitText,
    add_wait,
    next_send_at,
    parse_wait,
    timezone_for,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"

TUE_TO_THU_MORNINGS = SendWindow(days=["tue", "wed", "thu"], start="09:00", end="11:00")
WEEKDAYS_9_TO_5 = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")


def local(tz: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- next_send_at -----------------------------------------------------------------------------


def test_friday_evening_waits_for_tuesday_opening():
    sent = next_send_at(local(BERLIN, 2026, 1, 16, 19), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent == local(BERLIN, 2026, 1, 20, 9)
    assert sent == utc(2026, 1, 20, 8)


def test_inside_the_window_sends_at_once():
    at = local(BERLIN, 2026, 1, 14, 10, 30)
    assert next_send_at(at, BERLIN, TUE_TO_THU_MORNINGS) == at


def test_result_is_utc_aware():
    sent = next_send_at(local(BERLIN, 2026, 1, 14, 10, 30), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent.utcoffset() == timedelta(0)


def test_at_the_opening_minute_sends_at_once():
    at = local(BERLIN, 2026, 1, 13, 9)
    assert next_send_at(at, BERLIN, TUE_TO_THU_MORNINGS) == at


def test_before_opening_waits_for_the_same_day():
    sent = next_send_at(local(BERLIN, 2026, 1, 13, 7), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent == local(BERLIN, 2026, 1, 13, 9)


def test_at_closing_waits_for_the_next_window_day():
    # The end is exclusive: Wednesday 11:00 is already outside.
    sent = next_send_at(local(BERLIN, 2026, 1, 14, 11), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent == local(BERLIN, 2026, 1, 15, 9)


def test_after_last_window_day_of_the_week_waits_a_week():
    sent = next_send_at(local(BERLIN, 2026, 1, 15, 12), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent == local(BERLIN, 2026, 1, 20, 9)


def test_single_day_window_seen_just_after_it_closes_opens_seven_days_later():
    mondays = SendWindow(days=["mon"], start="10:00", end="10:30")
    sent = next_send_at(local(BERLIN, 2026, 1, 12, 10, 30), BERLIN, mondays)
    assert sent == local(BERLIN, 2026, 1, 19, 10)


def test_window_is_read_in_the_leads_time_zone():
    # 08:30 UTC on Wednesday is 09:30 in Berlin (inside) but 03:30 in New York (before opening).
    at = utc(2026, 1, 14, 8, 30)
    assert next_send_at(at, BERLIN, TUE_TO_THU_MORNINGS) == at
    assert next_send_at(at, NEW_YORK, TUE_TO_THU_MORNINGS) == utc(2026, 1, 14, 14)


def test_us_dst_change_moves_the_utc_opening():
    # Saturday 2026-03-07 is EST; Monday 2026-03-09 09:00 is EDT (UTC-4), so 13:00 UTC.
    sent = next_send_at(local(NEW_YORK, 2026, 3, 7, 12), NEW_YORK, WEEKDAYS_9_TO_5)
    assert sent == utc(2026, 3, 9, 13)


def test_berlin_dst_change_moves_the_utc_opening():
    # Friday 2026-03-27 is CET; Tuesday 2026-03-31 09:00 is CEST (UTC+2), so 07:00 UTC.
    sent = next_send_at(local(BERLIN, 2026, 3, 27, 19), BERLIN, TUE_TO_THU_MORNINGS)
    assert sent == utc(2026, 3, 31, 7)


def test_naive_time_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_send_at(datetime(2026, 1, 16, 19), BERLIN, TUE_TO_THU_MORNINGS)


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValueError, match="not an IANA time zone"):
        next_send_at(utc(2026, 1, 16, 19), "Mars/Olympus_Mons", TUE_TO_THU_MORNINGS)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"days": ["tue"], "start": "11:00", "end": "09:00"}, "must be before end"),
        ({"days": ["someday"], "start": "09:00", "end": "11:00"}, "not a weekday"),
        ({"days": ["tue"], "start": "9", "end": "11:00"}, "HH:MM"),
        ({"days": ["tue"], "start": "09:00", "end": "11:00", "tz": "UTC"}, "Extra inputs"),
    ],
)
def test_send_window_rejects_bad_values(fields, message):
    with pytest.raises(ValidationError, match=message):
        SendWindow(**fields)


# --- parse_wait -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3D", Wait(days=3)),
        ("PT4H", Wait(hours=4)),
        ("P1W", Wait(weeks=1)),
        ("PT90M", Wait(minutes=90)),
        ("P1DT12H", Wait(days=1, hours=12)),
        ("P1Y2M3W4DT5H6M7S", Wait(years=1, months=2, weeks=3, days=4, hours=5, minutes=6, seconds=7)),
        ("p3d", Wait(days=3)),
        (" P3D ", Wait(days=3)),
        ("PT0S", Wait()),
        ("3 business days", Wait(business_days=3)),
        ("1 business day", Wait(business_days=1)),
        ("3bd", Wait(business_days=3)),
        ("3 BD", Wait(business_days=3)),
        ("10  Business  Days", Wait(business_days=10)),
    ],
)
def test_parse_wait_accepts(text, expected):
    assert parse_wait(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "P", "PT", "P1DT", "3 days", "3", "soon", "-P1D", "P1.5D", "P1H", "3 business", "P3D3bd", "bd"],
)
def test_parse_wait_rejects_with_one_clear_sentence(text):
    with pytest.raises(ValueError) as error:
        parse_wait(text)
    message = str(error.value)
    assert "is not a wait" in message
    assert "P3D" in message and "3 business days" in message


def test_parse_wait_rejects_non_text():
    with pytest.raises(ValueError, match="must be text"):
        parse_wait(3)


def test_wait_text_validates_inside_a_pydantic_model():
    class Step(BaseModel):
        wait: WaitText

    assert Step(wait="P2D").wait == "P2D"
    with pytest.raises(ValidationError, match="is not a wait"):
        Step(wait="two days")


# --- add_wait ---------------------------------------------------------------------------------


def test_days_keep_the_local_clock_time_across_dst():
    # Friday 10:00 CET + 3 days = Monday 10:00 CEST: 71 real hours, not 72.
    later = add_wait(local(BERLIN, 2026, 3, 27, 10), "P3D", BERLIN)
    assert later == utc(2026, 3, 30, 8)
    assert later.utcoffset() == timedelta(0)


def test_hours_are_elapsed_time_across_dst():
    # 00:30 CET on the switch night + 4 real hours = 05:30 CEST.
    later = add_wait(local(BERLIN, 2026, 3, 29, 0, 30), "PT4H", BERLIN)
    assert later == local(BERLIN, 2026, 3, 29, 5, 30)
    assert later == utc(2026, 3, 29, 3, 30)


def test_one_week():
    assert add_wait(local(BERLIN, 2026, 1, 14, 9), "P1W", BERLIN) == local(BERLIN, 2026, 1, 21, 9)


def test_days_and_hours_together():
    assert add_wait(local(BERLIN, 2026, 1, 12, 9), "P1DT2H", BERLIN) == local(BERLIN, 2026, 1, 13, 11)


def test_business_days_skip_the_weekend():
    # Thursday + 3 business days = Friday, Monday, Tuesday.
    later = add_wait(local(BERLIN, 2026, 1, 15, 14), "3 business days", BERLIN)
    assert later == local(BERLIN, 2026, 1, 20, 14)


def test_short_business_days_form():
    assert add_wait(local(BERLIN, 2026, 1, 15, 14), "3bd", BERLIN) == local(BERLIN, 2026, 1, 20, 14)


def test_one_business_day_from_friday_is_monday():
    assert add_wait(local(BERLIN, 2026, 1, 16, 18), "1bd", BERLIN) == local(BERLIN, 2026, 1, 19, 18)


def test_one_business_day_from_saturday_is_monday():
    assert add_wait(local(BERLIN, 2026, 1, 17, 10), "1bd", BERLIN) == local(BERLIN, 2026, 1, 19, 10)


def test_business_days_are_counted_in_the_leads_time_zone():
    # 23:30 UTC on Friday is already Saturday 08:30 in Tokyo, so 1 business day is Monday there.
    later = add_wait(utc(2026, 1, 16, 23, 30), "1bd", "Asia/Tokyo")
    assert later == local("Asia/Tokyo", 2026, 1, 19, 8, 30)


def test_business_days_keep_local_time_across_dst():
    # Friday 10:00 CET + 1 business day = Monday 10:00 CEST.
    assert add_wait(local(BERLIN, 2026, 3, 27, 10), "1bd", BERLIN) == utc(2026, 3, 30, 8)


def test_zero_waits_change_nothing():
    at = local(BERLIN, 2026, 1, 17, 10)
    assert add_wait(at, "0bd", BERLIN) == at
    assert add_wait(at, "PT0S", BERLIN) == at


def test_add_wait_rejects_bad_wait():
    with pytest.raises(ValueError, match="is not a wait"):
        add_wait(utc(2026, 1, 1), "a while", BERLIN)


def test_add_wait_rejects_naive_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_wait(datetime(2026, 1, 1), "P1D", BERLIN)


# --- timezone_for -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "explicit", "expected"),
    [
        (None, "Asia/Tokyo", "Asia/Tokyo"),
        ("US", "Europe/Paris", "Europe/Paris"),  # an explicit zone wins over the country
        ("DE", "Mars/Olympus_Mons", "Europe/Berlin"),  # an invalid explicit zone is ignored
        ("DE", "", "Europe/Berlin"),
        ("DE", " Europe/Vienna ", "Europe/Vienna"),
        ("US", None, "America/New_York"),
        ("us", None, "America/New_York"),
        ("United States", None, "America/New_York"),
        ("GB", None, "Europe/London"),
        ("UK", None, "Europe/London"),
        ("United Kingdom", None, "Europe/London"),
        ("  united   kingdom ", None, "Europe/London"),
        ("DE", None, "Europe/Berlin"),
        ("Germany", None, "Europe/Berlin"),
        ("FR", None, "Europe/Paris"),
        ("NL", None, "Europe/Amsterdam"),
        ("ES", None, "Europe/Madrid"),
        ("IT", None, "Europe/Rome"),
        ("SE", None, "Europe/Stockholm"),
        ("CH", None, "Europe/Zurich"),
        ("AT", None, "Europe/Vienna"),
        ("IE", None, "Europe/Dublin"),
        ("PL", None, "Europe/Warsaw"),
        ("IN", None, "Asia/Kolkata"),
        ("JP", None, "Asia/Tokyo"),
        ("AU", None, "Australia/Sydney"),
        ("Australia", None, "Australia/Sydney"),
        ("CA", None, "America/Toronto"),
        ("BR", None, "America/Sao_Paulo"),
        ("SG", None, "Asia/Singapore"),
    ],
)
def test_timezone_for(country, explicit, expected):
    assert timezone_for(country, explicit) == expected


@pytest.mark.parametrize("country", [None, "", "ZZ", "Atlantis", "12"])
def test_unknown_country_gets_the_default(country):
    assert timezone_for(country, None) == "UTC"
    assert timezone_for(country, None, default="Europe/Berlin") == "Europe/Berlin"


def test_countries_outside_the_table_come_from_pytz():
    pytest.importorskip("pytz")
    assert timezone_for("KE", None) == "Africa/Nairobi"
    assert timezone_for("Kenya", None) == "Africa/Nairobi"


def test_a_window_wholly_inside_the_spring_forward_gap_does_not_open_that_day():
    # New York skips 02:00-03:00 on Sunday 10 March 2024: that day's window opens and closes at
    # 03:00 EDT, so nothing may go then; the next opening is Monday 02:00 EDT (found by tests/property).
    window = SendWindow(days=["sun", "mon"], start="02:00", end="03:00")

    at = next_send_at(datetime(2024, 3, 8, tzinfo=timezone.utc), "America/New_York", window)

    assert at == datetime(2024, 3, 11, 6, 0, tzinfo=timezone.utc)
    assert window.contains(at, "America/New_York")
