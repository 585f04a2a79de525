"""What the unsubscribe link shows and does, as plain functions of services, token and time.

A tampered link raises `LinkInvalid`, which `leadrelay.web.errors` shows as a 403 page; an
expired one gets its own page here (the shared one speaks to reps).
"""
from __future__ import annotations

from datetime import datetime

from leadrelay.db import unit_of_work
from leadrelay.links.secret import link_secret
from leadrelay.links.signing import LinkExpired
from leadrelay.nurture.unsubscribe import read_unsubscribe_link, unsubscribe
from leadrelay.web.pages import Page, message_page
from leadrelay.wiring import Services

UNSUBSCRIBED = "You are unsubscribed. You will get no more marketing email from us at this address."
EXPIRED = "This unsubscribe link has expired; please use the link in a more recent email from us."


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
    """Suppress the link's address (again is fine) and say so."""
    try:
        with unit_of_work(services.engine) as session:
            unsubscribe(session, token, link_secret(session, services.settings), as_of)
    except LinkExpired:
        return message_page("Link expired", EXPIRED, 403)
    return message_page("Unsubscribed", UNSUBSCRIBED, 200)


def masked(email: str) -> str:
    """`carla@acme.com` as `c****@acme.com`: enough to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"
