"""The message object: what rendering produces and every email backend sends."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmailMessage:
    """One rendered email, ready for any backend.

    `idempotency_key` is unique per (decision, step): the outbox refuses a second row with the
    same key, and backends pass it along (SendGrid `custom_args`) so a duplicate can be traced.
    Header values never contain CR or LF: `header_safe` strips them at render time.
    """

    idempotency_key: str
    to_email: str
    to_name: str
    from_email: str
    from_name: str
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    custom_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What a backend learned from one attempt.

    status: "sent" (accepted), "retry" (try again after `retry_after` seconds, or the caller's
    backoff when None), or "failed" (permanent: never retried, kept with `error`).
    `rate_limited`: a "retry" because the server asked us to wait (SendGrid's 429), not because
    anything failed; the drainer does not count it as an attempt.
    """

    status: str
    provider_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    rate_limited: bool = False


def header_safe(value: str) -> str:
    """A single-line header value: CR, LF and other control characters become spaces."""
    if value.isprintable():  # the usual case, checked in C instead of a character at a time
        return " ".join(value.split())
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
