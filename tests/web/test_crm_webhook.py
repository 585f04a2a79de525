"""`POST /webhooks/crm`: signed outcomes from a CRM, on SQLite and PostgreSQL; unsigned, wrongly
signed, stale and malformed posts change nothing, and a replayed event is recorded once."""
from __future__ import annotations

import json
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.models import Lead, LeadEvent, SalesOutcome
from leadrelay.outcomes.crm_webhook import crm_signature
from tests.factories import add_scored_lead, lead_by_email
from tests.support.web import web_client

SECRET = "crm-webhook-secret"
CARLA = "carla@acme-buyer.com"


@pytest.fixture
def client(engine):
    with unit_of_work(engine) as session:
        add_scored_lead(session, CARLA, stage="sal", owner_rep="rita@seller.example")
    with web_client(engine, crm_webhook_secret=SecretStr(SECRET)) as test_client:
        yield test_client


def post(client, payload, secret=SECRET, sent_at=None, headers=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(sent_at if sent_at is not None else time.time()))
    signed = {"X-Leadrelay-Timestamp": stamp, "X-Leadrelay-Signature": crm_signature(secret, stamp, body),
              "Content-Type": "application/json"}
    return client.post("/webhooks/crm", content=body, headers=signed if headers is None else headers)


def won(event_id="evt-1", **extra):
    return {"email": CARLA, "outcome": "won", "event_id": event_id, "amount": "12500.00", "reason": "signed", **extra}


def counts(engine):
    with unit_of_work(engine) as session:
        return (session.scalar(select(func.count()).select_from(SalesOutcome)),
                session.scalar(select(func.count()).select_from(LeadEvent)))


def test_a_signed_post_moves_the_lead_to_won_and_a_replay_records_nothing_new(client, engine):
    reply = post(client, won())
    assert (reply.status_code, reply.json()) == (200, {"status": "recorded", "stage": "won"})
    lead = lead_by_email(engine)
    assert lead.stage == "won"
    with unit_of_work(engine) as session:
        actors = set(session.scalars(select(LeadEvent.actor).where(LeadEvent.kind == "stage_changed")))
    assert actors == {"webhook:crm"}
    before = counts(engine)

    replay = post(client, won())

    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    assert counts(engine) == before


@pytest.mark.parametrize("case, status", [("unsigned", 401), ("wrong-secret", 403), ("old", 403),
                                          ("altered", 403), ("bad-header", 401)])
def test_unsigned_wrong_or_stale_posts_are_refused_and_change_nothing(client, engine, case, status):
    before = counts(engine)
    if case == "unsigned":
        reply = client.post("/webhooks/crm", json=won())
    elif case == "bad-header":
        reply = post(client, won(), headers={"X-Leadrelay-Timestamp": str(int(time.time())),
                                             "X-Leadrelay-Signature": "md5=nope"})
    elif case == "altered":
        body = json.dumps(won()).encode()
        stamp = str(int(time.time()))
        reply = client.post("/webhooks/crm", content=body.replace(b"12500", b"99999"), headers={
            "X-Leadrelay-Timestamp": stamp, "X-Leadrelay-Signature": crm_signature(SECRET, stamp, body)})
    else:
        reply = post(client, won(), secret="guess" if case == "wrong-secret" else SECRET,
                     sent_at=time.time() - 301 if case == "old" else None)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/json" and reply.json()["error"]
    assert counts(engine) == before and lead_by_email(engine).stage == "sal"


def test_without_a_configured_secret_every_post_is_refused(engine):
    with unit_of_work(engine) as session:
        add_scored_lead(session, CARLA, stage="sal")
    with web_client(engine) as client:
        reply = post(client, won())
    assert reply.status_code == 403 and "LEADRELAY_CRM_WEBHOOK_SECRET" in reply.json()["error"]
    assert lead_by_email(engine).stage == "sal"


@pytest.mark.parametrize("raw, message", [(b"{not json", "not valid JSON"), (b'"won"', "one JSON object"),
                                          (b'{"email": "carla@acme-buyer.com", "outcome": "won"}', "event_id"),
                                          (b'{"email": "carla@acme-buyer.com", "outcome": "cheered", "event_id": "e"}',
                                           "not an outcome"),
                                          # these three were 500s (recursion, decimal overflow)
                                          (b'{"email": "carla@acme-buyer.com", "outcome": "won", "event_id": "e", "amount": '
                                           + b"[" * 5000 + b"]" * 5000 + b"}", "nested more than"),
                                          (b'{"email": "carla@acme-buyer.com", "outcome": "won", "event_id": "e", "amount": 1e30}',
                                           "too large"),
                                          (b'{"email": "carla@acme-buyer.com", "outcome": "won", "event_id": "e", "amount": '
                                           + b"7" * 4000 + b"}", "amount")])
def test_a_malformed_signed_post_is_a_400_with_the_reason(client, engine, raw, message):
    reply = post(client, None, raw=raw)
    assert reply.status_code == 400 and message in reply.json()["error"]
    assert counts(engine)[0] == 0


def test_an_unknown_lead_is_404_and_a_disallowed_move_is_409(client, engine):
    assert post(client, won(email="nobody@example.org")).status_code == 404
    assert post(client, won("evt-a")).status_code == 200
    again = post(client, {"email": CARLA, "outcome": "sql", "event_id": "evt-b"})
    assert again.status_code == 409 and "cannot be marked sql" in again.json()["error"]
    assert counts(engine)[0] == 1


def test_a_body_over_the_cap_is_refused(client, engine):
    reply = post(client, won(reason="x" * 20_000))
    assert reply.status_code == 413 and counts(engine)[0] == 0


def test_a_delivery_that_races_another_of_the_same_event_is_a_duplicate(client, engine, monkeypatch):
    """Two deliveries of one event both find it new; the loser's insert hits the unique key and
    its second try answers duplicate, never a 500."""
    from leadrelay.outcomes import record

    assert post(client, won("evt-race")).status_code == 200
    real = record._recorded_keys
    calls = []

    def missed_the_first_time(session, keys):
        calls.append(keys)
        return set() if len(calls) == 1 else real(session, keys)

    monkeypatch.setattr(record, "_recorded_keys", missed_the_first_time)
    with unit_of_work(engine) as session:  # as if the other delivery had not moved the lead yet
        session.execute(Lead.__table__.update().values(stage="sql"))
    before = counts(engine)

    reply = post(client, won("evt-race"))

    assert (reply.status_code, reply.json()["status"]) == (200, "duplicate") and len(calls) == 2
    assert counts(engine) == before


@pytest.mark.parametrize("payload, status", [
    ({"email": "car\x00la@acme-buyer.com", "outcome": "won", "event_id": "evt-nul-1"}, 404),
    ({"email": CARLA, "outcome": "sql", "event_id": "evt\x00nul-2"}, 200),
], ids=["NUL in the email", "NUL in the event id"])
def test_a_nul_in_a_post_is_an_answer_about_the_post_never_a_retry_for_ever(client, engine, payload, status):
    """On PostgreSQL a NUL made the lookup fail: 503 ("send it again"), which a CRM retries for ever."""
    reply = post(client, payload)
    assert reply.status_code == status, reply.text
