"""What `POST /forms/{form_name}` answers, as a plain function of services, the post and time.

Answers are JSON: 202 accepted (new inbound row), 200 duplicate (same submission_id again),
429 rate-limited (not kept: the client is told to retry), and 401 / 413 / 415 / 422 refused,
each refusal kept in quarantine with the post's text and the reason. 503 when the database
cannot be reached. Log lines name the form and the outcome, never what the post contained.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.exc import SQLAlchemyError

from leadrelay.config.settings import Settings
from leadrelay.orchestration import events
from leadrelay.db import unit_of_work
from leadrelay.intake.forms import (
    AcceptedForm,
    Refusal,
    check_form_post,
    form_name_problem,
    quarantine_source,
    quarantine_text,
)
from leadrelay.intake.form_signature import SIGNATURE_HEADER, signature_problem
from leadrelay.intake.form_store import quarantine_form, store_form
from leadrelay.web.rate_limit import RateLimiter
from leadrelay.wiring import Services

log = logging.getLogger("leadrelay.web.forms")

UNAVAILABLE = "The submission could not be stored just now; please try again in a minute."
UNAVAILABLE_RETRY_SECONDS = 60


@dataclass(frozen=True)
class FormPost:
    """One post as it arrived: `body` is at most the size limit plus one byte, or only its first
    bytes when `too_large`."""

    form_name: str
    content_type: str | None
    body: bytes
    too_large: bool
    signature: str | None  # the X-Leadrelay-Signature header, when sent
    client: str  # whose rate limit it counts against (the client's IP address)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Work to do after the answer is sent (telling Prefect): the client never waits for it.
    after: Callable[[], None] | None = None


def receive_form(services: Services, limiter: RateLimiter, post: FormPost, as_of: datetime) -> Reply:
    """Rate-limit unless validly signed, refuse (and quarantine) what cannot be a lead, and store
    the rest in the inbound table once per submission_id; a new row's reply carries, in `after`,
    the Prefect event saying a form arrived."""
    settings = services.settings
    problem = _signature_problem(settings, post)
    signed = post.signature is not None and problem is None
    if not signed:
        wait = limiter.try_acquire(post.client)
        if wait:
            _log(post, "rate-limited", 429)
            return Reply(429, {"status": "rate_limited",
                               "reason": f"Too many posts from your address; please try again in {_seconds(wait)}."},
                         {"Retry-After": str(wait)})
    outcome = _refusal_before_parsing(settings, post, problem) or check_form_post(
        post.form_name, post.content_type, post.body, signed=signed)
    try:
        if isinstance(outcome, Refusal):
            return _refuse(services, post, outcome, as_of)
        return _accept(services, post, outcome, as_of)
    except SQLAlchemyError as exc:
        # The type only: a database error's text can quote the post's values.
        log.error("form %s: could not be stored (%s)", _shown_name(post), type(exc).__name__)
        return Reply(503, {"status": "unavailable", "reason": UNAVAILABLE},
                     {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)})


def sentence(reason: str) -> str:
    """A quarantine reason ('the email is missing') as a sentence for the client."""
    text = reason[:1].upper() + reason[1:]
    return text if text.endswith(".") else text + "."


def _signature_problem(settings: Settings, post: FormPost) -> str | None:
    if post.signature is None:
        if settings.form_require_signature:
            return f"this server accepts signed posts only, and the {SIGNATURE_HEADER} header is missing"
        return None
    secret = settings.form_secret.get_secret_value() if settings.form_secret else None
    return signature_problem(secret, post.signature, post.body)


def _refusal_before_parsing(settings: Settings, post: FormPost, signature_problem: str | None) -> Refusal | None:
    name_problem = form_name_problem(post.form_name)
    if name_problem:
        return Refusal(422, name_problem)
    if post.too_large:
        return Refusal(413, f"the post is larger than {settings.form_max_bytes} bytes, the limit for a form")
    if signature_problem:
        return Refusal(401, signature_problem)
    return None


def _refuse(services: Services, post: FormPost, refusal: Refusal, as_of: datetime) -> Reply:
    with unit_of_work(services.engine) as session:
        quarantine_form(session, quarantine_source(post.form_name), quarantine_text(post.body, post.too_large),
                        refusal.reason, as_of)
    _log(post, "quarantined", refusal.status)
    return Reply(refusal.status, {"status": "rejected", "reason": sentence(refusal.reason)})


def _accept(services: Services, post: FormPost, accepted: AcceptedForm, as_of: datetime) -> Reply:
    with unit_of_work(services.engine) as session:
        stored = store_form(session, post.form_name, accepted.payload, accepted.submission_id, as_of)
    if stored.duplicate:
        _log(post, "duplicate", 200)
        return Reply(200, {"status": "duplicate", "id": stored.inbound_id})
    _log(post, "accepted", 202)
    # After the commit, so the pipeline the event triggers finds the row; after the answer too,
    # so the client never waits on Prefect.
    return Reply(202, {"status": "accepted", "id": stored.inbound_id},
                 after=partial(announce_form, stored.inbound_id, post.form_name))


def announce_form(inbound_id: int, form_name: str) -> None:
    """Tell the Prefect server PREFECT_API_URL names that a form arrived (the pipeline's trigger
    listens). Without one, nothing: the pipeline's schedule picks the row up."""
    events.emit_form_received(inbound_id, form_name)


def _seconds(count: int) -> str:
    return "1 second" if count == 1 else f"{count} seconds"


def _shown_name(post: FormPost) -> str:
    # The name comes from the URL: log it only when it passed the form-name check.
    return post.form_name if form_name_problem(post.form_name) is None else "(invalid name)"


def _log(post: FormPost, outcome: str, status: int) -> None:
    log.info("form %s: %s (%d)", _shown_name(post), outcome, status)
