"""Recording what a lead did; the next scoring run rescores it with decay at its `as_of`."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import insert, select, update
from sqlmodel import Session

from leadrelay.db import dialect_insert
from leadrelay.models import EngagementEvent, Lead

# Bound parameters per IN list: well under SQLite's limit, whatever the batch size.
_CHUNK = 500


def record_engagement(session: Session, events: list[dict[str, Any]]) -> None:
    """Store engagement events ({lead_id, kind, occurred_at, source, ...}) and flag their leads."""
    if not events:
        return
    session.execute(insert(EngagementEvent), [{"detail": {}, **event} for event in events])
    lead_ids = {event["lead_id"] for event in events}
    session.execute(update(Lead).where(Lead.id.in_(lead_ids)).values(needs_scoring=True))


def record_new_engagement(session: Session, events: list[dict[str, Any]]) -> int:
    """Like `record_engagement`, but an event whose `external_id` is already stored (or came
    earlier in `events`) is skipped, so a provider's redelivery has one effect. Returns how many
    events were stored; only their leads are flagged for scoring.

    The insert also says ON CONFLICT DO NOTHING: two requests racing with one event never fail
    (the loser's count may then include it once, but the row is stored once).
    """
    fresh = _not_seen(session, events)
    if not fresh:
        return 0
    statement = dialect_insert(session, EngagementEvent)
    session.execute(statement.on_conflict_do_nothing(index_elements=["external_id"]),
                    [{"detail": {}, "external_id": None, **event} for event in fresh])
    lead_ids = sorted({event["lead_id"] for event in fresh})
    for start in range(0, len(lead_ids), _CHUNK):
        session.execute(update(Lead).where(Lead.id.in_(lead_ids[start:start + _CHUNK])).values(needs_scoring=True))
    return len(fresh)


def _not_seen(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = sorted({event["external_id"] for event in events if event.get("external_id")})
    stored: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        stored.update(session.scalars(select(EngagementEvent.external_id)
                                      .where(EngagementEvent.external_id.in_(keys[start:start + _CHUNK]))))
    fresh = []
    for event in events:
        key = event.get("external_id")
        if key:
            if key in stored:
                continue
            stored.add(key)
        fresh.append(event)
    return fresh


def lead_ids_by_email(session: Session, emails: Iterable[str]) -> dict[str, int]:
    """Lead id per address, for the addresses (already trimmed and lower-cased) that are leads."""
    wanted = sorted(set(emails) - {""})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        found.update((email, lead_id) for lead_id, email in session.execute(
            select(Lead.id, Lead.email).where(Lead.email.in_(wanted[start:start + _CHUNK]))))
    return found


def engagement(lead_id: int, kind: str, at: datetime, source: str, external_id: str | None = None) -> dict[str, Any]:
    return {"lead_id": lead_id, "kind": kind, "occurred_at": at, "source": source, "external_id": external_id}
