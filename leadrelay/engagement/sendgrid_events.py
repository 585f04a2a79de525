"""SendGrid's Event Webhook: checking a request's signature, and applying its batch of events.

Mapping (everything else is counted as ignored):
- at once: `bounce` (a hard bounce), `spamreport`, `unsubscribe`, `group_unsubscribe` ->
  `suppress` the address (reason = the event name, source `sendgrid`), which sets the lead's email
  status (`bounced`, `complained` or `unsubscribed`) and never its stage; `dropped` by its reason:
  `Invalid` / `Bounced Address` (or none given) as a hard bounce, `Unsubscribed Address` as an
  unsubscribe, `Spam Reporting Address` as a spam report, anything else (a quota, a bad SMTPAPI
  header: not the address's fault) ignored;
- soft bounces: a `bounce` of `type` `blocked` and a `deferred` delivery are counted once per
  message (`nurture.soft_bounces`); the address is suppressed (reason `soft_bounce`) only when
  sequences.yaml `soft_bounces` many fall within its window;
- `open` -> engagement `email_open`, `click` -> `email_click`, stored with
  `external_id = sg_event_id`, so a redelivered event is stored once.

Only leads' addresses count: an event for an address that is no lead (a rep reading a handoff
notification, say) or about a rep-facing email (custom arg `kind`) is ignored, so a rep's bounce
never suppresses anyone. A suppression event for an address already suppressed has no effect
and is counted as a duplicate; `suppress` is idempotent, so a redelivered bounce changes nothing.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from sqlmodel import Session

from leadrelay.bounded_json import NotJson, UnreadableJson, loads_bounded
from leadrelay.email.kinds import REP_FACING
from leadrelay.engagement.record import lead_ids_by_email, record_new_engagement
from leadrelay.nurture.sequences import SoftBounces
from leadrelay.nurture.soft_bounces import record_soft_bounces
from leadrelay.nurture.suppression import normalise_email, suppress
from leadrelay.text_safety import storable_fields

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
SUPPRESSING = frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"})
# Temporary failures: counted, and suppressing only after enough in a window.
SOFT = frozenset({"blocked", "deferred"})
# `dropped` events by their reason (lower-cased): the suppression reason they mean.
DROPPED_REASONS = {"invalid": "dropped", "bounced address": "dropped", "": "dropped",
                   "unsubscribed address": "unsubscribe", "spam reporting address": "spamreport"}
ENGAGING = {"open": "email_open", "click": "email_click"}
# Custom arg `kind` of emails sent to reps (see leadrelay.email.kinds): never a lead's engagement.
REP_FACING_KINDS = REP_FACING
ACTOR = "webhook:sendgrid"


class MalformedEvents(ValueError):
    """The request body is not a JSON array of events; the message is one sentence."""


class BadSignature(Exception):
    """The request is not signed by the configured key (or the signature headers are missing)."""


class BadWebhookKey(ValueError):
    """LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY is set but is not an ECDSA public key."""


@dataclass
class EventSummary:
    """What one request's batch did: applied, ignored (unknown address or event), already seen."""

    accepted: int = 0
    ignored: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def verify_signature(public_key: str, signature: str | None, timestamp: str | None, body: bytes) -> None:
    """Raise BadSignature unless `signature` (base64 DER, header X-Twilio-Email-Event-Webhook-Signature)
    is `public_key`'s ECDSA P-256 / SHA-256 signature of `timestamp` + the raw `body`.

    `public_key` is the verification key as SendGrid shows it (base64 DER); PEM is accepted too.
    Raises BadWebhookKey when the key itself cannot be read.
    """
    if not signature or not timestamp:
        raise BadSignature("The request has no SendGrid signature headers.")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("The SendGrid signature is not base64.") from None
    try:
        _public_key(public_key.strip()).verify(raw_signature, timestamp.encode("utf-8") + body,
                                               ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature("The SendGrid signature does not match.") from None


@lru_cache(maxsize=4)
def _public_key(text: str) -> ec.EllipticCurvePublicKey:
    try:
        key = (load_pem_public_key(text.encode("ascii")) if text.startswith("-----BEGIN")
               else load_der_public_key(base64.b64decode(text, validate=True)))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise BadWebhookKey("LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 ECDSA public key.") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise BadWebhookKey("LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA public key.")
    return key


def check_public_key(public_key: str) -> None:
    """Raise BadWebhookKey when `public_key` (as LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY holds it)
    cannot be read as an ECDSA public key."""
    _public_key(public_key.strip())


MAX_DEPTH = 16
"""How deep a body may nest: SendGrid's events are an array of flat objects (depth 3 at most)."""


def parse_events(body: bytes) -> list[Any]:
    """The request body as a list (its items are checked one by one in `apply_events`); nested
    at most MAX_DEPTH deep (`leadrelay.bounded_json`), and each event's text fields made storable
    (a NUL or a lone `\\ud800` in `email`, `sg_event_id` or `url` is shown as a stand-in instead of
    failing the batch on PostgreSQL or refusing the events around it)."""
    try:
        events = loads_bounded(body, MAX_DEPTH)
    except NotJson:
        raise MalformedEvents("The body is not valid JSON; SendGrid sends a JSON array of events.") from None
    except UnreadableJson as problem:
        raise MalformedEvents(str(problem)) from None
    if not isinstance(events, list):
        raise MalformedEvents("The body must be a JSON array of SendGrid events.")
    return [storable_fields(event) if isinstance(event, dict) else event for event in events]


def apply_events(session: Session, events: list[Any], as_of: datetime,
                 soft_bounces: SoftBounces | None = None) -> EventSummary:
    """Apply a batch of SendGrid events in the caller's unit of work (see the module's mapping);
    `soft_bounces` is the policy for temporary failures (default: 3 within 30 days)."""
    summary = EventSummary()
    leads = lead_ids_by_email(session, [normalise_email(e["email"]) for e in events
                                         if isinstance(e, dict) and isinstance(e.get("email"), str)])
    engagement, suppressions, soft = [], [], []
    for event in events:
        kind = _relevant_kind(event)
        lead_id = leads.get(normalise_email(event["email"])) if kind else None
        if lead_id is None:
            summary.ignored += 1
        elif kind in SOFT:
            soft.append({"email": event["email"], "occurred_at": _occurred_at(event, as_of), "kind": kind,
                         "message_key": _message_key(event)})
        elif kind in SUPPRESSING:
            suppressions.append((event, kind))
        else:
            engagement.append(_engagement_row(event, lead_id, ENGAGING[kind], as_of))
    for event, reason in suppressions:
        outcome = suppress(session, event["email"], reason=reason, source="sendgrid",
                           as_of=_occurred_at(event, as_of), actor=ACTOR,
                           detail={"sg_event_id": _text(event.get("sg_event_id"))})
        if outcome.newly_suppressed:
            summary.accepted += 1
        else:
            summary.duplicates += 1
    counted = record_soft_bounces(session, soft, soft_bounces or SoftBounces(), ACTOR)
    summary.accepted += counted.stored
    summary.duplicates += counted.duplicates
    stored = record_new_engagement(session, engagement)
    summary.accepted += stored
    summary.duplicates += len(engagement) - stored
    return summary


def _relevant_kind(event: Any) -> str | None:
    """The event's name when it is one we act on, about a lead's email; else None (ignored)."""
    if not isinstance(event, dict) or not isinstance(event.get("email"), str) or not isinstance(event.get("event"), str):
        return None
    if event.get("kind") in REP_FACING_KINDS:
        return None
    name = event["event"]
    if name == "click" and "/unsubscribe/" in str(event.get("url") or ""):
        return None  # a tracked click on the unsubscribe link is not interest
    if name == "bounce" and event.get("type") == "blocked":
        return "blocked"  # a soft bounce (the receiving server refused for now): the address may work later
    if name == "deferred":
        return "deferred"
    if name == "dropped":
        return DROPPED_REASONS.get(_text(event.get("reason")).strip().lower())
    return name if name in SUPPRESSING or name in ENGAGING else None


def _message_key(event: dict) -> str | None:
    """One soft failure per message: SendGrid's message id (one per recipient's copy), else the
    event's own id; None (every event counts) when it has neither."""
    message = _text(event.get("sg_message_id")).strip()
    if message:
        return f"msg:{message}"
    event_id = _text(event.get("sg_event_id")).strip()
    return f"event:{event_id}" if event_id else None


def _engagement_row(event: dict, lead_id: int, kind: str, as_of: datetime) -> dict[str, Any]:
    detail = {"sendgrid_event": event["event"]}
    if event.get("url"):
        detail["url"] = _text(event["url"])[:2000]
    return {"lead_id": lead_id, "kind": kind, "occurred_at": _occurred_at(event, as_of), "source": "sendgrid",
            "external_id": _text(event.get("sg_event_id"))[:200] or None, "detail": detail}


def _occurred_at(event: dict, as_of: datetime) -> datetime:
    """The event's Unix `timestamp`, or `as_of` when it has none that reads as one."""
    stamp = event.get("timestamp")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        try:
            return datetime.fromtimestamp(stamp, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    return as_of


def _text(value: Any) -> str:
    return "" if value is None else str(value)
