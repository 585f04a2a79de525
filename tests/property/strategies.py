"""Hypothesis strategies shared by the property tests: instants and time zones, DST included."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

# Real zones with odd offsets and DST rules: half-hour DST (Lord_Howe), 45-minute offsets
# (Chatham, Kathmandu), southern-hemisphere DST, no DST, and a DST change at midnight (Santiago).
ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
         "America/St_Johns", "America/Sao_Paulo", "America/Santiago", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tokyo", "Africa/Cairo"]


# Any instant 2024-2030 written in any of the zones (aware; times that do not exist left out).
_any_instant = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
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
# Random instants rarely fall near a DST change, so half of them are drawn from there.
as_of_times = st.one_of(_any_instant, near_dst_changes)
