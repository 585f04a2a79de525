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

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.models import Account, Handoff, Lead, LeadEvent
from leadrelay.raw_read import fetch_raw

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
    return lead_profiles(session, [lead])[0]


def lead_profiles(session: Session, leads: Sequence[Lead]) -> list[dict[str, Any]]:
    """`lead_profile` of each of `leads`, in order, read in four queries for the whole batch.
    A lead may be a `Lead` or any object with its column attributes."""
    if not leads:
        return []
    ids = [lead.id for lead in leads]
    account_ids = {lead.account_id for lead in leads if lead.account_id}
    latest = _latest_handoffs(session, ids)  # first: its autoflush writes what the caller changed
    history = _histories(session, ids)
    domains = dict(session.execute(select(Account.id, Account.domain).where(Account.id.in_(account_ids))).all()) \
        if account_ids else {}
    teams = _buying_teams(session, account_ids)
    return [_profile(lead, latest.get(lead.id), history[lead.id], domains, teams.get(lead.account_id, []))
            for lead in leads]


def _latest_handoffs(session: Session, ids: list[int]) -> dict[int, Any]:
    """Each lead's latest handoff (rep_email, due_at, status), as a row."""
    latest: dict[int, Any] = {}
    for row in session.execute(select(Handoff.lead_id, Handoff.rep_email, Handoff.due_at, Handoff.status)
                               .where(is_one_of(session, Handoff.lead_id, ids))
                               .order_by(Handoff.created_at.desc(), Handoff.id.desc())):
        latest.setdefault(row.lead_id, row)
    return latest


def _histories(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each lead's history events (at, kind, actor, detail) in order, times as ISO 8601."""
    history: dict[int, list[dict[str, Any]]] = {lead_id: [] for lead_id in ids}
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for event in session.execute(select(LeadEvent.lead_id, LeadEvent.at, LeadEvent.kind, LeadEvent.actor,
                                            LeadEvent.detail).where(is_one_of(session, LeadEvent.lead_id, ids))
                                     .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)):
            history[event.lead_id].append({"at": iso(event.at), "kind": event.kind, "actor": event.actor,
                                           "detail": event.detail})
        return history
    # Plain tuples: SQLAlchemy's rows cost more than the query for a batch's ~80k events.
    rows = fetch_raw(connection, f"SELECT lead_id, at, kind, actor, detail FROM {LeadEvent.__tablename__} "
                                 "WHERE lead_id = ANY(%s) ORDER BY lead_id, at, id", [sorted(set(ids))])
    moments: dict[datetime, str] = {}  # a batch's events share few moments
    for lead_id, at, kind, actor, detail in rows:
        if at not in moments:
            moments[at] = _naive_utc_iso(at)
        history[lead_id].append({"at": moments[at], "kind": kind, "actor": actor, "detail": detail})
    return history


def _naive_utc_iso(moment: datetime) -> str:
    """`iso` of a naive UTC timestamp as the column holds it (what UTCDateTime would read back)."""
    return iso(moment.replace(tzinfo=timezone.utc))


def _profile(lead: Lead, handoff: Handoff | None, history: list[dict[str, Any]], domains: dict[int, str],
             team: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **lead_facts(lead),
        "company_domain": domains[lead.account_id] if lead.account_id in domains else lead.company_domain,
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
        # The other known people of the lead's account.
        "buying_team": [{key: value for key, value in member.items() if key != "id"}
                        for member in team if member["id"] != lead.id][:BUYING_TEAM_SIZE],
        "history": history,
    }


BUYING_TEAM_SIZE = 20


def _buying_teams(session: Session, account_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The highest-scored people of each account, enough to show `BUYING_TEAM_SIZE` others."""
    if not account_ids:
        return {}
    place = func.row_number().over(partition_by=Lead.account_id,
                                   order_by=(Lead.score_total.desc(), Lead.id)).label("place")
    ranked = select(Lead.account_id, Lead.id, Lead.email, Lead.first_name, Lead.last_name, Lead.title,
                    Lead.stage, Lead.score_total, place).where(Lead.account_id.in_(account_ids)).subquery()
    teams: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(select(ranked).where(ranked.c.place <= BUYING_TEAM_SIZE + 1)
                               .order_by(ranked.c.account_id, ranked.c.place)):
        teams.setdefault(row.account_id, []).append({
            "id": row.id, "email": row.email, "name": full_name(row._mapping), "title": row.title,
            "stage": row.stage, "score": row.score_total})
    return teams
