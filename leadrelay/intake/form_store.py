"""Writing form posts: an accepted one to the inbound table (once per submission_id), a refused
one to quarantine."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from leadrelay.db import dialect_insert
from leadrelay.models import InboundLead, QuarantineEntry


@dataclass(frozen=True)
class StoredForm:
    inbound_id: int
    duplicate: bool  # True: this submission_id was stored before, under `inbound_id`


def store_form(session: Session, form_name: str, payload: dict[str, Any], submission_id: str | None,
               as_of: datetime) -> StoredForm:
    """Add the post to the inbound table, unless the form already has a row with this
    submission_id: then return that row. Race-safe: the unique (source, submission_id) constraint
    decides (INSERT … ON CONFLICT DO NOTHING), so two posts at once still make one row."""
    table = InboundLead.__table__
    values = {"received_at": as_of, "source": form_name, "payload": payload, "submission_id": submission_id}
    if submission_id is None:
        new_id = session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
        return StoredForm(new_id, duplicate=False)
    statement = (dialect_insert(session, table).values(values)
                 .on_conflict_do_nothing(index_elements=["source", "submission_id"])
                 .returning(table.c.id))
    new_id = session.execute(statement).scalar_one_or_none()
    if new_id is not None:
        return StoredForm(new_id, duplicate=False)
    # On PostgreSQL the conflicting insert waited for the first one to commit, so this sees it.
    first = session.execute(select(table.c.id).where(table.c.source == form_name,
                                                     table.c.submission_id == submission_id)).scalar_one()
    return StoredForm(first, duplicate=True)


def quarantine_form(session: Session, source: str, raw: str, reason: str, as_of: datetime) -> None:
    """Keep a refused post with its (already capped) text and the reason."""
    session.execute(insert(QuarantineEntry).values(at=as_of, source=source, reason=reason, raw=raw))
