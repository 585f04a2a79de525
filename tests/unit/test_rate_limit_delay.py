"""When a rate-limited (429) message comes back: after Retry-After, else the base delay; never
growing with attempts, since a 429 is no attempt."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.email.retry import rate_limited_until

AT = datetime(2026, 11, 24, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("retry_after, delay", [(7.0, 7), (0.0, 0), (-3.0, 0), (float("nan"), 0), (None, 30)])
def test_a_429_comes_back_after_retry_after_or_the_base_delay(retry_after, delay):
    assert rate_limited_until(AT, retry_after, base_seconds=30) == AT + timedelta(seconds=delay)
