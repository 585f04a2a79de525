"""What `POST /webhooks/crm` answers, as a plain function of services, body, headers and time.

Answers are JSON: 200 `recorded` (with the lead's stage) or `duplicate` (the event id was
recorded before: nothing changes); 401 unsigned; 403 no secret configured, a wrong signature or a
stale timestamp; 400 a body that is not an outcome; 404 no lead has the address; 409 a move the
lifecycle does not allow from the lead's stage (nothing is recorded, so a fixed retry can go
through); 413 a body over the size cap; 503 when the database cannot store it (the CRM retries). Log lines never carry the body or the address.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from leadrelay.db import unit_of_work
from leadrelay.lifecycle import LifecycleError
from leadrelay.outcomes.crm_webhook import (
    ACTOR,
    BadSignature,
    MalformedPost,
    Unsigned,
    parse_crm_post,
    verify_crm_signature,
)
from leadrelay.outcomes.record import OutcomeRequest, OutcomeResult, record_outcomes
from leadrelay.wiring import Services

log = logging.getLogger("leadrelay.web.crm")

_STATUS = {"recorded": 200, "duplicate": 200, "no_lead": 404, "refused": 409}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def receive_crm_post(services: Services, body: bytes, too_large: bool, signature: str | None,
                     timestamp: str | None, as_of: datetime) -> Reply:
    """Verify, parse and record one CRM outcome in one unit of work."""
    if too_large:  # only the first bytes were read: there is nothing whole to verify
        return _reply(413, "the body is larger than the webhook accepts.")
    secret = services.settings.crm_webhook_secret
    try:
        verify_crm_signature(secret.get_secret_value() if secret else None, signature, timestamp, body, as_of)
    except Unsigned as refused:
        return _reply(401, str(refused))
    except BadSignature as refused:
        return _reply(403, str(refused))
    try:
        request = parse_crm_post(body, as_of)
    except MalformedPost as problem:
        return _reply(400, str(problem))
    try:
        result = _record(services, request, as_of)
    except (SQLAlchemyError, psycopg.Error, LifecycleError):
        log.warning("CRM outcome %s could not be stored", request.outcome, exc_info=True)
        return _reply(503, "the outcome could not be stored just now; please send it again in a minute.")
    log.info("CRM outcome %s: %s", request.outcome, result.status)
    if result.status in ("recorded", "duplicate"):
        return Reply(200, {"status": result.status, "stage": result.stage})
    return _reply(_STATUS[result.status], result.message)


def _record(services: Services, request: OutcomeRequest, as_of: datetime) -> OutcomeResult:
    """Record in one unit of work; once more when a concurrent delivery of the same event (unique
    key) or a concurrent stage change got there first: the second try sees what it did."""
    for attempt in (1, 2):
        try:
            with unit_of_work(services.engine) as session:
                return record_outcomes(session, [request], as_of, ACTOR)[0]
        # psycopg's own error: on PostgreSQL the rows are written with COPY, under SQLAlchemy.
        except (IntegrityError, psycopg.IntegrityError, LifecycleError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _reply(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})
