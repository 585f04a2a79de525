"""Turning rows that forms and integrations wrote to the inbound table into leads."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.intake.normalise import Rejected, normalise_lead
from leadrelay.intake.store import IntakeCounts, IntakeItem, store_intake
from leadrelay.models import InboundLead


@dataclass
class InboundOutcome:
    counts: IntakeCounts = field(default_factory=IntakeCounts)
    inbound_ids: list[int] = field(default_factory=list)  # the inbound rows taken in


def claim_inbound(session: Session, as_of: datetime, limit: int) -> list[InboundLead]:
    query = (
        select(InboundLead)
        .where(InboundLead.processed_at.is_(None), InboundLead.received_at <= as_of)
        .order_by(InboundLead.id)
        .limit(limit)
    )
    return list(session.scalars(claim(session, query)))


def inbound_waiting(session: Session, as_of: datetime) -> bool:
    """Whether any inbound row received by `as_of` is still to be taken in."""
    query = select(InboundLead.id).where(InboundLead.processed_at.is_(None), InboundLead.received_at <= as_of)
    return session.scalars(query.limit(1)).first() is not None


def intake_next_inbound(session: Session, as_of: datetime, limit: int, actor: str,
                        flow_run_id: str | None = None) -> InboundOutcome:
    """Take one batch of unprocessed inbound rows into leads (or quarantine) and mark them done;
    returns the counts and the rows' ids (no counts and no ids when none were left)."""
    rows = claim_inbound(session, as_of, limit)
    if not rows:
        return InboundOutcome()
    items = []
    for row in rows:
        origin = f"inbound:{row.source} #{row.id}"
        raw = json.dumps(row.payload, ensure_ascii=False, default=str)
        result = normalise_lead(row.payload, row.source) if isinstance(row.payload, dict) else Rejected("the submission is not a set of named fields")
        items.append(IntakeItem(result, raw, origin))
    counts = store_intake(session, items, as_of, actor, flow_run_id=flow_run_id)
    inbound_ids = [r.id for r in rows]
    session.execute(update(InboundLead).where(InboundLead.id.in_(inbound_ids)).values(processed_at=as_of))
    return InboundOutcome(counts, inbound_ids)
