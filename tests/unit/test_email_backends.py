"""Email backends without HTTP: the SendGrid body against SendGrid's schema, retry arithmetic,
the outbox .eml files, and the recording fake."""
from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.email.backends import (
    IDEMPOTENCY_HEADER,
    OutboxDirSender,
    SendGridSender,
    build_sendgrid_body,
    outbox_filename,
    parse_retry_after,
)
from leadrelay.email.message import EmailMessage, SendResult
from leadrelay.email.retry import MAX_ATTEMPTS, backoff_seconds, exhausted, next_attempt_at
from tests.support.fake_sendgrid import mail_send_errors, mail_send_validator
from tests.support.recording_sender import RecordingSender

AS_OF = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def make_message(**changes) -> EmailMessage:
    base = EmailMessage(
        idempotency_key="nurture:track-a:step-2:lead-42",
        to_email="ada@example.org",
        to_name="Ada Lovelace",
        from_email="marketing@example.com",
        from_name="Example Marketing",
        subject="Your guide to lead scoring",
        html="<p>Hello Ada, here is <b>the guide</b>.</p>",
        text="Hello Ada, here is the guide.",
        headers={"List-Unsubscribe": "<https://example.com/u/abc>"},
        categories=("nurture", "track-a", "nurture"),
        custom_args={"lead_id": "42", "step": "2"},
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def validator():
    return mail_send_validator()


# --- SendGrid body -------------------------------------------------------------------------


def test_sendgrid_body_is_valid_against_the_published_schema(validator):
    body = build_sendgrid_body(make_message())
    assert mail_send_errors(body, validator) == []
    assert body["from"] == {"email": "marketing@example.com", "name": "Example Marketing"}
    assert body["personalizations"][0]["to"] == [{"email": "ada@example.org", "name": "Ada Lovelace"}]
    assert body["subject"] == "Your guide to lead scoring"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["categories"] == ["nurture", "track-a"]
    assert body["headers"] == {"List-Unsubscribe": "<https://example.com/u/abc>"}


def test_idempotency_key_travels_in_custom_args_and_wins_a_clash(validator):
    message = make_message(custom_args={"lead_id": "42", "idempotency_key": "spoofed"})
    body = build_sendgrid_body(message)
    args = body["personalizations"][0]["custom_args"]
    assert args == {"lead_id": "42", "idempotency_key": "nurture:track-a:step-2:lead-42"}
    # the published schema types top-level custom_args as a string: we must not use it
    assert "custom_args" not in body
    assert mail_send_errors(body, validator) == []


def test_sendgrid_body_flattens_line_breaks_and_maps_reserved_headers(validator):
    message = make_message(
        subject="Hi\r\nBcc: victim@example.net",
        to_name="Ada\nX-Evil: 1",
        headers={"Reply-To": "Rep One <rep@example.com>", "Subject": "ignored", "X-Tag": "a\r\nb"},
    )
    body = build_sendgrid_body(message)
    assert body["subject"] == "Hi Bcc: victim@example.net"
    assert body["personalizations"][0]["to"][0]["name"] == "Ada X-Evil: 1"
    assert body["reply_to"] == {"email": "rep@example.com", "name": "Rep One"}
    assert body["headers"] == {"X-Tag": "a b"}
    assert mail_send_errors(body, validator) == []


def test_recipient_address_is_sent_verbatim_not_reparsed():
    body = build_sendgrid_body(make_message(to_name="", to_email="a@example.org, b@example.org"))
    # `To("a, b")` would have kept only the first address; we pass it through for SendGrid to judge
    assert body["personalizations"][0]["to"] == [{"email": "a@example.org, b@example.org"}]


def test_empty_parts_are_left_out_and_empty_subject_is_schema_invalid(validator):
    body = build_sendgrid_body(make_message(text="", subject=""))
    assert body["content"] == [{"type": "text/html", "value": make_message().html}]
    assert [e["field"] for e in mail_send_errors(body, validator)] == ["subject"]
    no_content = build_sendgrid_body(make_message(text="", html=""))
    assert [e["field"] for e in mail_send_errors(no_content, validator)] == ["content"]


def test_api_key_shaped_content_fails_before_any_request():
    # port 9 (discard) on loopback: if a request were made it would be refused, i.e. "retry"
    sender = SendGridSender("SG.real.key", host="http://127.0.0.1:9", timeout=1)
    result = sender.send(make_message(text="SG.abc123.def456 leaked"))
    assert result.status == "failed"
    assert "API key" in result.error


def test_sendgrid_sender_refuses_bad_configuration():
    with pytest.raises(ValueError):
        SendGridSender("", host="https://api.sendgrid.com")
    with pytest.raises(ValueError):
        SendGridSender("SG.k", host="api.sendgrid.com")
    with pytest.raises(ValueError):
        SendGridSender("SG.k", host="https://api.sendgrid.com", timeout=0)
    assert "SG.k" not in repr(SendGridSender("SG.k", host="https://api.sendgrid.com"))


@pytest.mark.parametrize(
    "value, expected",
    [("1", 1.0), (" 2.5 ", 2.5), (None, None), ("soon", None), ("-3", None), ("inf", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


# --- retry arithmetic ----------------------------------------------------------------------


def test_backoff_doubles_from_base_up_to_cap():
    assert [backoff_seconds(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert backoff_seconds(1000) == 3600
    assert backoff_seconds(3, base_seconds=10, cap_seconds=25) == 25


def test_next_attempt_at_uses_backoff_without_retry_after():
    assert next_attempt_at(1, AS_OF, None) == AS_OF + timedelta(seconds=30)
    assert next_attempt_at(4, AS_OF, None) == AS_OF + timedelta(seconds=240)
    assert next_attempt_at(20, AS_OF, None) == AS_OF + timedelta(hours=1)


def test_next_attempt_at_honours_retry_after_even_above_the_cap():
    assert next_attempt_at(5, AS_OF, 1.0) == AS_OF + timedelta(seconds=1)
    assert next_attempt_at(1, AS_OF, 7200) == AS_OF + timedelta(hours=2)
    assert next_attempt_at(1, AS_OF, -5) == AS_OF


def test_next_attempt_at_is_deterministic_and_keeps_the_timezone():
    naive = datetime(2025, 1, 1, 12, 0)
    assert next_attempt_at(2, naive, None) == next_attempt_at(2, naive, None)
    assert next_attempt_at(2, naive, None).tzinfo is None
    assert next_attempt_at(2, AS_OF, None).tzinfo is timezone.utc
    with pytest.raises(ValueError):
        next_attempt_at(0, AS_OF, None)


def test_exhausted_after_max_attempts():
    assert MAX_ATTEMPTS >= 3
    assert not exhausted(MAX_ATTEMPTS - 1)
    assert exhausted(MAX_ATTEMPTS)


# --- outbox folder -------------------------------------------------------------------------


def read_eml(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_outbox_writes_a_multipart_alternative_eml(tmp_path):
    sender = OutboxDirSender(tmp_path / "outbox")
    message = make_message(subject="Café ☕ and scoring", to_name="Zoë Ünal")
    result = sender.send(message)
    assert result.status == "sent"
    [path] = (tmp_path / "outbox").iterdir()
    assert path == sender.path_for(message) and path.suffix == ".eml"
    parsed = read_eml(path)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == "Café ☕ and scoring"
    assert parsed["To"].addresses[0].display_name == "Zoë Ünal"
    assert parsed["To"].addresses[0].addr_spec == "ada@example.org"
    assert parsed["From"].addresses[0].addr_spec == "marketing@example.com"
    assert parsed["List-Unsubscribe"] == "<https://example.com/u/abc>"
    assert parsed[IDEMPOTENCY_HEADER] == message.idempotency_key
    text, html = parsed.get_payload()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == message.text
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == message.html


def test_outbox_same_key_overwrites_the_same_file(tmp_path):
    sender = OutboxDirSender(tmp_path)
    sender.send(make_message(subject="first"))
    sender.send(make_message(subject="second"))
    files = list(tmp_path.iterdir())
    assert len(files) == 1  # no stray temp files either
    assert read_eml(files[0])["Subject"] == "second"
    sender.send(make_message(idempotency_key="another"))
    assert len(list(tmp_path.iterdir())) == 2


def test_outbox_does_not_crash_on_line_breaks_and_allows_no_injection(tmp_path):
    sender = OutboxDirSender(tmp_path)
    message = make_message(
        subject="Hello\r\nBcc: victim@example.net",
        to_name="Ada\r\nX-Injected: yes",
        from_name="Mkt\n",
        headers={"X-Campaign": "spring\r\nX-Other: 1"},
    )
    assert sender.send(message).status == "sent"
    parsed = read_eml(sender.path_for(message))
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None and parsed["X-Other"] is None
    assert parsed["Subject"] == "Hello Bcc: victim@example.net"
    assert parsed["X-Campaign"] == "spring X-Other: 1"


@pytest.mark.parametrize("name", ["Bad\r\nName", "X-Trailing\n", "Has Space", "Colon:", ""])
def test_outbox_refuses_an_invalid_header_name_as_a_permanent_failure(tmp_path, name):
    result = OutboxDirSender(tmp_path).send(make_message(headers={name: "x"}))
    assert result.status == "failed" and "header name" in result.error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b", "a_b", "..", "", "ключ:1", "x" * 500])
def test_outbox_filenames_are_safe_and_distinct(tmp_path, key):
    name = outbox_filename(key)
    assert "/" not in name and not name.startswith(".") and len(name) < 200
    assert name.endswith(".eml")
    OutboxDirSender(tmp_path).send(make_message(idempotency_key=key))
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_outbox_filenames_differ_for_keys_that_sanitise_alike():
    assert outbox_filename("a/b") != outbox_filename("a_b")


# --- recording fake ------------------------------------------------------------------------


def test_recording_sender_records_and_follows_its_script():
    sender = RecordingSender([SendResult("retry", retry_after=2), SendResult("failed", error="no")])
    message = make_message()
    assert sender.send(message).status == "retry"
    assert sender.send(message).status == "failed"
    assert sender.send(message).status == "sent"
    assert sender.attempts == [message] * 3
    assert sender.sent == [message]
