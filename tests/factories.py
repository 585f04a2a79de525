"""Small factories for test data: write only what a test is about."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session

from leadrelay.models import EngagementEvent, Lead

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


def buyer(**overrides: Any) -> dict[str, Any]:
    """An obvious buyer: C-level, budget, one-month timeframe, demo request."""
    return {"email": "carla@acme-buyer.com", "first_name": "Carla", "last_name": "Boss", "title": "CEO",
            "company": "Acme", "company_size": "1500", "budget_usd": "250000", "timeframe_months": "1",
            "demo_request": "yes", "source": "website", "consent": "yes", **overrides}


def student(**overrides: Any) -> dict[str, Any]:
    """An obvious non-buyer: student, no budget."""
    return {"email": "sam@gmail.com", "first_name": "Sam", "last_name": "Pupil", "title": "Student",
            "budget_usd": "0", "source": "website", **overrides}


def add_lead(session: Session, email: str, at: datetime = T0, **fields: Any) -> Lead:
    lead = Lead(email=email, created_at=at, updated_at=at, **fields)
    session.add(lead)
    session.flush()
    return lead


def add_engagement(session: Session, lead: Lead, kind: str, at: datetime, **fields: Any) -> EngagementEvent:
    event = EngagementEvent(lead_id=lead.id, kind=kind, occurred_at=at, source="test", **fields)
    session.add(event)
    session.flush()
    return event
