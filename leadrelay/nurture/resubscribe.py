"""Re-subscribing through a signed link, offered on the page that confirms an unsubscribe.

A link is `{base_url}/resubscribe/{token}`, the token signed (`leadrelay.links.signing`) for purpose
`resubscribe` with the address, valid for 30 days (it is made when the person unsubscribes and is
meant for "I clicked by mistake"). GET shows a button; only the POST records anything.

Only an unsubscribe is undone: the suppression row goes, the lead's email status is `ok` again,
its marketing consent is recorded (`consent` true) and a `resubscribed` history event says when and
from where. A bounced or complained address, or an erased lead, is refused (`NotResubscribable`):
a bounce is the mailbox's answer and a spam report the person's, and neither a link nor a
forwarded email may override them. Re-subscribing an address that is not suppressed does nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.history import append_history, history_row
from leadrelay.links.signing import LinkInvalid, sign, verify
from leadrelay.models import EmailStatus, Lead, Suppression
from leadrelay.nurture.suppression import EMAIL_STATUS_FOR_REASON, normalise_email

RESUBSCRIBE_PURPOSE = "resubscribe"
LINK_VALIDITY = timedelta(days=30)
SOURCE = "link:unsubscribe-page"
ACTOR = "lead:resubscribe-link"


class NotResubscribable(Exception):
    """The address stopped email for a reason a link cannot undo; the message is one sentence."""


@dataclass(frozen=True)
class ResubscribeOutcome:
    changed: bool  # False: the address was not unsubscribed, nothing was written
    lead_id: int | None = None


def resubscribe_url(email: str, secret: str, base_url: str, as_of: datetime) -> str:
    """The signed re-subscribe link for `email`, valid for 30 days from `as_of`."""
    token = sign(purpose=RESUBSCRIBE_PURPOSE, data={"e": normalise_email(email)}, secret=secret,
                 expires_at=as_of + LINK_VALIDITY)
    return f"{base_url.rstrip('/')}/resubscribe/{quote(token, safe='')}"


def read_resubscribe_link(token: str, secret: str, as_of: datetime) -> str:
    """The address a genuine re-subscribe token was made for (LinkInvalid / LinkExpired otherwise)."""
    email = verify(token, purpose=RESUBSCRIBE_PURPOSE, secret=secret, as_of=as_of).get("e")
    if not isinstance(email, str) or "@" not in email:
        raise LinkInvalid("The link is malformed.")
    return email


def resubscribe(session: Session, token: str, secret: str, as_of: datetime) -> ResubscribeOutcome:
    """Undo the token's address's unsubscribe in the caller's unit of work (see the module).

    Raises LinkInvalid / LinkExpired before anything is read, and NotResubscribable for a bounced,
    complained or erased address.
    """
    address = read_resubscribe_link(token, secret, as_of)
    lead = session.scalars(claim(session, select(Lead).where(Lead.email == address), skip_locked=False)
                           .execution_options(populate_existing=True)).first()
    row = session.get(Suppression, address, with_for_update=True)
    if lead is not None and lead.email_status not in (EmailStatus.ok, EmailStatus.unsubscribed):
        raise NotResubscribable(_REFUSED)
    if row is not None and EMAIL_STATUS_FOR_REASON.get(row.reason) != EmailStatus.unsubscribed:
        raise NotResubscribable(_REFUSED)
    if row is None and (lead is None or lead.email_status == EmailStatus.ok):
        return ResubscribeOutcome(changed=False, lead_id=lead.id if lead else None)
    if row is not None:
        session.execute(delete(Suppression).where(Suppression.email == address))
    if lead is None:
        return ResubscribeOutcome(changed=True)
    previous = lead.email_status
    lead.email_status, lead.email_status_at, lead.email_status_reason = EmailStatus.ok.value, as_of, "resubscribed"
    lead.consent, lead.updated_at = True, as_of
    append_history(session, [history_row(lead.id, "resubscribed", ACTOR, as_of, {
        "source": SOURCE, "consent": True, "consent_at": as_of.isoformat(), "from": previous})])
    session.flush()
    return ResubscribeOutcome(changed=True, lead_id=lead.id)


_REFUSED = ("This address cannot be re-subscribed from a link: its email stopped because of a bounce, "
            "a spam report or an erasure request.")
