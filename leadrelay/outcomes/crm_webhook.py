"""The CRM webhook's rules as plain functions: checking a request's signature and reading its body.

A CRM (or the glue in front of it) signs each post with the shared secret
`LEADRELAY_CRM_WEBHOOK_SECRET`:

    X-Leadrelay-Timestamp: <Unix time in whole seconds>
    X-Leadrelay-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

A post is refused when no secret is configured, when either header is missing or malformed, when
the signature does not match, or when the timestamp is more than five minutes from the server's
clock (a captured post cannot be replayed later; within the window the event id makes a replay
record nothing new). The body is one JSON object: `email`, `outcome`, `event_id`, and optionally
`amount`, `reason`, `occurred_at`.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from leadrelay.bounded_json import NotJson, UnreadableJson, loads_bounded
from leadrelay.clock import parse_as_of
from leadrelay.nurture.suppression import normalise_email
from leadrelay.outcomes.record import OutcomeRequest
from leadrelay.outcomes.rules import OutcomeError, clean_reason, parse_amount, parse_outcome
from leadrelay.text_safety import storable

SIGNATURE_HEADER = "X-Leadrelay-Signature"
TIMESTAMP_HEADER = "X-Leadrelay-Timestamp"
ACTOR = "webhook:crm"
MAX_AGE = timedelta(minutes=5)
MAX_BODY_BYTES = 16_384
MAX_DEPTH = 8  # one flat object is all a post needs
EVENT_ID_MAX = 200
EMAIL_MAX = 254
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP = re.compile(r"\d{1,12}")


class Unsigned(Exception):
    """The post carries no usable signature headers (401); the message is one sentence."""


class BadSignature(Exception):
    """The post is refused: no secret configured, a wrong signature or a stale timestamp (403)."""


class MalformedPost(ValueError):
    """The body is not an outcome this webhook understands (400); the message is one sentence."""


def crm_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Leadrelay-Signature` value for `body` sent at `timestamp` (Unix seconds, as text)."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_crm_signature(secret: str | None, signature: str | None, timestamp: str | None, body: bytes,
                         as_of: datetime) -> None:
    """Return when the post is genuine and fresh at `as_of`; raise Unsigned or BadSignature otherwise."""
    if not secret:
        raise BadSignature("this server has no CRM webhook secret configured (LEADRELAY_CRM_WEBHOOK_SECRET), "
                           "so no CRM post is accepted.")
    given = _SIGNATURE.fullmatch((signature or "").strip())
    stamp = (timestamp or "").strip()
    if given is None or not _TIMESTAMP.fullmatch(stamp):
        raise Unsigned(f"the post must carry {TIMESTAMP_HEADER} (Unix seconds) and {SIGNATURE_HEADER} "
                       "(sha256= and 64 hex digits).")
    # Checked before the time, so a forged post learns nothing about the clock.
    if not hmac.compare_digest(crm_signature(secret, stamp, body)[7:], given.group(1).lower()):
        raise BadSignature(f"the {SIGNATURE_HEADER} header does not match the timestamp and body.")
    sent_at = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
    if abs(as_of - sent_at) > MAX_AGE:
        raise BadSignature(f"the {TIMESTAMP_HEADER} is more than five minutes from the server's time; "
                           "sign the post when sending it.")


def parse_crm_post(body: bytes, as_of: datetime) -> OutcomeRequest:
    """The outcome a verified post describes; MalformedPost (one sentence) when it is not one."""
    try:
        data = loads_bounded(body, MAX_DEPTH)
    except NotJson:
        raise MalformedPost("the body is not valid JSON.") from None
    except UnreadableJson as problem:  # nested too deep: json.loads would recurse into a 500
        raise MalformedPost(str(problem)[0].lower() + str(problem)[1:]) from None
    if not isinstance(data, dict):
        raise MalformedPost("the body must be one JSON object.")
    email = _text(data, "email", EMAIL_MAX)
    event_id = _text(data, "event_id", EVENT_ID_MAX)
    if not email or "@" not in email:
        raise MalformedPost("email is missing or not an address.")
    if not event_id:
        raise MalformedPost("event_id is missing.")
    try:
        outcome = parse_outcome(_text(data, "outcome", 40))
        amount = parse_amount(_amount(data.get("amount")))
        reason = clean_reason(_text(data, "reason", 10_000))
    except OutcomeError as problem:
        raise MalformedPost(str(problem)) from None
    occurred = _text(data, "occurred_at", 64)
    try:
        occurred_at = parse_as_of(occurred) if occurred else as_of
    except ValueError as problem:
        raise MalformedPost(f"occurred_at: {problem}") from None
    return OutcomeRequest(email=normalise_email(email), outcome=outcome, occurred_at=occurred_at,
                          amount_cents=amount, reason=reason, source_key=f"webhook:{event_id}")


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPost(f"{key} must be text.")
    text = storable(str(value).strip())  # a NUL would make PostgreSQL refuse the lookup: a 503 for ever
    if len(text) > limit:
        raise MalformedPost(f"{key} is longer than {limit} characters.")
    return text or None


def _amount(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise MalformedPost("amount must be a number such as 12500 or 12500.00.")
