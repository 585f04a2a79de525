"""Test data, in one place: write only what a test is about.

- `buyer` / `student`: CSV rows for intake;
- `add_lead`: a bare lead (stage `new`); `add_scored_lead`: a scored lead at MQL with its
  `created` event; `add_nurtured_lead`: a lead on a nurture track with its nurture history;
- `add_handoff` / `seed_handoff` / `links_for`: handoffs and their signed links;
- `add_engagement`, `sendgrid_event`: what leads did, stored or as SendGrid's webhook posts it;
- `migrated_engine`, `services_for`: a database and services for the web app;
- `lead_by_email`, `events_of`, `enrollments_of`: reading back what happened.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from leadrelay.config.rules import load_rules
from leadrelay.config.settings import Settings
from leadrelay.db import unit_of_work, upgrade_schema
from leadrelay.history import append_history, history_row
from leadrelay.links.secret import handoff_links
from leadrelay.models import EngagementEvent, Handoff, Lead, LeadEvent, NurtureEnrollment
from leadrelay.wiring import Services
from tests.support.recording_sender import RecordingSender

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
REP = "rita@seller.example"
SECRET = "test-secret"
BASE_URL = "http://links.test"


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
    """A lead with only the given fields (stage `new`, waiting to be scored), flushed."""
    lead = Lead(email=email, created_at=at, updated_at=at, **fields)
    session.add(lead)
    session.flush()
    return lead


def add_scored_lead(session: Session, email: str = "carla@acme-buyer.com", at: datetime = T0,
                    **fields: Any) -> Lead:
    """A scored lead at MQL (override any field), with its `created` history event."""
    values = dict(first_name="Carla", last_name="Boss", title="CEO", company="Acme", stage="mql",
                  fit_score=60, engagement_score=25, score_total=85, tier="hot",
                  score_breakdown=[{"rule": "title is C-level", "points": 30}, {"rule": "demo request", "points": 25}])
    values.update(fields)
    lead = add_lead(session, email, at=at, **values)
    append_history(session, [history_row(lead.id, "created", "import:test", at, {"source": "test"})])
    return lead


def add_nurtured_lead(session: Session, email: str = "nina@acme-buyer.com", at: datetime = T0,
                      track: str = "recycled", **fields: Any) -> tuple[Lead, NurtureEnrollment]:
    """A lead in `nurturing` below the MQL threshold, on step 1 of `track`, with its nurture history."""
    values = dict(first_name="Nina", last_name="Nurtured", title="Head of Operations", stage="nurturing",
                  fit_score=38, engagement_score=0, score_total=38, tier="warm", needs_scoring=False,
                  score_breakdown=[{"rule": "VP or head of department", "points": 18}])
    values.update(fields)
    lead = add_scored_lead(session, email, at=at, **values)
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


def add_engagement(session: Session, lead: Lead, kind: str, at: datetime, **fields: Any) -> EngagementEvent:
    event = EngagementEvent(lead_id=lead.id, kind=kind, occurred_at=at, source="test", **fields)
    session.add(event)
    session.flush()
    return event


def migrated_engine(directory: Path) -> Engine:
    """A SQLite file database in `directory` with the full schema."""
    engine = create_engine(f"sqlite:///{directory / 'leadrelay.db'}")
    upgrade_schema(engine)
    return engine


def services_for(engine: Engine, base_url: str = BASE_URL, secret_key: str | None = SECRET) -> Services:
    """Services wired to `engine` and the shipped rules, as `create_app(services)` takes them."""
    settings = Settings(database_url=str(engine.url), config_dir=REPO / "config", secret_key=secret_key,
                        base_url=base_url)
    return Services(settings=settings, engine=engine, rules=load_rules(REPO / "config"), sender=RecordingSender())


def add_handoff(session: Session, lead: Lead, rep_email: str = REP, created_at: datetime = T0,
                due_at: datetime | None = None, status: str = "open") -> Handoff:
    """A handoff of `lead` to `rep_email`, due four hours after it was made unless told."""
    handoff = Handoff(lead_id=lead.id, rep_email=rep_email, status=status, created_at=created_at,
                      due_at=due_at or created_at + timedelta(hours=4))
    session.add(handoff)
    session.flush()
    return handoff


def seed_handoff(engine: Engine, **lead_fields: Any) -> tuple[int, int]:
    """Commit a lead with an open handoff due in a day from now; returns (lead_id, handoff_id)."""
    created = datetime.now(timezone.utc)
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, **lead_fields)
        handoff = add_handoff(session, lead, created_at=created, due_at=created + timedelta(days=1))
        return lead.id, handoff.id


def links_for(handoff_id: int, rep_email: str = REP, secret: str = SECRET, base_url: str = BASE_URL,
              expires_at: datetime | None = None) -> tuple[str, str]:
    """(accept_url, reject_url), valid for a week from now unless told."""
    expires_at = expires_at or datetime.now(timezone.utc) + timedelta(days=7)
    return handoff_links(handoff_id, rep_email, secret, base_url, expires_at)


def lead_by_email(engine: Engine, email: str = "carla@acme-buyer.com") -> Lead:
    with unit_of_work(engine) as session:
        return session.scalars(select(Lead).where(Lead.email == email)).one()


def events_of(engine: Engine, lead_id: int) -> list[LeadEvent]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)))


def enrollments_of(engine: Engine, lead_id: int) -> list[NurtureEnrollment]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(NurtureEnrollment).where(NurtureEnrollment.lead_id == lead_id)))


def sendgrid_event(email: str, event: str, sg_event_id: str, timestamp: int, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid's Event Webhook posts it (custom args sit at the top level)."""
    return {"email": email, "event": event, "sg_event_id": sg_event_id, "timestamp": timestamp,
            "sg_message_id": f"msg-{sg_event_id}", **fields}
