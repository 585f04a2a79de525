"""`as_of` from the command line, CSV files and webhooks: ISO 8601 in any of its forms, and nothing
a guess would have to read (03/04/2026 is March or April depending on who wrote it)."""
from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.clock import parse_as_of

UTC = timezone.utc


@pytest.mark.parametrize("given, expected", [
    ("2026-11-23T09:00:00Z", datetime(2026, 11, 23, 9, tzinfo=UTC)),
    ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
    ("2026-11-23 09:00", datetime(2026, 11, 23, 9, tzinfo=UTC)),  # naive: UTC
    ("2026-11-23T09:00:00+05:30", datetime(2026, 11, 23, 3, 30, tzinfo=UTC)),
    ("20261123T090000Z", datetime(2026, 11, 23, 9, tzinfo=UTC)),
])
def test_iso_8601_in_its_forms_is_read_as_an_instant_in_utc(given, expected):
    assert parse_as_of(given) == expected


@pytest.mark.parametrize("given", ["03/04/2026", "24/11/2026", "Nov 23 2026", "2026-11-23T25:00", "tomorrow", ""])
def test_anything_else_is_refused_in_one_sentence_not_guessed(given):
    with pytest.raises(ValueError, match=r"is not an ISO 8601 date or time \(for example 2026-11-23T09:00:00Z\)\.$"):
        parse_as_of(given)


def test_a_datetime_is_taken_as_it_is_and_none_is_now():
    berlin = datetime(2026, 11, 23, 10, tzinfo=timezone(timedelta(hours=1)))
    assert parse_as_of(berlin) == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert abs(parse_as_of(None) - datetime.now(UTC)) < timedelta(seconds=5)
