"""What `POST /webhooks/sendgrid` answers, as a plain function of services, body, headers and time.

Answers are JSON for SendGrid, not pages: 200 with {accepted, ignored, duplicates}; 403 when a
verification key is configured and the signature does not match; 400 for a body that is not a
JSON array. SendGrid retries anything else (a 5xx), so a failed batch is not lost.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import BadSignature, MalformedEvents, apply_events, parse_events, verify_signature
from leadrelay.wiring import Services


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def receive_events(services: Services, body: bytes, signature: str | None, timestamp: str | None,
                   as_of: datetime) -> Reply:
    """Verify (when a key is configured), parse, and apply the whole batch in one unit of work."""
    key = services.settings.sendgrid_webhook_public_key
    if key:
        try:
            verify_signature(key, signature, timestamp, body)
        except BadSignature as refused:
            return Reply(403, {"error": str(refused)})
    try:
        events = parse_events(body)
    except MalformedEvents as problem:
        return Reply(400, {"error": str(problem)})
    with unit_of_work(services.engine) as session:
        summary = apply_events(session, events, as_of, services.rules.sequences.soft_bounces)
    return Reply(200, summary.as_dict())
