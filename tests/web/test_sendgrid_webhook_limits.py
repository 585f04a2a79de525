"""The SendGrid webhook closed by default and bounded: unsigned posts refused unless allowed,
stale signatures refused, a 5 MB cap, a nesting limit, and a 4xx in JSON for every bad body."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from leadrelay.config.settings import Settings
from leadrelay.db import unit_of_work
from leadrelay.models import EngagementEvent, Suppression
from leadrelay.web.sendgrid_view import MAX_BODY_BYTES, startup_warnings
from tests.factories import sendgrid_event
from tests.web.test_sendgrid_webhook import AT, NINA, _key_pair, _signed, client_for, leads  # noqa: F401  (fixture)

URL = "/webhooks/sendgrid"
JSON = {"Content-Type": "application/json"}


def effects(engine) -> tuple[int, int]:
    """(engagement events, suppressed addresses): what a post could have changed."""
    with unit_of_work(engine) as session:
        return (session.scalar(select(func.count()).select_from(EngagementEvent)),
                session.scalar(select(func.count()).select_from(Suppression)))


def test_by_default_an_unsigned_post_is_refused_and_changes_nothing(engine, leads):  # noqa: F811
    body = json.dumps([sendgrid_event(NINA, "bounce", "ev-1", AT), sendgrid_event(NINA, "click", "ev-2", AT)])
    private, _ = _key_pair()  # signed, but the server has no key to check it with: refused too

    with client_for(engine) as client:
        unsigned = client.post(URL, content=body, headers=JSON)
        signed = client.post(URL, content=body, headers=_signed(private, body.encode()))

    assert [unsigned.status_code, signed.status_code] == [403, 403]
    assert "LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY" in unsigned.json()["error"]
    assert effects(engine) == (0, 0)


def test_allowing_unsigned_posts_takes_them(engine, leads):  # noqa: F811
    with client_for(engine, allow_unsigned=True) as client:
        reply = client.post(URL, json=[sendgrid_event(NINA, "click", "ev-1", AT)])
    assert reply.status_code == 200 and reply.json()["accepted"] == 1
    assert effects(engine) == (1, 0)


@pytest.mark.parametrize("age, status", [(-60 * 60 * 24 * 365, 403), (-11 * 60, 403), (-9 * 60, 200),
                                         (9 * 60, 200), (11 * 60, 403)])
def test_a_signed_timestamp_more_than_ten_minutes_off_is_refused(engine, leads, age, status):  # noqa: F811
    private, public = _key_pair()
    body = json.dumps([sendgrid_event(NINA, "bounce", "ev-1", AT)]).encode()
    with client_for(engine, public) as client:
        reply = client.post(URL, content=body, headers=_signed(private, body, str(int(time.time()) + age)))
    assert reply.status_code == status
    assert effects(engine) == ((0, 0) if status == 403 else (0, 1))
    if status == 403:
        assert "10 minutes" in reply.json()["error"]


def test_a_signed_timestamp_that_is_no_unix_time_is_refused(engine, leads):  # noqa: F811
    private, public = _key_pair()
    body = b"[]"
    with client_for(engine, public) as client:
        reply = client.post(URL, content=body, headers=_signed(private, body, "yesterday"))
    assert reply.status_code == 403 and reply.json()["error"] == "The SendGrid timestamp is not a Unix time."


def test_a_body_over_5_mb_is_refused_before_it_is_parsed(engine, leads):  # noqa: F811
    event = json.dumps(sendgrid_event(NINA, "click", "ev-1", AT))
    body = ("[" + ",".join([event] * (MAX_BODY_BYTES // len(event) + 1)) + "]").encode()
    assert len(body) > MAX_BODY_BYTES
    with client_for(engine, allow_unsigned=True) as client:
        reply = client.post(URL, content=body, headers=JSON)
        just_under = client.post(URL, content=body[: MAX_BODY_BYTES - 2 - len(event)].rsplit(b",{", 1)[0] + b"]",
                                 headers=JSON)
    assert reply.status_code == 413 and "5 MB" in reply.json()["error"]
    assert just_under.status_code == 200 and just_under.json()["accepted"] == 1


MALFORMED = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 50,000 deep": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested 17 deep": b"[" * 17 + b"]" * 17,
    "unclosed nesting": b"[" * 100_000,
    "an integer of 5,000 digits": b"[" + b"7" * 5000 + b"]",
    "not UTF-8": b"[\xff\xfe]",
    "a NUL byte outside a string": b"[\x00]",
    "an object": b'{"event": "open"}',
    "a number": b"42",
    "empty": b"",
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_every_malformed_body_is_a_400_in_json_never_a_500(engine, leads, body):  # noqa: F811
    with client_for(engine, allow_unsigned=True) as client:
        reply = client.post(URL, content=body, headers=JSON)
    assert reply.status_code == 400
    message = reply.json()["error"]
    assert message.endswith(".") and "Traceback" not in message
    assert effects(engine) == (0, 0)


@pytest.mark.parametrize("body", [
    b'[{"email": ["nina@acme-buyer.com"], "event": {"open": 1}}]',
    b'[{"email": "nina@acme-buyer.com", "event": "click", "timestamp": 1e308, "sg_event_id": {"a": [1]}}]',
    b'[{"email": "nina@acme-buyer.com", "event": "open", "timestamp": -1e20, "sg_event_id": "x"}]',
    b'[{"email": "nina@acme-buyer.com", "event": "open", "timestamp": NaN, "sg_event_id": "y"}]',
    b'[null, true, 1.5, [], {}]',
    b'[{"email": "\\ud800@x.com", "event": "bounce"}]',
    b'[{"\\udfff": 1}]',
], ids=["wrong types", "huge timestamp", "timestamp before time began", "NaN timestamp", "not events",
        "a lone surrogate in an address", "a lone surrogate in a key"])
def test_odd_but_readable_events_never_give_a_500(engine, leads, body):  # noqa: F811
    with client_for(engine, allow_unsigned=True) as client:
        reply = client.post(URL, content=body, headers=JSON)
    assert reply.status_code == 200, reply.text
    assert set(reply.json()) == {"accepted", "ignored", "duplicates"}


def test_leadrelay_web_warns_when_unsigned_posts_are_allowed():
    assert startup_warnings(Settings(sendgrid_webhook_allow_unsigned=False)) == []
    (warning,) = startup_warnings(Settings(sendgrid_webhook_allow_unsigned=True))
    assert "LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED=1" in warning and "local demos only" in warning
    assert startup_warnings(Settings(sendgrid_webhook_allow_unsigned=True, sendgrid_webhook_public_key="k")) == []
