"""The rep's outcome page behind the same signed handoff link, once the rep accepted the lead:
"qualified (SQL)", "won" (with an optional amount) and "lost" (with a reason), recorded through
`leadrelay.outcomes.record` with the rep as actor.

Raises `LinkInvalid` / `LinkExpired` for a bad link and `HandoffNotFound` / `HandoffClosed` when
the lead is not (or no longer) this rep's accepted lead; `leadrelay.web.errors` shows those.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.handoff.answers import HandoffClosed, HandoffNotFound
from leadrelay.lead_view import display_name, lead_profile
from leadrelay.links.secret import HandoffLink, link_secret, read_handoff_link
from leadrelay.models import Handoff, HandoffStatus, Lead, Stage
from leadrelay.outcomes.record import OutcomeRequest, record_one
from leadrelay.outcomes.rules import OutcomeError, clean_reason, parse_amount
from leadrelay.web.pages import Page
from leadrelay.wiring import Services

# What the page offers, by the lead's stage now: (outcome, button label).
CHOICES = {
    Stage.sal.value: [("sql", "Qualified (SQL)"), ("won", "Won"), ("lost", "Lost")],
    Stage.sql.value: [("won", "Won"), ("lost", "Lost")],
}
PAGE_OUTCOMES = ("sql", "won", "lost")


def is_accepted_by(handoff: Handoff, rep_email: str) -> bool:
    """Whether `handoff` was accepted by `rep_email` (case-insensitive)."""
    return handoff.status == HandoffStatus.accepted and handoff.rep_email.strip().lower() == rep_email.strip().lower()


def outcome_page(services: Services, token: str, as_of: datetime, notice: str | None = None,
                 form_action: str = "outcome") -> Page:
    """The accepted lead with the outcome forms its stage allows (none once it is won or lost).

    `form_action` is where the forms post, relative to the page's own URL (`/handoff/{token}`
    shows this page too, once the handoff is accepted)."""
    with unit_of_work(services.engine) as session:
        link = _verified_link(session, services, token, as_of)
        lead = _reps_accepted_lead(session, link)
        return Page("outcome.html", {**_context(session, lead, notice=notice), "form_action": form_action})


def record_outcome_page(services: Services, token: str, outcome: str, reason: str | None, amount: str | None,
                        as_of: datetime) -> Page:
    """Record the rep's outcome and show the page again with a confirmation; a refused or
    incomplete outcome shows the forms again with the reason (422)."""
    with unit_of_work(services.engine) as session:
        link = _verified_link(session, services, token, as_of)
        lead = _reps_accepted_lead(session, link)
        rep = link.rep_email.strip().lower()
        try:
            chosen = (outcome or "").strip().lower()
            if chosen not in PAGE_OUTCOMES:
                raise OutcomeError("Please choose Qualified (SQL), Won or Lost.")
            why = clean_reason(reason)
            if chosen == "lost" and not why:
                raise OutcomeError("Please say in a few words why the deal was lost.")
            request = OutcomeRequest(email=lead.email, outcome=chosen, occurred_at=as_of,
                                     amount_cents=parse_amount(amount), reason=why, rep=rep)
            record_one(session, request, as_of, actor=f"rep:{rep}")
        except OutcomeError as problem:
            session.rollback()
            lead = session.get(Lead, lead.id, populate_existing=True)
            message = str(problem)
            return Page("outcome.html", _context(session, lead, error=message[:1].upper() + message[1:]), status=422)
        lead = session.get(Lead, lead.id, populate_existing=True)
        return Page("outcome.html", _context(session, lead, notice=f"Thank you: {chosen} is recorded; "
                                                                  f"the lead is now {lead.stage}."))


def _verified_link(session: Session, services: Services, token: str, as_of: datetime) -> HandoffLink:
    return read_handoff_link(token, link_secret(session, services.settings), as_of)


def _reps_accepted_lead(session: Session, link: HandoffLink) -> Lead:
    handoff = session.get(Handoff, link.handoff_id)
    if handoff is None:
        raise HandoffNotFound("This handoff no longer exists; ask your manager about the lead.")
    if not is_accepted_by(handoff, link.rep_email):
        raise HandoffClosed("Outcomes are recorded by the rep who accepted the lead, once it is accepted.")
    lead = session.get(Lead, handoff.lead_id, populate_existing=True)
    if (lead.owner_rep or "").strip().lower() != link.rep_email.strip().lower():
        raise HandoffClosed("This lead is no longer yours; its outcome is recorded by its current rep.")
    return lead


def _context(session: Session, lead: Lead, notice: str | None = None, error: str | None = None) -> dict[str, Any]:
    profile = lead_profile(session, lead)
    return {"lead": profile, "name": display_name(profile), "stage": lead.stage,
            "choices": CHOICES.get(lead.stage, []), "notice": notice, "error": error, "form_action": "outcome"}
