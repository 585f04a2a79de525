"""Unsubscribe links in nurture emails, and what following one does.

A link is `{base_url}/unsubscribe/{token}`, the token signed (`leadrelay.links.signing`) for purpose
`unsubscribe` with the lead's address, valid for 365 days. The same URL serves the page a person
sees (GET, then a button that POSTs) and RFC 8058 one-click unsubscribe (mail clients POST
`List-Unsubscribe=One-Click` to it), so no login is ever needed.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session

from leadrelay.links.signing import LinkInvalid, sign, verify
from leadrelay.nurture.suppression import SuppressOutcome, suppress

UNSUBSCRIBE_PURPOSE = "unsubscribe"
# Laws ask for links that work at least 30 days; a year covers a nurture track read late.
LINK_VALIDITY = timedelta(days=365)
UNSUBSCRIBED = "unsubscribed"


def unsubscribe_url(email: str, secret: str, base_url: str, as_of: datetime) -> str:
    """The signed unsubscribe link for `email`, valid for 365 days from `as_of`."""
    token = sign(purpose=UNSUBSCRIBE_PURPOSE, data={"e": email.strip().lower()}, secret=secret,
                 expires_at=as_of + LINK_VALIDITY)
    return f"{base_url.rstrip('/')}/unsubscribe/{quote(token, safe='')}"


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """The headers that let mail clients offer one-click unsubscribe (RFC 2369 + RFC 8058)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def read_unsubscribe_link(token: str, secret: str, as_of: datetime) -> str:
    """The address a genuine unsubscribe token was made for.

    Raises `leadrelay.links.signing.LinkInvalid` (altered, malformed, another purpose or secret) or
    `LinkExpired` (genuine, but past its expiry at `as_of`).
    """
    email = verify(token, purpose=UNSUBSCRIBE_PURPOSE, secret=secret, as_of=as_of).get("e")
    if not isinstance(email, str) or "@" not in email:
        raise LinkInvalid("The link is malformed.")
    return email


def unsubscribe(session: Session, token: str, secret: str, as_of: datetime) -> SuppressOutcome:
    """Suppress the token's address (reason `unsubscribed`, source `link`); a second time is a no-op.

    Raises LinkInvalid / LinkExpired before anything is written.
    """
    email = read_unsubscribe_link(token, secret, as_of)
    return suppress(session, email, reason=UNSUBSCRIBED, source="link", as_of=as_of, actor="lead:unsubscribe-link")
