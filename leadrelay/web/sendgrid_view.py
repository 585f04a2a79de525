"""What `POST /webhooks/sendgrid` answers, as a plain function of services, body, headers and time.

Answers are JSON for SendGrid, not pages: 200 with {accepted, ignored, duplicates}; 403 for an
unsigned post (unless `LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED=1`, for local demos), a signature
that does not match the configured key, or a signed timestamp more than 10 minutes from now (a
replayed request); 413 for a body over 5 MB (never read further); 400 for a body that is not a
JSON array within the limits (`parse_events`). SendGrid retries anything else (a 5xx), so a
failed batch is not lost.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import (
    BadSignature,
    BadWebhookKey,
    MalformedEvents,
    apply_events,
    check_public_key,
    parse_events,
    verify_signature,
)
from leadrelay.wiring import Services

MAX_BODY_BYTES = 5 * 1024 * 1024
"""The largest body read: SendGrid batches events into posts well under this."""
MAX_AGE_SECONDS = 600
"""How far a signed timestamp may be from now, either way (a replay, or a clock far off)."""

UNSIGNED_REFUSED = ("Unsigned SendGrid events are refused: set LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY to the "
                    "Event Webhook's verification key (LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED=1 allows "
                    "unsigned posts, for local demos only).")
TOO_LARGE = "The body is larger than 5 MB; SendGrid sends smaller batches."
BAD_KEY = "The server's SendGrid verification key is not valid; nothing was applied."


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def receive_events(services: Services, body: bytes, signature: str | None, timestamp: str | None,
                   as_of: datetime, too_large: bool = False) -> Reply:
    """Check the size, the signature (or that unsigned posts are allowed) and its age, parse, and
    apply the whole batch in one unit of work. `too_large`: the body was cut at MAX_BODY_BYTES."""
    if too_large:
        return Reply(413, {"error": TOO_LARGE})
    settings = services.settings
    key = settings.sendgrid_webhook_public_key
    if key:
        try:
            verify_signature(key, signature, timestamp, body)
            check_fresh(timestamp, as_of)
        except BadSignature as refused:
            return Reply(403, {"error": str(refused)})
        except BadWebhookKey:
            return Reply(500, {"error": BAD_KEY})  # our configuration, not the request: SendGrid retries
    elif not settings.sendgrid_webhook_allow_unsigned:
        return Reply(403, {"error": UNSIGNED_REFUSED})
    try:
        events = parse_events(body)
    except MalformedEvents as problem:
        return Reply(400, {"error": str(problem)})
    with unit_of_work(services.engine) as session:
        summary = apply_events(session, events, as_of, services.rules.sequences.soft_bounces)
    return Reply(200, summary.as_dict())


def check_fresh(timestamp: str | None, as_of: datetime) -> None:
    """Raise BadSignature unless the signed `timestamp` (Unix seconds, as SendGrid sends it) is
    within MAX_AGE_SECONDS of `as_of`: a captured request cannot be played again later."""
    try:
        stamp = int((timestamp or "").strip())
    except ValueError:
        raise BadSignature("The SendGrid timestamp is not a Unix time.") from None
    if abs(as_of.timestamp() - stamp) > MAX_AGE_SECONDS:
        raise BadSignature("The SendGrid timestamp is more than 10 minutes from now; the request is refused as a replay.")


def startup_problem(settings) -> str | None:
    """A sentence when the webhook's verification key cannot be read (every signed post would be
    refused then), for `leadrelay web` to stop on; None when it is fine or not set."""
    key = settings.sendgrid_webhook_public_key
    if not key:
        return None
    try:
        check_public_key(key)
    except BadWebhookKey as problem:
        return str(problem)
    return None


def startup_warnings(settings) -> list[str]:
    """Sentences `leadrelay web` prints when it starts, about how the webhook is configured."""
    if settings.sendgrid_webhook_allow_unsigned and not settings.sendgrid_webhook_public_key:
        return ["warning: LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED=1: POST /webhooks/sendgrid accepts unsigned "
                "events, so anyone who can reach this server can suppress leads or add engagement; "
                "use it for local demos only."]
    return []
