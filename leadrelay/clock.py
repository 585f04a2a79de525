"""The one home of "now": every run acts at an `as_of` time that defaults to it."""
from __future__ import annotations

from datetime import datetime, timezone

import pendulum


def now() -> datetime:
    return datetime.now(timezone.utc)


def parse_as_of(value: str | datetime | None) -> datetime:
    """An aware UTC datetime from an ISO 8601 string, a datetime, or None (now).

    A naive value is taken as UTC. Raises ValueError with one sentence for anything unparsable.
    """
    if value is None:
        return now()
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = pendulum.parse(value, strict=True)  # 03/04/2026 would be guessed, one way or the other
        except Exception:
            raise ValueError(f"'{value}' is not an ISO 8601 date or time (for example 2026-11-23T09:00:00Z).") from None
        if not isinstance(moment, datetime):
            raise ValueError(f"'{value}' is not an ISO 8601 date or time (for example 2026-11-23T09:00:00Z).")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(moment.timestamp(), tz=timezone.utc)
