"""`leadrelay erase EMAIL`: delete a person's data, keep an anonymised tombstone for the counts.

What goes, in the caller's unit of work (one person: a handful of statements, one commit):
- the lead's own fields (names, title, company, phone, need, ...), its attributes and score
  breakdown; its address becomes `erased-<lead id>@invalid` (the id says nothing about the
  address, so the placeholder cannot be turned back), its email status `erased`;
- every history event's detail except known, non-personal keys (stages, reasons, tracks, score
  numbers, ...), and any kept text that still holds the address or the name; free-text notes go;
- engagement details (URLs may carry the address), outbox subjects, bodies, headers, render
  contexts and the address the lead's emails went to; emails not yet sent are `cancelled`;
- quarantined inputs and form submissions that contain the address, the address's suppression
  row and its soft bounces.

What stays, so the funnel counts stay right: the lead row (stage, source, list, owner rep, dates,
score numbers and tier), its stage history (kinds, times, actors, `to_stage`), handoffs (rep,
dates, SLA, reason codes), enrollments and engagement kinds and times. An open handoff is
`withdrawn` (the rep gets nothing more about the lead) and active enrollments end (`erased`).

An erased lead is never mailed or handed off again: its address is invalid, its email status
is not `ok` (nurture exits it) and the hand-off claim skips it. A later import or form fill with
the same address makes a new lead: nothing remains that could recognise the address, and a
person who signs up again is a new contact with new consent; the old data is gone for good, so
nothing of it can come back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlmodel import Session

from leadrelay.bulk import update_rows
from leadrelay.history import append_history, history_row
from leadrelay.intake.store import FIELD_COLUMNS
from leadrelay.models import (EmailStatus, EngagementEvent, Handoff, HandoffStatus, InboundLead, Lead, LeadEvent,
                              OutboxEmail, OutboxStatus, QuarantineEntry, SoftBounce, Suppression)
from leadrelay.nurture.exits import exit_enrollments
from leadrelay.nurture.suppression import normalise_email

ERASED = "erased"
PLACEHOLDER = re.compile(r"^erased-\d+@invalid$")
# History detail keys that never hold personal data: their values stay when they are numbers or
# short codes (and hold neither the address nor the name); everything else in a detail goes.
SAFE_DETAIL_KEYS = frozenset({
    "from", "to", "reason", "track", "template", "step", "tier", "total", "fit", "engagement",
    "previous_total", "handoff", "handoff_id", "rep", "due_at", "hours_to_accept", "business_hours",
    "attempt", "sla_breached", "action", "manager", "rule", "strategy", "fallback", "enrollment", "after",
    "source", "list", "kind", "sendgrid_event", "soft_bounces", "within_days", "open_handoff", "amount",
    "outcome", "request",
})
_SHORT = 100
_REASON_CODE = re.compile(r"^[a-z][a-z0-9_:-]{0,60}$")


class ErasureRefused(ValueError):
    """The request cannot be carried out; the message is one sentence without the address."""


class NothingToErase(LookupError):
    """No lead and no stored input has the address."""


@dataclass(frozen=True)
class Erasure:
    """What one erasure did (no personal data in it)."""

    lead_id: int | None
    placeholder: str | None
    history_events: int = 0
    outbox_emails: int = 0
    engagement_events: int = 0
    quarantined: int = 0
    form_submissions: int = 0
    suppressions: int = 0
    soft_bounces: int = 0
    # The idempotency keys of the emails emptied here: the outbox backend's .eml copies to delete.
    email_keys: tuple[str, ...] = ()


def placeholder_for(lead_id: int) -> str:
    """The tombstone's address: unique, undeliverable (`.invalid`, RFC 2606) and not derived from the old one."""
    return f"erased-{lead_id}@invalid"


def check_address(email: str) -> str:
    """The address as stored (trimmed, lower-case); ErasureRefused for an empty, malformed or placeholder one."""
    address = normalise_email(email)
    if not address or "@" not in address or any(c.isspace() for c in address):
        raise ErasureRefused("that is not an email address.")
    if PLACEHOLDER.match(address):
        raise ErasureRefused("that address is an erased lead's placeholder; it holds no personal data.")
    return address


def erase_person(session: Session, email: str, as_of: datetime, actor: str) -> Erasure:
    """Erase everything stored about `email` (see the module), in the caller's unit of work.

    Raises ErasureRefused for an unusable address and NothingToErase when nothing holds it.
    """
    address = check_address(email)
    lead = session.scalars(select(Lead).where(Lead.email == address).with_for_update()).first()
    names = _names(lead) if lead else []
    full_name = " ".join(p.strip() for p in (lead.first_name, lead.last_name) if p and p.strip()).lower() if lead else ""
    counts = {
        "quarantined": _delete_matching(session, QuarantineEntry, [QuarantineEntry.raw, QuarantineEntry.reason], address),
        "form_submissions": _delete_matching(session, InboundLead, [cast(InboundLead.payload, Text)], address),
        "suppressions": session.execute(delete(Suppression).where(Suppression.email == address)).rowcount,
        "soft_bounces": session.execute(delete(SoftBounce).where(SoftBounce.email == address)).rowcount,
    }
    keys: list[str] = []
    # The lead's own emails first (they take its placeholder); then any other email to the address.
    own = _scrub_outbox(session, lead.id, address, keys, placeholder_for(lead.id)) if lead else 0
    outbox_to_address = own + _scrub_outbox(session, None, address, keys)
    if lead is None:
        if not any(counts.values()) and not outbox_to_address:
            raise NothingToErase("no lead or stored input has that email address; nothing was erased.")
        return Erasure(lead_id=None, placeholder=None, outbox_emails=outbox_to_address, email_keys=tuple(keys),
                       **counts)
    placeholder = placeholder_for(lead.id)
    _tombstone(lead, placeholder, as_of)
    session.flush()
    outbox = outbox_to_address
    outbox += _redact_other_emails(session, lead.id, address, full_name if " " in full_name else None, keys)
    engagement = session.execute(update(EngagementEvent).where(EngagementEvent.lead_id == lead.id)
                                 .values(detail={})).rowcount
    session.execute(update(Handoff).where(Handoff.lead_id == lead.id, Handoff.status == HandoffStatus.open)
                    .values(status=HandoffStatus.withdrawn.value, answered_at=as_of))
    _scrub_handoffs(session, lead.id, [address, *names])
    history = _scrub_history(session, lead.id, [address, *names])
    exit_enrollments(session, [lead.id], ERASED, as_of, actor)
    append_history(session, [history_row(lead.id, ERASED, actor, as_of, {"request": "erasure"})])
    return Erasure(lead_id=lead.id, placeholder=placeholder, history_events=history, outbox_emails=outbox,
                   engagement_events=engagement, email_keys=tuple(sorted(set(keys))), **counts)


def _redact_other_emails(session: Session, lead_id: int, address: str, full_name: str | None,
                         keys: list[str]) -> int:
    """Other leads' emails that show this person (a rep notification lists the buying team): the
    person's entry leaves their render context, and the address and full name (first and last, so
    a common first name alone never blanks someone else's text) are blanked in what was already
    rendered. Returns how many rows changed."""
    needles = [address] + ([full_name] if full_name else [])
    columns = [OutboxEmail.subject, OutboxEmail.html, OutboxEmail.text, cast(OutboxEmail.render_context, Text)]
    mentions = or_(*(func.lower(c).contains(n, autoescape=True) for c in columns for n in needles))
    rows = list(session.scalars(select(OutboxEmail).where(OutboxEmail.lead_id.is_distinct_from(lead_id), mentions)))
    for row in rows:
        keys.append(row.idempotency_key)
        row.subject, row.html, row.text = (_blank(v, needles) for v in (row.subject, row.html, row.text))
        row.render_context = _without_person(row.render_context, address, needles)
    session.flush()
    return len(rows)


def _blank(text: str, needles: list[str]) -> str:
    for needle in needles:
        text = re.sub(re.escape(needle), "[erased]", text, flags=re.IGNORECASE)
    return text


def _without_person(value: Any, address: str, needles: list[str]) -> Any:
    """`value` with every mapping whose `email` is the address removed and the needles blanked."""
    if isinstance(value, dict):
        return {k: _without_person(v, address, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_person(v, address, needles) for v in value
                if not (isinstance(v, dict) and normalise_email(str(v.get("email") or "")) == address)]
    return _blank(value, needles) if isinstance(value, str) else value


def _names(lead: Lead) -> list[str]:
    """The personal strings a kept text must not contain (lower-case, two characters or more)."""
    parts = [lead.first_name, lead.last_name, lead.phone,
             " ".join(p for p in (lead.first_name, lead.last_name) if p)]
    return sorted({p.strip().lower() for p in parts if p and len(p.strip()) >= 2})


def _tombstone(lead: Lead, placeholder: str, as_of: datetime) -> None:
    for name in FIELD_COLUMNS:
        if name != "source":
            setattr(lead, name, None)
    lead.email, lead.attributes, lead.score_breakdown, lead.account_id = placeholder, {}, [], None
    lead.email_status, lead.email_status_at, lead.email_status_reason = EmailStatus.erased.value, as_of, "erased on request"
    lead.needs_scoring, lead.updated_at = False, as_of


def _delete_matching(session: Session, model: Any, columns: list[Any], address: str) -> int:
    """Delete the rows of `model` where any of `columns` contains the address (any case)."""
    matches = or_(*(func.lower(column).contains(address, autoescape=True) for column in columns))
    return session.execute(delete(model).where(matches).execution_options(synchronize_session=False)).rowcount


def _scrub_outbox(session: Session, lead_id: int | None, address: str, keys: list[str],
                  placeholder: str = "erased@invalid") -> int:
    """Empty the contents of the lead's emails (or, without a lead, of emails to the address);
    the ones not sent yet are cancelled. Returns how many rows were touched."""
    about = OutboxEmail.lead_id == lead_id if lead_id is not None else func.lower(OutboxEmail.to_email) == address
    rows = list(session.scalars(select(OutboxEmail).where(about)))
    for row in rows:
        keys.append(row.idempotency_key)
        row.subject, row.html, row.text, row.headers, row.render_context, row.last_error = "", "", "", {}, None, None
        if row.to_email.strip().lower() == address:
            row.to_email, row.to_name = placeholder, ""
        if row.status not in (OutboxStatus.sent, "sending"):
            row.status = OutboxStatus.cancelled.value
    session.flush()
    return len(rows)


def _scrub_handoffs(session: Session, lead_id: int, personal: list[str]) -> None:
    for handoff in session.scalars(select(Handoff).where(Handoff.lead_id == lead_id)):
        if handoff.reason and not _REASON_CODE.match(handoff.reason):
            handoff.reason = None  # free text (a note) may name the person; the reason codes stay
        handoff.answer_note = None  # the rep's note on a rejection: free text too
        handoff.route = {k: v for k, v in (handoff.route or {}).items() if k in SAFE_DETAIL_KEYS and _safe(v, personal)}
    session.flush()


def _scrub_history(session: Session, lead_id: int, personal: list[str]) -> int:
    """Keep only safe keys of each event's detail; one bulk update. Returns how many events changed."""
    changed = []
    for event_id, detail in session.execute(select(LeadEvent.id, LeadEvent.detail).where(LeadEvent.lead_id == lead_id)):
        kept = {k: v for k, v in (detail or {}).items() if k in SAFE_DETAIL_KEYS and _safe(v, personal)}
        if kept != detail:
            changed.append({"id": event_id, "detail": kept})
    update_rows(session.connection(), LeadEvent.__table__, changed)
    return len(changed)


def _safe(value: Any, personal: list[str]) -> bool:
    """A number, a flag, or a short text holding none of the personal strings."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_safe(item, personal) for item in value) and len(value) <= 50
    if not isinstance(value, str) or len(value) > _SHORT:
        return False
    lowered = value.lower()
    return not any(p in lowered for p in personal)
