"""Everything known about one lead, as `leadrelay lead show` prints it (stable JSON shape)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.models import Account, Handoff, Lead, LeadEvent


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def find_lead(session: Session, email: str) -> Lead | None:
    return session.scalars(select(Lead).where(Lead.email == email.strip().lower())).first()


def lead_profile(session: Session, lead: Lead) -> dict[str, Any]:
    """The lead, its score with breakdown, owner, latest handoff, buying team and full history."""
    handoff = session.scalars(
        select(Handoff).where(Handoff.lead_id == lead.id).order_by(Handoff.created_at.desc(), Handoff.id.desc())
    ).first()
    history = session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.at, LeadEvent.id))
    account = session.get(Account, lead.account_id) if lead.account_id else None
    return {
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "title": lead.title,
        "company": lead.company,
        "company_domain": account.domain if account else lead.company_domain,
        "industry": lead.industry,
        "company_size": lead.company_size,
        "country": lead.country,
        "budget_usd": lead.budget_usd,
        "timeframe_months": lead.timeframe_months,
        "need": lead.need,
        "consent": lead.consent,
        "source": lead.source,
        "attributes": lead.attributes,
        "stage": lead.stage,
        "score": {
            "total": lead.score_total,
            "fit": lead.fit_score,
            "engagement": lead.engagement_score,
            "tier": lead.tier,
            "scored_at": iso(lead.scored_at),
            "breakdown": lead.score_breakdown,
        },
        "owner": lead.owner_rep,
        "handoff": {"rep": handoff.rep_email, "due_at": iso(handoff.due_at), "status": handoff.status} if handoff else None,
        "buying_team": buying_team(session, lead),
        "history": [{"at": iso(e.at), "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in history],
    }


def buying_team(session: Session, lead: Lead) -> list[dict[str, Any]]:
    """The other known people of the lead's account."""
    if lead.account_id is None:
        return []
    others = session.scalars(
        select(Lead).where(Lead.account_id == lead.account_id, Lead.id != lead.id).order_by(Lead.score_total.desc()).limit(20)
    )
    return [{"email": o.email, "name": " ".join(filter(None, [o.first_name, o.last_name])), "title": o.title,
             "stage": o.stage, "score": o.score_total} for o in others]
