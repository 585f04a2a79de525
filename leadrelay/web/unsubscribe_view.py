"""What the unsubscribe and re-subscribe links show and do, as plain functions of services, token and time.

A tampered link raises `LinkInvalid`, which `leadrelay.web.errors` shows as a 403 page; an
expired one gets its own page here (the shared one speaks to reps). The page confirming an
unsubscribe offers a signed re-subscribe button (`leadrelay.nurture.resubscribe`).
"""
from __future__ import annotations

from datetime import datetime

from leadrelay.db import unit_of_work
from leadrelay.links.secret import link_secret
from leadrelay.links.signing import LinkExpired
from leadrelay.nurture.resubscribe import NotResubscribable, read_resubscribe_link, resubscribe, resubscribe_url
from leadrelay.nurture.unsubscribe import read_unsubscribe_link, unsubscribe
from leadrelay.web.pages import Page, message_page
from leadrelay.wiring import Services

UNSUBSCRIBED = "You are unsubscribed. You will get no more marketing email from us at this address."
EXPIRED = "This unsubscribe link has expired; please use the link in a more recent email from us."
RESUBSCRIBED = "You are subscribed again. Thank you: we recorded your consent, and our emails will reach you again."
NOT_UNSUBSCRIBED = "This address is not unsubscribed, so there was nothing to change."
RESUBSCRIBE_EXPIRED = "This re-subscribe link has expired; sign up again through one of our forms."


def confirm_page(services: Services, token: str, as_of: datetime) -> Page:
    """The one-button confirmation; nothing is recorded on GET."""
    with unit_of_work(services.engine) as session:
        secret = link_secret(session, services.settings)
    try:
        email = read_unsubscribe_link(token, secret, as_of)
    except LinkExpired:
        return message_page("Link expired", EXPIRED, 403)
    return Page("unsubscribe.html", {"token": token, "address": masked(email)})


def unsubscribed_page(services: Services, token: str, as_of: datetime) -> Page:
    """Suppress the link's address (again is fine), say so, and offer to undo it."""
    try:
        with unit_of_work(services.engine) as session:
            secret = link_secret(session, services.settings)
            outcome = unsubscribe(session, token, secret, as_of)
    except LinkExpired:
        return message_page("Link expired", EXPIRED, 403)
    undo = resubscribe_url(outcome.email, secret, "", as_of)
    return Page("unsubscribed.html", {"message": UNSUBSCRIBED, "resubscribe_path": undo})


def resubscribe_confirm_page(services: Services, token: str, as_of: datetime) -> Page:
    """The one-button confirmation of a re-subscribe; nothing is recorded on GET."""
    with unit_of_work(services.engine) as session:
        secret = link_secret(session, services.settings)
    try:
        email = read_resubscribe_link(token, secret, as_of)
    except LinkExpired:
        return message_page("Link expired", RESUBSCRIBE_EXPIRED, 403)
    return Page("resubscribe.html", {"token": token, "address": masked(email)})


def resubscribed_page(services: Services, token: str, as_of: datetime) -> Page:
    """Undo the unsubscribe (consent recorded with time and source); refuse for a bounce or complaint."""
    try:
        with unit_of_work(services.engine) as session:
            outcome = resubscribe(session, token, link_secret(session, services.settings), as_of)
    except LinkExpired:
        return message_page("Link expired", RESUBSCRIBE_EXPIRED, 403)
    except NotResubscribable as refused:
        return message_page("Not possible", str(refused), 409)
    if not outcome.changed:
        return message_page("Nothing to change", NOT_UNSUBSCRIBED, 200)
    return message_page("Subscribed again", RESUBSCRIBED, 200)


def masked(email: str) -> str:
    """`carla@acme.com` as `c****@acme.com`: enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"
