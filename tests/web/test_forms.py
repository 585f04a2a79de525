"""Form intake over HTTP: accepted posts reach the inbound table and become leads; everything
else gets a clear 4xx and lands in quarantine (except 429); never a 500."""
from __future__ import annotations

import json
import logging
import threading
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import create_engine

from leadrelay.clock import now
from leadrelay.db import unit_of_work
from leadrelay.intake.forms import RAW_CAP
from leadrelay.intake.form_signature import form_signature
from leadrelay.intake.form_store import store_form
from leadrelay.intake.inbound import intake_next_inbound
from leadrelay.web.rate_limit import RateLimiter
from leadrelay.web.form_view import sentence
from leadrelay.models import InboundLead, Lead, QuarantineEntry
from tests.factories import T0
from tests.support.web import web_client

CARLA = "carla@acme-buyer.com"
SECRET = "form-test-secret"
FORM = "/forms/contact-us"


@pytest.fixture(autouse=True)
def emitted(monkeypatch) -> list[tuple[int, str]]:
    """The Prefect events the app emits (as if PREFECT_API_URL were set), recorded instead of sent."""
    calls: list[tuple[int, str]] = []

    def record(event, resource, payload):
        assert event == "leadrelay.form.received"
        calls.append((int(resource["prefect.resource.id"].rsplit(".", 1)[1]), payload["form"]))

    monkeypatch.setattr("leadrelay.orchestration.server.configured_api_url", lambda: "http://prefect.test/api")
    monkeypatch.setattr("prefect.events.emit_event", record)
    return calls


@pytest.fixture
def client(engine):
    with web_client(engine) as test_client:
        yield test_client


def inbound_rows(engine) -> list[InboundLead]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(InboundLead).order_by(InboundLead.id)))


def quarantined(engine) -> list[QuarantineEntry]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id)))


def run_intake(engine) -> None:
    """What the pipeline flow's intake step does with the inbound table."""
    with unit_of_work(engine) as session:
        intake_next_inbound(session, now(), 100, actor="test")


def leads(engine) -> list[Lead]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Lead).order_by(Lead.id)))


def assert_refused(reply, status: int, reason: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["status"] == "rejected"
    assert reason in body["reason"], body["reason"]
    assert body["reason"].endswith(".") and "Traceback" not in body["reason"]


# Accepted posts

def test_a_form_encoded_post_is_stored_and_becomes_a_lead_with_the_form_as_source(client, engine, emitted):
    reply = client.post(FORM, data={"email": " Carla@Acme-Buyer.com ", "first_name": "Carla",
                                    "company_size": "1,200", "shoe_size": "42", "leadrelay_hp": ""})

    assert reply.status_code == 202
    (row,) = inbound_rows(engine)
    assert reply.json() == {"status": "accepted", "id": row.id}
    assert row.source == "contact-us" and row.submission_id is None and row.processed_at is None
    assert row.payload == {"email": " Carla@Acme-Buyer.com ", "first_name": "Carla", "company_size": "1,200",
                           "shoe_size": "42"}
    assert emitted == [(row.id, "contact-us")]

    run_intake(engine)
    (lead,) = leads(engine)
    assert (lead.email, lead.first_name, lead.company_size, lead.source) == (CARLA, "Carla", 1200, "contact-us")
    assert lead.attributes == {"shoe_size": "42"}
    assert quarantined(engine) == []


def test_a_json_post_reads_numbers_booleans_and_null_like_csv_cells(client, engine):
    reply = client.post("/forms/webinar", json={"email": CARLA, "company_size": 250, "budget_usd": 50000.0,
                                                "consent": True, "phone": None, "Webinar": "spring-2026"})

    assert reply.status_code == 202
    (row,) = inbound_rows(engine)
    assert row.payload == {"email": CARLA, "company_size": "250", "budget_usd": "50000", "consent": "true",
                           "webinar": "spring-2026"}
    run_intake(engine)
    (lead,) = leads(engine)
    assert (lead.company_size, lead.budget_usd, lead.consent, lead.phone) == (250, 50000, True, None)
    assert (lead.source, lead.attributes) == ("webinar", {"webinar": "spring-2026"})


def test_a_multipart_post_is_accepted_and_a_checkbox_group_is_one_field(client, engine):
    reply = client.post(FORM, files=[("email", (None, CARLA)), ("interest", (None, "pricing")),
                                     ("interest", (None, "api"))])

    assert reply.status_code == 202
    assert inbound_rows(engine)[0].payload == {"email": CARLA, "interest": "pricing, api"}


def test_a_source_field_in_the_post_wins_over_the_form_name_as_a_csv_row_does(client, engine):
    assert client.post(FORM, data={"email": CARLA, "source": "partner-fair"}).status_code == 202
    run_intake(engine)
    assert leads(engine)[0].source == "partner-fair"


# submission_id

def test_the_same_submission_id_twice_makes_one_inbound_row_and_one_lead(client, engine, emitted):
    first = client.post(FORM, data={"email": CARLA, "submission_id": "sub-1"})
    again = client.post(FORM, json={"email": CARLA, "first_name": "Carla", "submission_id": " sub-1 "})
    other_form = client.post("/forms/webinar", data={"email": CARLA, "submission_id": "sub-1"})

    assert first.status_code == 202 and again.status_code == 200 and other_form.status_code == 202
    assert again.json() == {"status": "duplicate", "id": first.json()["id"]}
    rows = inbound_rows(engine)
    assert [(r.source, r.submission_id) for r in rows] == [("contact-us", "sub-1"), ("webinar", "sub-1")]
    assert "submission_id" not in rows[0].payload
    assert [event[0] for event in emitted] == [first.json()["id"], other_form.json()["id"]]
    run_intake(engine)
    assert len(leads(engine)) == 1


def test_two_posts_with_one_submission_id_at_the_same_moment_make_one_row(engine):
    """The second insert waits on the first one's uncommitted row, then finds it: no SELECT-then-INSERT gap."""
    second: dict = {}

    def post_again():
        with unit_of_work(engine) as session:
            second["stored"] = store_form(session, "contact-us", {"email": CARLA}, "sub-race", T0)

    with unit_of_work(engine) as session:
        first = store_form(session, "contact-us", {"email": CARLA}, "sub-race", T0)
        racer = threading.Thread(target=post_again)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # blocked by the first transaction, not done with its own row
    racer.join(timeout=30)

    assert not first.duplicate
    assert (second["stored"].inbound_id, second["stored"].duplicate) == (first.inbound_id, True)
    assert len(inbound_rows(engine)) == 1


def test_a_submission_id_that_is_too_long_is_refused(client, engine):
    assert_refused(client.post(FORM, data={"email": CARLA, "submission_id": "x" * 201}), 422,
                   "The submission_id is 201 characters long; the limit is 200.")
    assert inbound_rows(engine) == [] and len(quarantined(engine)) == 1


def test_without_a_configured_prefect_server_no_event_is_sent(client, engine, emitted, monkeypatch):
    monkeypatch.setattr("leadrelay.orchestration.server.configured_api_url", lambda: None)
    assert client.post(FORM, data={"email": CARLA}).status_code == 202
    assert emitted == [] and len(inbound_rows(engine)) == 1


# Refusals: a clear 4xx, kept in quarantine

def test_a_submission_without_an_email_is_refused_and_quarantined_with_its_text(client, engine, emitted):
    reply = client.post(FORM, data={"first_name": "Carla"})

    assert reply.json() == {"status": "rejected", "reason": "The email is missing."}
    assert reply.status_code == 422
    (entry,) = quarantined(engine)
    assert (entry.source, entry.reason, entry.raw) == ("form:contact-us", "the email is missing", "first_name=Carla")
    assert inbound_rows(engine) == [] and emitted == []


HOSTILE = [
    # (content type, body, status, reason)
    ("application/x-www-form-urlencoded", b"email=carla%40acme-buyer.com&first_name=%FF", 422,
     "The body is not valid UTF-8 text."),
    ("application/json", b'{"email": "carla@acme-buyer.com", "x": "\xff"}', 422, "The body is not valid UTF-8 text."),
    ("application/json", b"[1, 2]", 422, "must be a JSON object of field names and values, not an array"),
    ("application/json", b'"carla@acme-buyer.com"', 422, "not a string"),
    ("application/json", b"42", 422, "not a number"),
    ("application/json", b"", 422, "The body is not valid JSON."),
    ("application/json", b'{"email": NaN}', 422, "The body is not valid JSON."),
    ("application/json", b'{"email": "a@b.com", "email": "c@d.com"}', 422, "The field 'email' appears more than once."),
    ("application/json", b'{"Email": "a@b.com", "email": "c@d.com"}', 422, "The field 'email' appears more than once."),
    ("application/json", b'{"email": "a@b.com", "team": {"size": 4}}', 422, "The field 'team' is not a plain value."),
    ("application/json", b'{"email": "a@b.com", "tags": ["a", "b"]}', 422, "The field 'tags' is not a plain value."),
    ("application/json", b'{"email": 12345}', 422, "The email is not valid"),
    ("application/json", b'{"email": ["a@b.com"]}', 422, "The email is not text."),
    ("application/json", b'{"email": "a@b.com", "a": "\\ud800"}', 422, "The field 'a' is not valid Unicode text."),
    ("application/json", json.dumps({"email": "a@b.com", **{f"f{i}": "1" for i in range(300)}}).encode(), 422,
     "The post has 301 fields; the limit is 200."),
    ("application/json", json.dumps({"email": "a@b.com", "x" * 101: "1"}).encode(), 422,
     "A field name is 101 characters long; the limit is 100."),
    ("application/x-www-form-urlencoded", b"email=not-an-address", 422, "The email is not valid"),
    ("application/x-www-form-urlencoded", urlencode({"email": CARLA, "company": "x" * 201}).encode(), 422,
     "The field 'company' is 201 characters long; the limit is 200."),
    ("application/x-www-form-urlencoded", b"email=a%40b.com&company_size=lots", 422,
     "The field 'company_size' should be a whole number"),
    ("multipart/form-data; boundary=XX", b"--XX\r\nbroken\r\n", 422, "The multipart body is malformed."),
    ("text/plain", b"email=a@b.com", 415, "The content type must be application/x-www-form-urlencoded"),
    (None, b"email=a@b.com", 415, "not 'none'"),
    ("application/json; charset=latin-1", b'{"email": "a@b.com"}', 415, "Only UTF-8 text is accepted"),
]


@pytest.mark.parametrize("content_type, body, status, reason", HOSTILE)
def test_hostile_or_broken_posts_get_a_clear_4xx_and_are_quarantined(client, engine, content_type, body, status,
                                                                      reason):
    headers = {"Content-Type": content_type} if content_type else {}
    reply = client.post(FORM, content=body, headers=headers)

    assert_refused(reply, status, reason)
    (entry,) = quarantined(engine)
    assert entry.source == "form:contact-us"
    assert sentence(entry.reason) == reply.json()["reason"]
    assert len(entry.raw) <= RAW_CAP + 20
    assert inbound_rows(engine) == []


@pytest.mark.parametrize("content_type, body, reason", [
    ("application/json", b'{"email": "a@b.com", "company": "Acme\\u0000Corp"}', "The field 'company' contains a NUL"),
    ("application/json", b'{"email": "a@b.com", "a\\u0000b": "x"}', "A field name contains a NUL"),
    ("application/x-www-form-urlencoded", b"email=a%40b.com&company=Acme%00Corp", "The field 'company' contains a NUL"),
    ("application/x-www-form-urlencoded", b"email=a%40b.com&company=Acme\x00Corp",
     "The field 'company' contains a NUL"),
    ("application/json", b'{"email": "a@b.com",\x00 "x": 1}', "The body is not valid JSON."),
])
def test_nul_bytes_are_refused_and_the_quarantined_text_shows_them(client, engine, content_type, body, reason):
    """PostgreSQL refuses NUL in text and JSONB: this must be a 422, and quarantine must still store."""
    reply = client.post(FORM, content=body, headers={"Content-Type": content_type})

    assert_refused(reply, 422, reason)
    (entry,) = quarantined(engine)
    assert "\x00" not in entry.raw
    if b"\x00" in body:
        assert "\u2400" in entry.raw


def test_an_invalid_form_name_is_refused(client, engine):
    assert_refused(client.post("/forms/no%20spaces", data={"email": CARLA}), 422, "The form name must be")
    assert_refused(client.post("/forms/" + "f" * 101, data={"email": CARLA}), 422, "The form name must be")
    assert [e.source for e in quarantined(engine)] == ["form:no spaces", "form:" + "f" * 100]


# Honeypot

def test_a_filled_honeypot_is_refused_and_quarantined_with_that_reason(client, engine):
    reply = client.post(FORM, data={"email": CARLA, "leadrelay_hp": "http://cheap-pills.example"})

    assert_refused(reply, 422, "honeypot field 'leadrelay_hp' was filled in")
    (entry,) = quarantined(engine)
    assert "honeypot" in entry.reason and "leadrelay_hp=http" in entry.raw
    assert inbound_rows(engine) == []


# Size

def test_an_oversized_post_is_413_and_only_its_first_bytes_are_kept(client, engine):
    body = ("email=" + "x" * 20_000).encode()
    with_length = client.post(FORM, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    streamed = client.post(FORM, content=iter([b"x" * 1000] * 40), headers={"Content-Type": "application/json"})

    for reply in (with_length, streamed):
        assert_refused(reply, 413, "The post is larger than 16384 bytes")
    entries = quarantined(engine)
    assert [e.reason for e in entries] == ["the post is larger than 16384 bytes, the limit for a form"] * 2
    assert entries[0].raw.startswith("email=xxx") and entries[0].raw.endswith("[truncated]")
    assert all(len(e.raw) <= RAW_CAP + 20 for e in entries)


def test_the_size_limit_is_a_setting(engine):
    with web_client(engine, form_max_bytes=100) as small:
        assert small.post(FORM, data={"email": CARLA, "need": "n" * 100}).status_code == 413
        assert small.post(FORM, data={"email": CARLA}).status_code == 202


def test_json_nested_100000_deep_is_refused_not_a_crash(engine):
    deep = b"[" * 100_000
    inside = b'{"email": "a@b.com", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with web_client(engine) as default_limit:
        assert_refused(default_limit.post(FORM, content=deep, headers={"Content-Type": "application/json"}), 413,
                       "larger than 16384 bytes")
    with web_client(engine, form_max_bytes=300_000) as raised:
        for body in (deep, inside):
            assert_refused(raised.post(FORM, content=body, headers={"Content-Type": "application/json"}), 422,
                           "The JSON is nested too deeply.")
        assert raised.get("/healthz").status_code == 200
    assert [e.reason for e in quarantined(engine)][1:] == ["the JSON is nested too deeply"] * 2


# Signed posts

def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Leadrelay-Signature": form_signature(secret, body)}


def test_a_signed_post_is_accepted_and_skips_rate_limit_and_honeypot(engine):
    body = json.dumps({"email": CARLA, "leadrelay_hp": "filled by a server", "submission_id": "crm-1"}).encode()
    with web_client(engine, form_secret=SecretStr(SECRET), form_rate_per_minute=1) as client:
        replies = [client.post(FORM, content=body, headers=signed(body)) for _ in range(3)]
        unsigned = [client.post(FORM, data={"email": f"u{i}@acme-buyer.com"}) for i in range(2)]

    assert [r.status_code for r in replies] == [202, 200, 200]
    assert [r.status_code for r in unsigned] == [202, 429]
    assert inbound_rows(engine)[0].payload == {"email": CARLA}


def test_bad_or_unverifiable_signatures_are_401_and_quarantined(engine):
    body = json.dumps({"email": CARLA}).encode()
    with web_client(engine, form_secret=SecretStr(SECRET)) as client:
        refused = [
            client.post(FORM, content=body, headers=signed(body, "another-secret")),
            client.post(FORM, content=body.replace(b"carla", b"karla"), headers=signed(body)),  # altered
            client.post(FORM, content=body, headers={**signed(body), "X-Leadrelay-Signature": "md5=abc"}),
            client.post(FORM, content=body,
                        headers={**signed(body), "X-Leadrelay-Signature": b"sha256=" + b"\xe9" * 64}),  # not ASCII
        ]
    with web_client(engine) as no_secret:
        refused.append(no_secret.post(FORM, content=body, headers=signed(body)))

    reasons = [r.json()["reason"] for r in refused]
    assert [r.status_code for r in refused] == [401] * 5
    assert reasons[0] == reasons[1] == "The X-Leadrelay-Signature header does not match the body."
    assert reasons[2] == reasons[3] == "The X-Leadrelay-Signature header must be sha256= followed by 64 hex digits."
    assert "no form secret configured" in reasons[4]
    assert len(quarantined(engine)) == 5 and inbound_rows(engine) == []


def test_unsigned_posts_are_401_when_signatures_are_required(engine):
    body = json.dumps({"email": CARLA}).encode()
    with web_client(engine, form_secret=SecretStr(SECRET), form_require_signature=True) as client:
        assert_refused(client.post(FORM, json={"email": CARLA}), 401, "accepts signed posts only")
        assert client.post(FORM, content=body, headers=signed(body)).status_code == 202


# Rate limit

class FakeClock:
    def __init__(self):
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_too_many_posts_from_one_address_get_429_with_retry_after_and_are_not_quarantined(engine):
    clock = FakeClock()
    with web_client(engine) as client:
        client.app.state.form_limiter = RateLimiter(2, clock=clock)
        allowed = [client.post(FORM, data={"email": f"p{i}@acme-buyer.com"}) for i in range(2)]
        limited = client.post(FORM, data={"email": CARLA})
        clock.seconds += 30
        later = client.post(FORM, data={"email": CARLA})

    assert [r.status_code for r in allowed] == [202, 202]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert limited.json() == {"status": "rate_limited",
                              "reason": "Too many posts from your address; please try again in 30 seconds."}
    assert later.status_code == 202
    assert quarantined(engine) == [] and len(inbound_rows(engine)) == 3


# Operations

def test_log_lines_name_the_form_and_outcome_but_no_personal_data(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post(FORM, data={"email": CARLA, "first_name": "Carlotta"})
        client.post(FORM, data={"email": "carlotta@@acme-buyer.com"})
        client.post(FORM, data={"email": CARLA, "leadrelay_hp": "x"})
    assert "form contact-us: accepted (202)" in caplog.text
    assert "form contact-us: quarantined (422)" in caplog.text
    assert "carla" not in caplog.text.lower()


def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'leadrelay.db'}")
    with web_client(engine) as client:
        accepted = client.post(FORM, data={"email": CARLA})
        refused = client.post(FORM, data={"first_name": "Carla"})
    for reply in (accepted, refused):
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "60"
        assert reply.json()["status"] == "unavailable"
