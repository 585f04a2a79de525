"""Calendar arithmetic shared by SLA deadlines and nurture send windows: weekly opening hours,
working days and DST-safe conversions.

Pure functions and pydantic models only: no database, no clock, no I/O. Every datetime going in
must be timezone-aware; every datetime coming out is UTC-aware. Rep working hours
(`leadrelay.handoff.sla`) and email send windows (`leadrelay.nurture.send_window`) are both
`WeeklyWindow`s, so they behave alike. Holidays are not considered anywhere.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from functools import lru_cache

import pendulum
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAY_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# A deadline never needs more than this many calendar days of search; guards against endless loops.
_MAX_DAYS_SEARCHED = 366 * 20


# --- small shared helpers ---------------------------------------------------------------------


def require_aware(moment: datetime, name: str = "time") -> None:
    """Raise ValueError unless `moment` carries a time zone."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"The {name} must be timezone-aware (naive datetimes are ambiguous).")


def require_timezone(name: str) -> str:
    """Return `name` unchanged if it is a known IANA time zone, else raise ValueError."""
    zone(name)
    return name


@lru_cache(maxsize=512)  # routing asks for the same few zones for every lead of a batch
def zone(name: str) -> pendulum.Timezone:
    """The IANA time zone `name`; ValueError if there is none."""
    try:
        return pendulum.timezone(name)
    except Exception:
        raise ValueError(f"'{name}' is not an IANA time zone (for example Europe/Berlin).") from None


def to_utc(moment: datetime) -> datetime:
    """The same instant as a plain UTC-aware `datetime.datetime` (exact to the microsecond)."""
    require_aware(moment)
    utc = moment.astimezone(timezone.utc)
    # Rebuild as a stdlib datetime: subtracting pendulum DateTimes yields Intervals, not timedeltas.
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=timezone.utc
    )


def check_hh_mm(value: object) -> str:
    """Validate a "HH:MM" 24-hour clock time and return it; raise ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 17:00 as the number 1020 (base 60), so ask for quotes.
        raise ValueError('times must be quoted in YAML, for example "17:00" (unquoted 17:00 is read as a number).')
    if not isinstance(value, str) or not _HH_MM.match(value.strip()):
        raise ValueError(f"'{value}' is not a time of day written as HH:MM (for example 09:00).")
    return value.strip()


def normalize_weekday(value: object) -> str:
    """'Mon', 'monday' or 'mon' -> 'mon'; raise ValueError for anything else."""
    if isinstance(value, str):
        text = value.strip().lower()
        text = _FULL_WEEKDAY_NAMES.get(text, text)
        if text in WEEKDAYS:
            return text
    raise ValueError(f"'{value}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun.")


def normalize_weekdays(value: object) -> list[str]:
    """A list of weekday names in week order without repeats; raise ValueError if any is not a day."""
    if isinstance(value, str):
        # A single day written without brackets is a list of one.
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError("days must be a list of weekdays, for example [mon, tue, wed].")
    normalized = {normalize_weekday(day) for day in value}
    # Week order, so the list reads the same however it was written.
    return [day for day in WEEKDAYS if day in normalized]


def _clock(hh_mm: str) -> tuple[int, int]:
    hours, minutes = hh_mm.split(":")
    return int(hours), int(minutes)


# --- weekly windows ---------------------------------------------------------------------------


class WeeklyWindow(BaseModel):
    """The same daily opening (start..end, local time) on some weekdays.

    `start` must be before `end` on the same day (no overnight windows). Times are local to
    whatever time zone the window is applied in, so one window serves reps and leads everywhere.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[str] = Field(min_length=1)
    start: str
    end: str

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> list[str]:
        return normalize_weekdays(value)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> str:
        return check_hh_mm(value)

    @model_validator(mode="after")
    def _start_before_end(self) -> WeeklyWindow:
        if _clock(self.start) >= _clock(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end} on the same day.")
        return self

    def is_open_on(self, day: date) -> bool:
        """True if the window opens at all on this calendar date."""
        return WEEKDAYS[day.weekday()] in self.days

    def opening_on(self, day: date, tz: str) -> pendulum.DateTime:
        """The instant the window opens on `day` in `tz` (a time in a DST gap moves forward)."""
        hours, minutes = _clock(self.start)
        return pendulum.datetime(day.year, day.month, day.day, hours, minutes, tz=tz)

    def closing_on(self, day: date, tz: str) -> pendulum.DateTime:
        """The instant the window closes on `day` in `tz` (a time in a DST gap moves forward)."""
        hours, minutes = _clock(self.end)
        return pendulum.datetime(day.year, day.month, day.day, hours, minutes, tz=tz)

    def contains(self, at: datetime, tz: str) -> bool:
        """True if `at` falls inside the window (start inclusive, end exclusive) in local time `tz`."""
        require_aware(at)
        require_timezone(tz)
        day = pendulum.instance(at).in_tz(zone(tz)).date()
        if not self.is_open_on(day):
            return False
        # Compared in UTC: Python compares two times of one zone by wall clock, ignoring which of
        # the two 01:30s of a DST fall-back each is, so the repeated hour read as outside.
        return to_utc(self.opening_on(day, tz)) <= to_utc(at) < to_utc(self.closing_on(day, tz))

    def next_opening_after(self, at: datetime, tz: str) -> datetime:
        """The first opening of the window strictly after `at` (UTC-aware); opening times are local to `tz`.

        A day whose whole window falls in a DST gap has no opening."""
        require_aware(at)
        require_timezone(tz)
        day = pendulum.instance(at).in_tz(zone(tz)).date()
        # Eight days always reach the next opening: every window opens at least once a week.
        for offset in range(8):
            candidate_day = day + timedelta(days=offset)
            if not self.is_open_on(candidate_day):
                continue
            opening = to_utc(self.opening_on(candidate_day, tz))
            # A window wholly inside a DST gap (02:00-03:00 the night clocks spring forward)
            # opens and closes at the same instant: it does not open that day.
            if opening > to_utc(at) and opening < to_utc(self.closing_on(candidate_day, tz)):
                return opening
        raise AssertionError("unreachable: a window with at least one day opens within 8 days")


class WorkingHours(WeeklyWindow):
    """A rep's working days and daily hours, e.g. mon-fri 09:00-17:00, in the rep's own time zone."""


class DailyHours(BaseModel):
    """Start and end of a working day ("HH:MM", local time), without the days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> str:
        return check_hh_mm(value)

    @model_validator(mode="after")
    def _start_before_end(self) -> DailyHours:
        if _clock(self.start) >= _clock(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end} on the same day.")
        return self


# --- arithmetic -------------------------------------------------------------------------------


def is_working_time(at: datetime, tz: str, working: WorkingHours) -> bool:
    """True if `at` is inside the rep's working hours (start inclusive, end exclusive) in `tz`."""
    return working.contains(at, tz)


def add_working_hours(start: datetime, hours: float, tz: str, working: WeeklyWindow) -> datetime:
    """The UTC-aware moment after `hours` of time inside `working` (local to `tz`), from `start`.

    A start outside the window counts from its next opening. A result that lands exactly on
    closing time stays there (Friday 13:00 + 4h with 09-17 is Friday 17:00), and zero hours gives
    the start itself if it is inside the window, else the next opening. Hours are real elapsed
    hours, so a DST change inside a working day is counted correctly. ValueError for negative hours.
    """
    require_aware(start, "start")
    require_timezone(tz)
    if hours < 0:
        raise ValueError(f"working hours cannot be negative (got {hours}).")
    begin = to_utc(start)
    remaining = timedelta(hours=hours)
    day = pendulum.instance(begin).in_tz(zone(tz)).date()
    for _ in range(_MAX_DAYS_SEARCHED):
        if working.is_open_on(day):
            opening = to_utc(working.opening_on(day, tz))
            closing = to_utc(working.closing_on(day, tz))
            counted_from = max(begin, opening)
            if counted_from < closing:
                available = closing - counted_from
                if remaining <= available:
                    return counted_from + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"{hours} business hours do not fit in {_MAX_DAYS_SEARCHED} days of working time.")


def add_business_days(day: date, count: int) -> date:
    """The date `count` weekdays (mon-fri) after `day`; a weekend start counts from the weekend."""
    if count < 0:
        raise ValueError(f"business days cannot be negative (got {count}).")
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
