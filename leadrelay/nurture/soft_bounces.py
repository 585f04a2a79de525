"""Soft bounces: temporary delivery failures, counted per address; enough of them in a window
suppress the address (reason `soft_bounce`, email status `bounced`).

A soft bounce is SendGrid's `bounce` of type `blocked` or a `deferred` delivery: the receiving
server refused for now, and the address may well work tomorrow, so one of them stops nothing.
SendGrid retries a deferred message for up to 72 hours and reports every try, so failures are
counted once per message (`message_key`). The window ends at the address's latest failure (not
at the time the webhook arrived), so a late or redelivered batch decides as it would have on time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.db import dialect_insert
from leadrelay.models import SoftBounce
from leadrelay.nurture.sequences import SoftBounces
from leadrelay.nurture.suppression import normalise_email, suppress

SOFT_BOUNCE = "soft_bounce"


@dataclass
class SoftBounceSummary:
    """What one batch of soft bounces did."""

    stored: int = 0
    duplicates: int = 0  # the same message's failure reported again
    suppressed: list[str] = field(default_factory=list)  # addresses this batch pushed over the limit


def window_start(latest: datetime, policy: SoftBounces) -> datetime:
    """The window counted back from `latest` is (start, latest]."""
    return latest - timedelta(days=policy.within_days)


def soft_bounces_in_window(times: Iterable[datetime], latest: datetime, policy: SoftBounces) -> int:
    """How many of `times` fall in the window ending at `latest` (later ones do not count)."""
    start = window_start(latest, policy)
    return sum(1 for moment in times if start < moment <= latest)


def suppresses(times: Iterable[datetime], latest: datetime, policy: SoftBounces) -> bool:
    """Whether an address with soft bounces at `times` is suppressed as of its failure at `latest`:
    at least `suppress_after` of them within `within_days` days up to and including `latest`."""
    return soft_bounces_in_window(times, latest, policy) >= policy.suppress_after


def record_soft_bounces(session: Session, bounces: list[dict], policy: SoftBounces, actor: str,
                        source: str = "sendgrid") -> SoftBounceSummary:
    """Store `bounces` ({email, occurred_at, kind, message_key}) in the caller's unit of work, once
    per message_key, then suppress each address whose failures now reach the policy's limit.

    Reads the addresses' failures in one query and inserts in one statement; `suppress` runs only for
    the addresses that cross the limit (and does nothing for one already suppressed).
    """
    summary = SoftBounceSummary()
    rows, seen = [], set()
    for bounce in bounces:
        email, key = normalise_email(bounce["email"]), bounce.get("message_key") or None
        if not email or (key is not None and key in seen):
            summary.duplicates += bool(email)
            continue
        seen.add(key)
        rows.append({"email": email, "occurred_at": bounce["occurred_at"], "kind": bounce["kind"][:40],
                     "message_key": key[:200] if key else None})
    if not rows:
        return summary
    insert = dialect_insert(session, SoftBounce).values(rows)
    stored = session.execute(insert.on_conflict_do_nothing(index_elements=["message_key"])
                             .returning(SoftBounce.email, SoftBounce.occurred_at)).all()
    summary.stored, summary.duplicates = len(stored), summary.duplicates + len(rows) - len(stored)
    latest: dict[str, datetime] = {}
    for email, occurred_at in stored:
        latest[email] = max(occurred_at, latest.get(email, occurred_at))
    if not latest:
        return summary
    earliest = window_start(min(latest.values()), policy)
    times: dict[str, list[datetime]] = {}
    for email, occurred_at in session.execute(
            select(SoftBounce.email, SoftBounce.occurred_at)
            .where(is_one_of(session, SoftBounce.email, sorted(latest)), SoftBounce.occurred_at > earliest)):
        times.setdefault(email, []).append(occurred_at)
    for email in sorted(latest):
        if suppresses(times.get(email, []), latest[email], policy):
            count = soft_bounces_in_window(times[email], latest[email], policy)
            outcome = suppress(session, email, reason=SOFT_BOUNCE, source=source, as_of=latest[email], actor=actor,
                               detail={"soft_bounces": count, "within_days": policy.within_days})
            if outcome.newly_suppressed:
                summary.suppressed.append(email)
    return summary
