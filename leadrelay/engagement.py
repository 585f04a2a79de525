"""Recording what a lead did; the next pipeline run rescores it with decay at its `as_of`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session

from models import EngagementEvent, Lead


def record_engagement(session: Session, events: list[dict[str, Any]]) -> None:
    """Store engagement events ({lead_id, kind, occurred_at, source, ...}) and flag their leads."""
    if not events:
        return
    session.execute(insert(EngagementEvent), [{"detail": {}, **event} for event in events])
    lead_ids = {event["lead_id"] for event in events}
    session.execute(update(Lead).where(Lead.id.in_(lead_ids)).values(needs_scoring=True))


def engagement(lead_id: int, kind: str, at: datetime, source: str, external_id: str | None = None) -> dict[str, Any]:
    return {"lead_id": lead_id, "kind": kind, "occurred_at": at, "source": source, "external_id": external_id}
