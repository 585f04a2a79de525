"""The escalation email's signed reassign link, as plain functions of services, token and time:
`GET` shows the lead and the reps to choose from (recording nothing: link scanners open links),
`POST` moves the open handoff to the chosen rep.

A bad or expired link raises `LinkInvalid` / `LinkExpired` (turned into pages by
`leadrelay.web.errors`); a handoff that cannot be reassigned gives a 409 page, an unknown rep the
form again with a 422.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.handoff.reassign import ReassignError, UnknownRep, manager_context, reassign_handoff
from leadrelay.handoff.routing import is_out_of_office
from leadrelay.lead_view import display_name
from leadrelay.links.secret import ReassignLink, link_secret, read_reassign_link
from leadrelay.models import Handoff, HandoffStatus, Lead
from leadrelay.web.pages import Page, message_page
from leadrelay.wiring import Services


def reassign_page(services: Services, token: str, as_of: datetime) -> Page:
    """The lead of the escalated handoff and a choice of reps; a closed handoff gets a 409 page."""
    with unit_of_work(services.engine) as session:
        link = _verified(session, services, token, as_of)
        handoff = session.get(Handoff, link.handoff_id)
        problem = _not_open(handoff)
        if problem:
            return message_page("Nothing to reassign", problem, 409)
        return Page("reassign.html", _context(session, services, handoff, token, as_of))


def reassign_answer(services: Services, token: str, to_rep: str, as_of: datetime) -> Page:
    """Move the handoff to `to_rep` and confirm; an unknown rep shows the form again (422)."""
    with unit_of_work(services.engine) as session:
        link = _verified(session, services, token, as_of)
        actor = f"manager:{link.manager_email} (signed link)"
        try:
            opened = reassign_handoff(session, manager_context(session, services, actor), link.handoff_id, to_rep,
                                      as_of, by=actor)
        except UnknownRep as problem:
            handoff = session.get(Handoff, link.handoff_id)
            context = _context(session, services, handoff, token, as_of)
            context["error"] = str(problem)
            return Page("reassign.html", context, status=422)
        except ReassignError as problem:
            return message_page("Nothing to reassign", str(problem), 409)
    rep = services.rules.reps.rep(opened.rep_email)
    who = f"{rep.name} ({opened.rep_email})" if rep else opened.rep_email
    return message_page("Reassigned", f"The lead is now with {who}; both reps are emailed.", 200)


def _verified(session: Session, services: Services, token: str, as_of: datetime) -> ReassignLink:
    return read_reassign_link(token, link_secret(session, services.settings), as_of)


def _not_open(handoff: Handoff | None) -> str | None:
    if handoff is None:
        return "This handoff no longer exists."
    if handoff.status != HandoffStatus.open:
        return f"This handoff is already {handoff.status}; there is nothing to reassign."
    return None


def _context(session: Session, services: Services, handoff: Handoff, token: str, as_of: datetime) -> dict[str, Any]:
    lead = session.get(Lead, handoff.lead_id)
    person = {"email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name}
    # Every other rep may be chosen (the manager decides); who is away is said, not hidden.
    reps = [{"email": rep.email, "name": rep.name, "territories": ", ".join(rep.territories),
             "away": is_out_of_office(rep, as_of)}
            for rep in services.rules.reps.reps if rep.email != handoff.rep_email.lower()]
    return {"token": token, "name": display_name(person), "lead": lead, "handoff": handoff, "reps": reps,
            "error": None}
