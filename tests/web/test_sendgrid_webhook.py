"""SendGrid's Event Webhook: a batch of events, redeliveries, suppression, signatures, bad bodies."""
from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.models import EngagementEvent, Suppression
from tests.factories import T0, add_nurtured_lead, enrollments_of, lead_by_email, sendgrid_event
from tests.support.web import web_client

NINA, OTTO = "nina@acme-buyer.com", "otto@acme-buyer.com"
AT = int(T0.timestamp()) + 3600


@pytest.fixture
def leads(engine) -> dict[str, int]:
    with unit_of_work(engine) as session:
        return {email: add_nurtured_lead(session, email)[0].id for email in (NINA, OTTO)}


def client_for(engine, public_key: str | None = None, allow_unsigned: bool = False) -> TestClient:
    return web_client(engine, sendgrid_webhook_public_key=public_key, sendgrid_webhook_allow_unsigned=allow_unsigned)


@pytest.fixture
def client(engine):
    """A client of an app that takes unsigned events (as a local demo may): the tests of what
    events do; the signature tests below use a key."""
    with client_for(engine, allow_unsigned=True) as test_client:
        yield test_client


def engagement(engine) -> list[EngagementEvent]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(EngagementEvent).order_by(EngagementEvent.id)))


def suppressed(engine) -> set[str]:
    with unit_of_work(engine) as session:
        return set(session.scalars(select(Suppression.email)))


def test_a_mixed_batch_is_applied_and_summarised(client, engine, leads):
    batch = [
        sendgrid_event(NINA, "open", "ev-1", AT),
        sendgrid_event(NINA, "click", "ev-2", AT + 60, url="https://example.com/pricing"),
        sendgrid_event(OTTO, "bounce", "ev-3", AT, reason="550 no such user", type="bounce"),
        sendgrid_event(NINA, "delivered", "ev-4", AT),  # known event, nothing to do
        sendgrid_event("stranger@example.org", "click", "ev-5", AT),  # not a lead
        sendgrid_event(NINA, "open", "ev-6", AT, kind="rep_notification"),  # a rep's email, not the lead's
        sendgrid_event(NINA, "click", "ev-7", AT, url="https://links.test/unsubscribe/tok"),
        {"event": "open"},  # no address
        "not an object",
    ]

    reply = client.post("/webhooks/sendgrid", json=batch)

    assert reply.status_code == 200
    assert reply.json() == {"accepted": 3, "ignored": 6, "duplicates": 0}
    stored = engagement(engine)
    assert [(e.kind, e.external_id, e.source) for e in stored] == [
        ("email_open", "ev-1", "sendgrid"), ("email_click", "ev-2", "sendgrid")]
    assert stored[1].detail["url"] == "https://example.com/pricing"
    assert stored[0].occurred_at == T0.replace(hour=10)
    assert lead_by_email(engine, NINA).needs_scoring is True
    assert suppressed(engine) == {OTTO}


def test_the_same_event_twice_has_one_effect(client, engine, leads):
    batch = [sendgrid_event(NINA, "click", "ev-1", AT), sendgrid_event(OTTO, "spamreport", "ev-2", AT)]

    first = client.post("/webhooks/sendgrid", json=batch)
    second = client.post("/webhooks/sendgrid", json=batch)
    within_one = client.post("/webhooks/sendgrid", json=[sendgrid_event(NINA, "open", "ev-9", AT)] * 2)

    assert first.json() == {"accepted": 2, "ignored": 0, "duplicates": 0}
    assert second.json() == {"accepted": 0, "ignored": 0, "duplicates": 2}
    assert within_one.json() == {"accepted": 1, "ignored": 0, "duplicates": 1}
    assert [e.external_id for e in engagement(engine)] == ["ev-1", "ev-9"]
    assert suppressed(engine) == {OTTO}


def test_a_bounce_suppresses_the_lead_and_exits_its_enrollment(client, engine, leads):
    reply = client.post("/webhooks/sendgrid", json=[sendgrid_event(NINA.upper(), "bounce", "ev-1", AT)])

    assert reply.json()["accepted"] == 1
    lead = lead_by_email(engine, NINA)
    assert (lead.stage, lead.email_status, lead.email_status_reason) == ("nurturing", "bounced", "bounce")
    (enrollment,) = enrollments_of(engine, leads[NINA])
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "bounce")
    with unit_of_work(engine) as session:
        row = session.get(Suppression, NINA)
        assert (row.reason, row.source, row.at) == ("bounce", "sendgrid", T0.replace(hour=10))


@pytest.mark.parametrize("body", [b"{not json", b'{"event": "open"}', b"\xff\xfe", b""])
def test_a_malformed_body_is_a_400_with_one_sentence(client, engine, leads, body):
    reply = client.post("/webhooks/sendgrid", content=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 400
    message = reply.json()["error"]
    assert message.endswith(".") and message.count(".") == 1 and "Traceback" not in message
    assert engagement(engine) == []


def _key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A P-256 key pair; the public half base64 DER, as SendGrid's settings page shows it."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode("ascii")


def _signed(private: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode("ascii")}


def test_with_a_key_configured_only_correctly_signed_requests_are_applied(engine, leads):
    private, public = _key_pair()
    other, _ = _key_pair()
    body = json.dumps([sendgrid_event(NINA, "click", "ev-1", AT)]).encode()
    stamp = str(int(time.time()))

    with client_for(engine, public) as client:
        good = client.post("/webhooks/sendgrid", content=body, headers=_signed(private, body, stamp))
        refused = [
            client.post("/webhooks/sendgrid", content=body, headers=_signed(other, body)),  # another key
            client.post("/webhooks/sendgrid", content=body.replace(b"click", b"open "),
                        headers=_signed(private, body)),  # body altered after signing
            client.post("/webhooks/sendgrid", content=body,
                        headers={**_signed(private, body, stamp), "X-Twilio-Email-Event-Webhook-Timestamp": str(int(stamp) + 1)}),
            client.post("/webhooks/sendgrid", content=body, headers={"Content-Type": "application/json"}),  # unsigned
            client.post("/webhooks/sendgrid", content=body,
                        headers={**_signed(private, body), "X-Twilio-Email-Event-Webhook-Signature": "%%%"}),
        ]

    assert good.status_code == 200 and good.json()["accepted"] == 1
    assert [r.status_code for r in refused] == [403] * 5
    assert all("error" in r.json() for r in refused)
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(EngagementEvent)) == 1


def test_a_pem_key_works_too(engine, leads):
    private, _ = _key_pair()
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    body = json.dumps([sendgrid_event(NINA, "open", "ev-1", AT)]).encode()
    with client_for(engine, pem) as client:
        assert client.post("/webhooks/sendgrid", content=body, headers=_signed(private, body)).status_code == 200
