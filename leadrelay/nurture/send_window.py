"""When a nurture email may go out: send windows, waits between steps, and a lead's time zone.

Pure functions and pydantic models only: no database, no clock, no I/O. Every datetime going in
must be timezone-aware; every datetime coming out is UTC-aware.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import pendulum
from pydantic import AfterValidator

from leadrelay.business_hours import WeeklyWindow, add_business_days, require_aware, require_timezone, to_utc
from leadrelay.nurture.country_zones import COUNTRY_NAMES, COUNTRY_TIMEZONES

# ISO 8601 durations with whole numbers: P1Y2M3W4DT5H6M7S, every part optional but at least one.
_ISO_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
# "3 business days", "1 business day", "3bd", "3 bd".
_BUSINESS_DAYS = re.compile(r"^(?P<count>\d+)\s*(?:bd|business\s+days?)$", re.IGNORECASE)

_WAIT_EXAMPLES = "an ISO 8601 duration such as P3D, PT4H or P1W, or business days such as '3 business days' or '3bd'"


class SendWindow(WeeklyWindow):
    """Days and local hours in which a nurture email may be sent, e.g. tue-thu 09:00-11:00.

    Times are local to the lead's time zone. Fields: `days`, `start` ("HH:MM"), `end` ("HH:MM").
    """


def next_send_at(at: datetime, tz: str, window: SendWindow) -> datetime:
    """`at` itself (as UTC) if it is inside `window` in local time `tz`, else the window's next opening.

    A window opening that falls in a DST gap (a local time that does not exist) moves forward by
    the gap, as pendulum does.
    """
    if window.contains(at, tz):
        return to_utc(at)
    return window.next_opening_after(at, tz)


# --- waits between steps ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """A parsed wait: either calendar parts (from ISO 8601) or a number of business days, not both."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    business_days: int = 0

    def after(self, at: datetime, tz: str) -> datetime:
        """The UTC-aware moment this wait ends, when started at `at`.

        Years, months, weeks and days are calendar steps in local time `tz` (P1D keeps the local
        clock time across a DST change); hours, minutes and seconds are elapsed time. Business days
        step over Saturdays and Sundays and keep the local clock time (Friday + 1 business day is
        Monday, and so is Saturday + 1). Holidays are not considered.
        """
        require_aware(at)
        require_timezone(tz)
        local = pendulum.instance(at).in_tz(tz)
        if self.business_days:
            target_day = add_business_days(local.date(), self.business_days)
            moved = local.add(days=(target_day - local.date()).days)
            return to_utc(moved)
        # Calendar parts first in local time, then elapsed time, as ISO 8601 reads left to right.
        moved = local.add(years=self.years, months=self.months, weeks=self.weeks, days=self.days)
        moved = moved.add(hours=self.hours, minutes=self.minutes, seconds=self.seconds)
        return to_utc(moved)


def parse_wait(text: str) -> Wait:
    """Parse a wait such as `P3D`, `PT4H`, `P1W`, `3 business days` or `3bd`.

    Raises ValueError with one sentence for anything else, so it can back a pydantic validator.
    """
    if not isinstance(text, str):
        raise ValueError(f"A wait must be text, {_WAIT_EXAMPLES}.")
    cleaned = text.strip()
    business = _BUSINESS_DAYS.match(cleaned)
    if business:
        return Wait(business_days=int(business.group("count")))
    iso = _ISO_DURATION.match(cleaned.upper())
    # "P" alone and "P1DT" (a T with nothing after it) match the pattern but are not durations.
    if iso and any(iso.groupdict().values()) and not cleaned.upper().endswith("T"):
        return Wait(**{name: int(value) for name, value in iso.groupdict().items() if value is not None})
    raise ValueError(f"'{text}' is not a wait; use {_WAIT_EXAMPLES}.")


def check_wait(text: str) -> str:
    """Return `text` unchanged if `parse_wait` accepts it; for use as a pydantic validator."""
    parse_wait(text)
    return text


# A config field holding a wait as written, validated when the config loads.
WaitText = Annotated[str, AfterValidator(check_wait)]


def add_wait(at: datetime, wait: str, tz: str) -> datetime:
    """The UTC-aware moment `wait` after `at`, counted in local time `tz` (see `Wait.after`)."""
    return parse_wait(wait).after(at, tz)


# --- a lead's time zone (tables in leadrelay.nurture.country_zones) ---------------------------


def is_timezone(name: str | None) -> bool:
    """True if `name` is a known IANA time zone such as Europe/Berlin."""
    if not name or not isinstance(name, str):
        return False
    try:
        require_timezone(name)
    except ValueError:
        return False
    return True


def country_code(country: str | None) -> str | None:
    """The ISO 3166 alpha-2 code for a code or a common English country name, or None if unknown."""
    if not country or not isinstance(country, str):
        return None
    cleaned = country.strip()
    if len(cleaned) == 2 and cleaned.isalpha():
        code = cleaned.upper()
        # "UK" is not an ISO code but is what people write for the United Kingdom.
        return "GB" if code == "UK" else code
    lowered = " ".join(cleaned.lower().split())
    if lowered in COUNTRY_NAMES:
        return COUNTRY_NAMES[lowered]
    pytz = _pytz_or_none()
    if pytz is not None:
        for code, name in pytz.country_names.items():
            if name.lower() == lowered:
                return code
    return None


def timezone_for(country: str | None, explicit_tz: str | None, default: str = "UTC") -> str:
    """The time zone to use for a lead: a valid explicit IANA zone, else the country's main zone, else `default`.

    `country` may be an ISO 3166 alpha-2 code ("DE", "UK" too) or a common English name ("Germany").
    Countries with several zones get their main business zone (US -> America/New_York,
    AU -> Australia/Sydney). Unknown countries and invalid explicit zones fall through to `default`.
    """
    if explicit_tz and is_timezone(explicit_tz.strip()):
        return explicit_tz.strip()
    code = country_code(country)
    if code is None:
        return default
    if code in COUNTRY_TIMEZONES:
        return COUNTRY_TIMEZONES[code]
    pytz = _pytz_or_none()
    if pytz is not None:
        zones = pytz.country_timezones.get(code)
        if zones:
            return zones[0]
    return default


def _pytz_or_none():
    """The pytz module if it is installed (it is optional: only a wider country table)."""
    try:
        import pytz
    except ImportError:
        return None
    return pytz
