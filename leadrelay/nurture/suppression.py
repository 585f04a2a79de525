"""Suppression: addresses that must never get marketing email again, and what suppressing does.

`suppress` is the one way in (unsubscribe link, SendGrid bounce / spam report / unsubscribe, and
later erasure). It works in the caller's unit of work and never commits. Calling it again for
an address already suppressed changes nothing and writes no history, so a retried webhook or a
second click on an unsubscribe link has one effect.

Two records, on purpose: the `suppression` table is the address-level list (it also holds
addresses that are no lead, and is what the nurture flow checks before every send), and the
lead's `email_status` (ok / unsubscribed / bounced / complained, with when and why) is what a
person reads in `lead show`. Neither is a stage: suppressing never changes the sales stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Iterable

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import claim, dialect_insert
from leadrelay.nurture.exits import exit_enrollments
from leadrelay.history import append_history, history_row
from leadrelay.models import EmailStatus, Handoff, HandoffStatus, Lead, Suppression

# Why an address is suppressed (SendGrid's event names; `unsubscribed` from our own link) -> the
# lead's email status. One soft bounce never gets here: nurture.soft_bounces counts them first.
EMAIL_STATUS_FOR_REASON = MappingProxyType({
    "unsubscribed": EmailStatus.unsubscribed,
    "unsubscribe": EmailStatus.unsubscribed,
    "group_unsubscribe": EmailStatus.unsubscribed,
    "bounce": EmailStatus.bounced,
    "dropped": EmailStatus.bounced,
    "spamreport": EmailStatus.complained,
    # N soft bounces within the configured window (see nurture.soft_bounces).
    "soft_bounce": EmailStatus.bounced,
})


@dataclass(frozen=True)
class SuppressOutcome:
    """What one `suppress` call did."""

    email: str
    newly_suppressed: bool  # False: the address was already suppressed, nothing was written
    lead_id: int | None = None  # the lead with this address, if there is one
    enrollments_exited: int = 0


def normalise_email(email: str) -> str:
    """Addresses are compared trimmed and lower-cased, as intake stores them."""
    return (email or "").strip().lower()


def email_status_for(reason: str) -> EmailStatus:
    """The email status a suppression `reason` means; ValueError for a reason no caller gives."""
    try:
        return EMAIL_STATUS_FOR_REASON[reason]
    except KeyError:
        raise ValueError(f"Unknown suppression reason {reason!r}.") from None


def suppress(session: Session, email: str, reason: str, source: str, as_of: datetime, actor: str,
             detail: dict | None = None, flow_run_id: str | None = None) -> SuppressOutcome:
    """Suppress `email` for `reason` (a key of EMAIL_STATUS_FOR_REASON, e.g. `unsubscribed`,
    `bounce`) reported by `source` (e.g. `link`, `sendgrid`), at `as_of`, in the caller's transaction.

    The first time: a Suppression row is stored; the lead with that address (if any) gets the
    email status the reason means, with when and why (`email_status_at`, `email_status_reason`),
    a `suppressed` history event (`detail` added to it), and every active nurture enrollment of it
    is exited with `exit_reason=reason` (history `nurture_exited`). Its stage and any open handoff
    are left alone: a rep keeps working a lead who only stopped marketing email (the open handoff
    is named in the `suppressed` event). Any later call for the same address does nothing.
    Raises ValueError for an empty address or an unknown reason.
    """
    address = normalise_email(email)
    if not address:
        raise ValueError("Cannot suppress an empty email address.")
    status = email_status_for(reason)
    if not _insert_suppression(session, address, reason, source, as_of):
        return SuppressOutcome(email=address, newly_suppressed=False)
    lead = _locked_lead(session, address)
    if lead is None:
        return SuppressOutcome(email=address, newly_suppressed=True)
    lead.email_status, lead.email_status_at, lead.email_status_reason = status.value, as_of, reason[:200]
    lead.updated_at = as_of
    suppressed = {"reason": reason, "source": source, **(detail or {})}
    open_handoff = _open_handoff_id(session, lead.id)
    if open_handoff is not None:
        # Left open on purpose: a rep may still call someone who only stopped marketing email.
        suppressed["open_handoff"] = open_handoff
    append_history(session, [history_row(lead.id, "suppressed", actor, as_of, suppressed, flow_run_id=flow_run_id)])
    exited = exit_enrollments(session, [lead.id], reason, as_of, actor, flow_run_id)
    return SuppressOutcome(email=address, newly_suppressed=True, lead_id=lead.id, enrollments_exited=exited)


def is_suppressed(session: Session, emails: Iterable[str]) -> set[str]:
    """The addresses among `emails` that are suppressed, trimmed and lower-cased."""
    wanted = {normalise_email(email) for email in emails} - {""}
    if not wanted:
        return set()
    found: set[str] = set()
    ordered = sorted(wanted)
    # Chunks keep the IN list under SQLite's bound-parameter limit for big batches.
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        found.update(session.scalars(select(Suppression.email).where(Suppression.email.in_(chunk))))
    return found


def _insert_suppression(session: Session, address: str, reason: str, source: str, as_of: datetime) -> bool:
    """Insert the row unless the address is there already; True when this call inserted it.

    INSERT ... ON CONFLICT DO NOTHING RETURNING: two concurrent suppressions of one address never
    fail, and exactly one of them gets the row back and does the rest.
    """
    statement = dialect_insert(session, Suppression).values(email=address, reason=reason[:60], source=source[:60], at=as_of)
    inserted = session.execute(statement.on_conflict_do_nothing(index_elements=["email"]).returning(Suppression.email))
    return inserted.first() is not None


def _locked_lead(session: Session, address: str) -> Lead | None:
    # Waits for (rather than skips) a concurrent writer of the same lead.
    query = claim(session, select(Lead).where(Lead.email == address), skip_locked=False)
    return session.scalars(query.execution_options(populate_existing=True)).first()


def _open_handoff_id(session: Session, lead_id: int) -> int | None:
    return session.scalar(select(Handoff.id).where(Handoff.lead_id == lead_id, Handoff.status == HandoffStatus.open)
                          .order_by(Handoff.id.desc()).limit(1))
