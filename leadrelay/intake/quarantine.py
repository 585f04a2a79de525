"""Reading the quarantine: what was not accepted, and why."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.lead_view import iso
from leadrelay.models import QuarantineEntry


def quarantine_entries(session: Session, limit: int | None = None) -> list[dict[str, Any]]:
    query = select(QuarantineEntry).order_by(QuarantineEntry.id)
    if limit:
        query = query.limit(limit)
    return [{"id": q.id, "at": iso(q.at), "source": q.source, "reason": q.reason, "raw": q.raw}
            for q in session.scalars(query)]
