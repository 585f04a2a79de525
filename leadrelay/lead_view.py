"""How a lead is seen outside the database: the one place a `Lead` row becomes a plain mapping.

- `lead_facts`: the lead's own fields (who it is); every other view starts from it. Nurture track
  choice, send-window time zones and nurture emails read this.
- `rule_view`: the facts plus score, tier and list under the names config rules use
  (`leadrelay.lead_fields.field_value`); routing reads this.
- `lead_profile`: everything known about one lead, as `leadrelay lead show` prints it (stable JSON
  shape), the rep's email and page show it, and `leadrelay preview --lead` renders with it.
- `full_name` / `display_name`: a person's name as every email and page writes it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.models import Account, Handoff, Lead, LeadEvent

# A lead's own fields, in the order `lead show --json` lists them.
FACT_FIELDS = ("email", "first_name", "last_name", "title", "company", "company_domain", "industry",
               "company_size", "country", "budget_usd", "timeframe_months", "need", "consent", "source",
               "attributes", "stage")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def find_lead(session: Session, email: str) -> Lead | None:
    return session.scalars(select(Lead).where(Lead.email == email.strip().lower())).first()


def lead_facts(lead: Lead) -> dict[str, Any]:
    """The lead's own fields (`FACT_FIELDS`) as a new dict; nothing from other tables."""
    return {name: getattr(lead, name) for name in FACT_FIELDS}


def rule_view(lead: Lead) -> dict[str, Any]:
    """What a routing or scoring rule may name about `lead`: its facts, phone, ids, and its score
    as `score` / `score_total`, `fit`, `engagement`, `tier`, and its list as `list` / `list_kind`."""
    return {**lead_facts(lead), "id": lead.id, "account_id": lead.account_id, "phone": lead.phone,
            "tier": lead.tier, "score": lead.score_total, "score_total": lead.score_total,
            "fit": lead.fit_score, "engagement": lead.engagement_score,
            "list": lead.list_kind, "list_kind": lead.list_kind}


def full_name(person: Mapping[str, Any]) -> str:
    """"First Last" from a mapping with `first_name` / `last_name`, leaving out what is missing
    ("" when both are)."""
    return " ".join(part for part in (person.get("first_name"), person.get("last_name")) if part)


def display_name(person: Mapping[str, Any]) -> str:
    """The person's full name, or their email address when they gave no name."""
    return full_name(person) or person["email"]


def lead_profile(session: Session, lead: Lead) -> dict[str, Any]:
    """The lead's facts (its account's domain, when it has an account), its score with breakdown,
    owner, latest handoff, buying team and full history, times as ISO 8601 strings."""
    handoff = session.scalars(
        select(Handoff).where(Handoff.lead_id == lead.id).order_by(Handoff.created_at.desc(), Handoff.id.desc())
    ).first()
    history = session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.at, LeadEvent.id))
    account = session.get(Account, lead.account_id) if lead.account_id else None
    return {
        **lead_facts(lead),
        "company_domain": account.domain if account else lead.company_domain,
        "score": {
            "total": lead.score_total,
            "fit": lead.fit_score,
            "engagement": lead.engagement_score,
            "tier": lead.tier,
            "scored_at": iso(lead.scored_at),
            "breakdown": lead.score_breakdown,
        },
        "owner": lead.owner_rep,
        # Marketing email only; the stage above is untouched by it.
        "email_status": lead.email_status,
        "email_status_at": iso(lead.email_status_at),
        "email_status_reason": lead.email_status_reason,
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
    return [{"email": o.email, "name": full_name(lead_facts(o)), "title": o.title,
             "stage": o.stage, "score": o.score_total} for o in others]
