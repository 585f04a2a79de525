"""What the signed handoff link shows and does, as plain functions of services, token and time.

Raises `LinkInvalid` / `LinkExpired` for a bad link and `HandoffNotFound` / `HandoffClosed` for a
handoff that cannot be answered; `leadrelay.web.errors` turns those into polite pages.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.handoff.answers import (
    REJECT_REASONS,
    HandoffNotFound,
    InvalidAnswer,
    answer_handoff,
    require_answerable,
)
from leadrelay.lead_view import display_name, lead_profile
from leadrelay.links.secret import HandoffLink, link_secret, read_handoff_link
from leadrelay.web.outcome_view import is_accepted_by, outcome_page
from leadrelay.web.pages import Page
from leadrelay.wiring import Services
from leadrelay.models import Handoff, Lead


def handoff_page(services: Services, token: str, action: str | None, as_of: datetime) -> Page:
    """The lead behind an open handoff, with the Accept / Reject forms (`action` pre-selects one).

    Only shows: email link scanners open links with GET, so nothing is recorded here.
    """
    with unit_of_work(services.engine) as session:
        link = _verified_link(session, services, token, as_of)
        handoff = session.get(Handoff, link.handoff_id)
        accepted = handoff is not None and is_accepted_by(handoff, link.rep_email)
        context = {} if accepted else _page_context(session, _answerable_handoff(session, link), token)
    if accepted:
        # Once accepted, the same link is where the rep says what became of the lead.
        return outcome_page(services, token, as_of, notice="You already accepted this lead; say here what became of it.",
                            form_action=f"{token}/outcome")
    context["action"] = action if action in ("accept", "reject") else None
    return Page("handoff.html", context)


def answer_page(
    services: Services, token: str, decision: str, reason: str | None, note: str | None, as_of: datetime
) -> Page:
    """Record the rep's answer and confirm it; an incomplete answer shows the form again (422)."""
    with unit_of_work(services.engine) as session:
        link = _verified_link(session, services, token, as_of)
        try:
            outcome = answer_handoff(session, link.handoff_id, link.rep_email, decision, reason, note,
                                     as_of=as_of, actor=f"rep:{link.rep_email}")
        except InvalidAnswer as problem:
            context = _page_context(session, _answerable_handoff(session, link), token)
            context.update(action="reject" if decision == "reject" else None, error=str(problem),
                           chosen_reason=reason or "", note=note or "")
            return Page("handoff.html", context, status=422)
    return Page("answered.html", {"outcome": outcome, "token": token})


def _verified_link(session: Session, services: Services, token: str, as_of: datetime) -> HandoffLink:
    return read_handoff_link(token, link_secret(session, services.settings), as_of)


def _answerable_handoff(session: Session, link: HandoffLink) -> Handoff:
    handoff = session.get(Handoff, link.handoff_id)
    if handoff is None:
        raise HandoffNotFound("This handoff no longer exists; ask your manager about the lead.")
    require_answerable(handoff, link.rep_email)
    return handoff


def _page_context(session: Session, handoff: Handoff, token: str) -> dict[str, Any]:
    lead = session.get(Lead, handoff.lead_id)
    profile = lead_profile(session, lead)
    return {
        "token": token,
        "lead": profile,
        "name": display_name(profile),
        "handoff": {"rep": handoff.rep_email, "due_at": handoff.due_at, "created_at": handoff.created_at},
        "reasons": list(REJECT_REASONS.items()),
        "action": None,
        "error": None,
        "chosen_reason": "",
        "note": "",
    }
