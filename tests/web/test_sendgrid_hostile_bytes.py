"""SendGrid events carrying NUL or lone surrogates (JSON's \\u0000, \\ud800) in any field: applied or
ignored on SQLite and PostgreSQL, never a 500 (PostgreSQL refuses NUL in text and JSON)."""
from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.engagement.sendgrid_events import apply_events, parse_events
from leadrelay.models import EngagementEvent, Suppression
from tests.factories import T0, add_nurtured_lead, sendgrid_event
from tests.support.web import web_client

NINA = "nina@acme-buyer.com"
AT = int(T0.timestamp()) + 3600
NUL, LONE = "\x00", "\ud800"
# Each event, with what it must leave: one engagement row for Nina, or nothing (ignored).
HOSTILE_EVENTS = [
    (sendgrid_event(NINA + NUL, "bounce", "ev-1", AT), "ignored"),
    (sendgrid_event(NUL + NINA, "open", "ev-2", AT), "ignored"),
    (sendgrid_event(LONE + NINA, "bounce", "ev-3", AT), "ignored"),
    (sendgrid_event(NINA, "open", "ev" + NUL + "4", AT), "ev\u24004"),
    (sendgrid_event(NINA, "open", "ev" + LONE + "5", AT), "ev\ufffd5"),
    (sendgrid_event(NINA, "click", "ev-6", AT, url="https://example.com/a" + NUL + LONE), "ev-6"),
    (sendgrid_event(NINA, "op" + NUL + "en", "ev-7", AT), "ignored"),
    ({"email" + NUL: NINA, "event": "open", "sg_event_id": "ev-8"}, "ignored"),
    (sendgrid_event(NINA, "open", "ev-9", AT, kind=NUL, category=[NUL, LONE], extra={NUL: LONE}), "ev-9"),
]


def _body(events) -> bytes:
    return json.dumps(events).encode()  # ensure_ascii: NUL as \u0000 and a lone surrogate as \ud800


def stored(engine) -> list[EngagementEvent]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(EngagementEvent).order_by(EngagementEvent.id)))


@pytest.fixture
def nina(engine) -> int:
    with unit_of_work(engine) as session:
        return add_nurtured_lead(session, NINA)[0].id


@pytest.mark.parametrize("event, outcome", HOSTILE_EVENTS)
def test_each_hostile_event_is_applied_or_ignored_never_an_error(engine, nina, event, outcome):
    with unit_of_work(engine) as session:
        summary = apply_events(session, parse_events(_body([event])), T0)

    rows = stored(engine)
    if outcome == "ignored":
        assert summary.as_dict() == {"accepted": 0, "ignored": 1, "duplicates": 0} and rows == []
    else:
        assert summary.accepted == 1 and [row.external_id for row in rows] == [outcome]
    with unit_of_work(engine) as session:
        assert list(session.scalars(select(Suppression))) == []  # no address with a NUL matches a lead


def test_the_whole_hostile_batch_through_the_signed_webhook_answers_200(engine, nina):
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode("ascii")
    body = _body([event for event, _ in HOSTILE_EVENTS])
    timestamp = str(int(time.time()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
               "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode("ascii")}

    with web_client(engine, sendgrid_webhook_public_key=public) as client:
        reply = client.post("/webhooks/sendgrid", content=body, headers=headers)

    assert reply.status_code == 200, reply.text
    accepted = [outcome for _, outcome in HOSTILE_EVENTS if outcome != "ignored"]
    assert reply.json() == {"accepted": len(accepted), "ignored": len(HOSTILE_EVENTS) - len(accepted), "duplicates": 0}
    rows = stored(engine)
    assert [row.external_id for row in rows] == accepted
    assert rows[2].detail["url"] == "https://example.com/a\u2400\ufffd"
