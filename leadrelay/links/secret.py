"""The secret that signs rep links, and the signed Accept / Reject links of a handoff.

The secret is `LEADRELAY_SECRET_KEY` when set; otherwise one is generated into the database on
first use (table `app_secret`), so every process sharing the database signs with the same key.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from leadrelay.config.settings import Settings
from leadrelay.links.signing import LinkInvalid, sign, verify
from leadrelay.models import AppSecret

LINK_SECRET_NAME = "link_signing_key"
HANDOFF_PURPOSE = "handoff"


def link_secret(session: Session, settings: Settings) -> str:
    """The link-signing secret: the configured one, else the stored one, made and stored on first use.

    Safe when two processes race to create it: the loser of the insert reads the winner's value.
    Only the insert is undone on that race (a savepoint), never the caller's other work.
    """
    configured = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if configured:
        return configured
    stored = session.get(AppSecret, LINK_SECRET_NAME)
    if stored is not None:
        return stored.value
    try:
        with session.begin_nested():
            session.add(AppSecret(name=LINK_SECRET_NAME, value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process stored its key between our read and our insert: use that one
    return session.get(AppSecret, LINK_SECRET_NAME, populate_existing=True).value


def handoff_links(
    handoff_id: int, rep_email: str, secret: str, base_url: str, expires_at: datetime
) -> tuple[str, str]:
    """(accept_url, reject_url) for one handoff and its rep, both valid until `expires_at`.

    Both carry the same token; `?action=` only pre-selects the answer on the page it opens.
    """
    token = sign(purpose=HANDOFF_PURPOSE, data={"h": handoff_id, "r": rep_email}, secret=secret, expires_at=expires_at)
    page = f"{base_url.rstrip('/')}/handoff/{quote(token, safe='')}"
    return f"{page}?action=accept", f"{page}?action=reject"


@dataclass(frozen=True)
class HandoffLink:
    """What a genuine handoff link says: which handoff, and which rep it was sent to."""

    handoff_id: int
    rep_email: str


def read_handoff_link(token: str, secret: str, as_of: datetime) -> HandoffLink:
    """The handoff and rep a token was signed for.

    Raises `leadrelay.links.signing.LinkInvalid` (altered, malformed, other purpose or secret) or
    `LinkExpired` (genuine but past its expiry at `as_of`).
    """
    data = verify(token, purpose=HANDOFF_PURPOSE, secret=secret, as_of=as_of)
    handoff_id, rep_email = data.get("h"), data.get("r")
    # A genuine signature over other data means a token from another format: treat as invalid.
    if not isinstance(handoff_id, int) or not isinstance(rep_email, str) or not rep_email:
        raise LinkInvalid("The link is malformed.")
    return HandoffLink(handoff_id=handoff_id, rep_email=rep_email)


REASSIGN_PURPOSE = "reassign"


def reassign_link(handoff_id: int, manager_email: str, secret: str, base_url: str, expires_at: datetime) -> str:
    """The escalation email's link for `manager_email` to move handoff `handoff_id` to another rep,
    valid until `expires_at` (signed for its own purpose: a rep's Accept link never opens it)."""
    token = sign(purpose=REASSIGN_PURPOSE, data={"h": handoff_id, "m": manager_email}, secret=secret,
                 expires_at=expires_at)
    return f"{base_url.rstrip('/')}/reassign/{quote(token, safe='')}"


@dataclass(frozen=True)
class ReassignLink:
    """What a genuine reassign link says: which handoff, and which manager it was sent to."""

    handoff_id: int
    manager_email: str


def read_reassign_link(token: str, secret: str, as_of: datetime) -> ReassignLink:
    """The handoff and manager a reassign token was signed for; LinkInvalid or LinkExpired otherwise."""
    data = verify(token, purpose=REASSIGN_PURPOSE, secret=secret, as_of=as_of)
    handoff_id, manager = data.get("h"), data.get("m")
    if not isinstance(handoff_id, int) or not isinstance(manager, str) or not manager:
        raise LinkInvalid("The link is malformed.")
    return ReassignLink(handoff_id=handoff_id, manager_email=manager)
