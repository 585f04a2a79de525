"""When to try a failed send again: pure, jitter-free arithmetic (principle 3: time is a parameter).

The outbox drainer calls `next_attempt_at` after a "retry" result and stores the answer on the
row; once `exhausted(attempts)` is true the row is marked failed instead (principle 5: marked,
never dropped). A rate limit (429) is not an attempt: `rate_limited_until` says when to come
back, and the row's attempts stay as they were.
"""
from __future__ import annotations

from datetime import datetime, timedelta

MAX_ATTEMPTS = 8
"""Attempts (including the first) after which a retryable failure becomes a permanent one.
With the default 30 s base that is 30+60+...+1920 s, a little over an hour of retrying."""

# 2**32 * 30 s is already centuries: bounding the exponent keeps the float arithmetic finite
_MAX_EXPONENT = 32


def backoff_seconds(attempts: int, base_seconds: float = 30, cap_seconds: float = 3600) -> float:
    """The exponential delay after `attempts` failed attempts: base, 2*base, 4*base, ... <= cap.

    Raises ValueError when `attempts` < 1 (there is nothing to back off from).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    return min(cap_seconds, base_seconds * 2 ** min(attempts - 1, _MAX_EXPONENT))


def next_attempt_at(
    attempts: int,
    as_of: datetime,
    retry_after: float | None,
    base_seconds: float = 30,
    cap_seconds: float = 3600,
) -> datetime:
    """The earliest time the next attempt may run, after `attempts` attempts made so far.

    When the provider said when to come back (`retry_after`, seconds, e.g. from a 429's
    Retry-After header) that delay is used as given, even above the cap: coming back earlier
    would only be refused again. Otherwise the delay is `backoff_seconds(attempts)`.
    The result keeps `as_of`'s timezone (naive in, naive out). No jitter: same inputs, same answer.
    """
    if retry_after is not None:
        # a negative or NaN hint is meaningless: retry immediately rather than in the past
        delay = retry_after if retry_after > 0 else 0.0
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
    else:
        delay = backoff_seconds(attempts, base_seconds, cap_seconds)
    return as_of + timedelta(seconds=delay)


def rate_limited_until(as_of: datetime, retry_after: float | None, base_seconds: float = 30) -> datetime:
    """When to come back to a message the server refused for now with a rate limit (SendGrid's
    429): after its Retry-After, else after `base_seconds`. Such an answer is no failed attempt
    (the server asks to wait), so the delay does not grow with the row's attempts."""
    if retry_after is None:
        delay = base_seconds
    else:  # a negative or NaN hint is meaningless: come back at once
        delay = retry_after if retry_after > 0 else 0.0
    return as_of + timedelta(seconds=delay)


def exhausted(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """True when a message that has had `attempts` attempts must not be retried again."""
    return attempts >= max_attempts
