"""Storing normalised intake: new leads, merges into existing ones, accounts and quarantine."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session

from leadrelay.history import append_history, history_row
from leadrelay.intake.normalise import LeadInput, Rejected
from leadrelay.models import Account, Lead, QuarantineEntry

# Mail providers whose domain says nothing about the lead's company.
FREE_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com aol.com icloud.com me.com "
    "gmx.de gmx.net web.de proton.me protonmail.com yandex.ru mail.ru qq.com 163.com".split()
)


@dataclass(frozen=True)
class IntakeItem:
    result: LeadInput | Rejected
    raw: str  # the input as it arrived, kept for quarantine
    origin: str  # where it came from, e.g. "leads.csv line 7" or "form:contact-us"


@dataclass
class IntakeCounts:
    created: int = 0
    merged: int = 0
    quarantined: int = 0

    def add(self, other: "IntakeCounts") -> None:
        self.created += other.created
        self.merged += other.merged
        self.quarantined += other.quarantined


def account_domain(lead: LeadInput) -> str | None:
    """The company domain a lead belongs to: the column, else its email's domain unless free mail."""
    domain = (lead.fields.get("company_domain") or "").lower().removeprefix("www.").strip(" /")
    if domain:
        return domain
    email_domain = lead.email.rsplit("@", 1)[1]
    return None if email_domain in FREE_MAIL_DOMAINS else email_domain


def store_intake(session: Session, items: list[IntakeItem], as_of: datetime, actor: str,
                 list_kind: str = "internal", flow_run_id: str | None = None) -> IntakeCounts:
    """Create or merge a lead for every accepted item and quarantine every rejected one."""
    counts = IntakeCounts()
    quarantine = [
        {"at": as_of, "source": item.origin, "reason": item.result.reason, "raw": item.raw}
        for item in items
        if isinstance(item.result, Rejected)
    ]
    if quarantine:
        session.execute(insert(QuarantineEntry), quarantine)
        counts.quarantined = len(quarantine)

    accepted = [item for item in items if isinstance(item.result, LeadInput)]
    if not accepted:
        return counts
    emails = {item.result.email for item in accepted}
    leads = {lead.email: lead for lead in session.scalars(select(Lead).where(Lead.email.in_(emails)))}
    accounts = _accounts_for(session, {account_domain(item.result) for item in accepted} - {None}, as_of)

    events = []
    for item in accepted:
        data: LeadInput = item.result
        detail = {"origin": item.origin, "source": data.fields.get("source"), "list": list_kind}
        if data.cleaned:
            detail["cleaned"] = list(data.cleaned)
        lead = leads.get(data.email)
        if lead is None:
            lead = Lead(email=data.email, list_kind=list_kind, created_at=as_of, updated_at=as_of, **data.fields,
                        attributes=dict(data.attributes))
            domain = account_domain(data)
            lead.account_id = accounts[domain].id if domain else None
            session.add(lead)
            leads[data.email] = lead
            counts.created += 1
            events.append((lead, "intake", detail))
        else:
            detail["changed"] = _merge(lead, data, as_of)
            counts.merged += 1
            events.append((lead, "intake_merged", detail))
    session.flush()
    append_history(session, [history_row(lead.id, kind, actor, as_of, detail, flow_run_id=flow_run_id)
                             for lead, kind, detail in events])
    return counts


def _merge(lead: Lead, data: LeadInput, as_of: datetime) -> list[str]:
    """A later fill updates the fields it has values for; returns the names that changed."""
    changed = []
    for name, value in data.fields.items():
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            changed.append(name)
    new_attributes = {**lead.attributes, **data.attributes}
    if new_attributes != lead.attributes:
        changed.extend(sorted(k for k in data.attributes if lead.attributes.get(k) != data.attributes[k]))
        lead.attributes = new_attributes
    lead.needs_scoring = True
    lead.updated_at = as_of
    return changed


def _accounts_for(session: Session, domains: set[str], as_of: datetime) -> dict[str, Account]:
    found = {a.domain: a for a in session.scalars(select(Account).where(Account.domain.in_(domains)))} if domains else {}
    for domain in sorted(domains - found.keys()):
        found[domain] = Account(domain=domain, created_at=as_of)
        session.add(found[domain])
    session.flush()
    return found
