"""Test data for suppression, the webhook and the engagement flow: a nurtured lead on a track,
with the nurture history a rep should later see, and SendGrid events in the webhook's format."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from leadrelay.history import append_history, history_row
from leadrelay.models import Lead, NurtureEnrollment
from tests.support.handoff_factories import T0, add_lead


def add_nurtured_lead(session: Session, email: str = "nina@acme-buyer.com", at: datetime = T0,
                      track: str = "recycled", **fields: Any) -> tuple[Lead, NurtureEnrollment]:
    """A lead in `nurturing` below the MQL threshold, on step 1 of `track`, with its nurture history."""
    values = dict(first_name="Nina", last_name="Nurtured", title="Head of Operations", stage="nurturing",
                  fit_score=38, engagement_score=0, score_total=38, tier="warm", needs_scoring=False,
                  score_breakdown=[{"rule": "VP or head of department", "points": 18}])
    values.update(fields)
    lead = add_lead(session, email, at=at, **values)
    enrollment = NurtureEnrollment(lead_id=lead.id, reason="rejected:bad-timing", track=track, step_index=1,
                                   status="active", entered_at=at, next_due_at=at)
    session.add(enrollment)
    session.flush()
    append_history(session, [
        history_row(lead.id, "nurture_enrolled", "flow:nurture", at, {"track": track, "reason": "rejected:bad-timing"}),
        history_row(lead.id, "nurture_step_sent", "flow:nurture", at, {"track": track, "step": 0,
                                                                       "template": "recycled_welcome"}),
    ])
    return lead, enrollment


def sendgrid_event(email: str, event: str, sg_event_id: str, timestamp: int, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid's Event Webhook posts it (custom args sit at the top level)."""
    return {"email": email, "event": event, "sg_event_id": sg_event_id, "timestamp": timestamp,
            "sg_message_id": f"msg-{sg_event_id}", **fields}
