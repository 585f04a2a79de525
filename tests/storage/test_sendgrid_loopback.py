"""The real `sendgrid` client (through SendGridSender) against a loopback fake of SendGrid.

No test here talks to the internet: every server is tests.support.fake_sendgrid on 127.0.0.1.
"""
from __future__ import annotations

import dataclasses
import heapq
import socket
import time
from datetime import datetime, timezone

import pytest

from leadrelay.email.backends import SendGridSender
from leadrelay.email.message import EmailMessage
from leadrelay.email.retry import next_attempt_at
from tests.support.fake_sendgrid import FakeSendGrid, fake_sendgrid  # noqa: F401  (fixture)

KEY = "SG.fake-key.for-tests"


pytestmark = pytest.mark.usefixtures("no_proxy_for_loopback")


def make_message(n: int = 1, **changes) -> EmailMessage:
    base = EmailMessage(
        idempotency_key=f"handoff:decision-{n}",
        to_email=f"lead{n}@example.org",
        to_name=f"Lead {n}",
        from_email="marketing@example.com",
        from_name="Example Marketing",
        subject=f"A hot lead for you ({n})",
        html=f"<p>Lead {n} asked for a demo.</p>",
        text=f"Lead {n} asked for a demo.",
        categories=("handoff",),
        custom_args={"lead_id": str(n)},
    )
    return dataclasses.replace(base, **changes)


def test_accepted_message_is_sent_with_the_message_id(fake_sendgrid):  # noqa: F811
    result = SendGridSender(KEY, host=fake_sendgrid.url).send(make_message())
    assert result.status == "sent"
    assert result.provider_id and len(result.provider_id) == 22
    [body] = fake_sendgrid.accepted
    assert body["personalizations"][0]["custom_args"] == {
        "lead_id": "1", "idempotency_key": "handoff:decision-1"}
    [request] = fake_sendgrid.requests
    assert request.path == "/v3/mail/send" and request.headers["authorization"] == f"Bearer {KEY}"


def test_host_with_trailing_slash_still_reaches_the_endpoint(fake_sendgrid):  # noqa: F811
    assert SendGridSender(KEY, host=fake_sendgrid.url + "/").send(make_message()).status == "sent"


def test_429_is_a_retry_with_retry_after():
    with FakeSendGrid(KEY, fail_every_nth_with_429=1, retry_after="7") as server:
        result = SendGridSender(KEY, host=server.url).send(make_message())
    assert result.status == "retry" and result.retry_after == 7.0
    assert server.accepted == []


def test_429_without_retry_after_leaves_the_delay_to_the_caller():
    with FakeSendGrid(KEY, fail_every_nth_with_429=1, retry_after=None) as server:
        result = SendGridSender(KEY, host=server.url).send(make_message())
    assert result.status == "retry" and result.retry_after is None


def test_500_is_a_retry():
    with FakeSendGrid(KEY, fail_ratio_500=1.0) as server:
        result = SendGridSender(KEY, host=server.url).send(make_message())
    assert result.status == "retry" and result.retry_after is None
    assert "500" in result.error


def test_schema_invalid_message_fails_with_sendgrids_error_text(fake_sendgrid):  # noqa: F811
    message = make_message(subject="")
    result = SendGridSender(KEY, host=fake_sendgrid.url).send(message)
    assert result.status == "failed"
    assert result.error.startswith("SendGrid 400:")
    assert "non-empty" in result.error and "field: subject" in result.error
    assert message.to_email not in result.error and KEY not in result.error
    assert fake_sendgrid.accepted == []


def test_no_content_fails(fake_sendgrid):  # noqa: F811
    result = SendGridSender(KEY, host=fake_sendgrid.url).send(make_message(text="", html=""))
    assert result.status == "failed" and "content" in result.error


def test_recipient_address_echoed_by_an_error_is_scrubbed(fake_sendgrid):  # noqa: F811
    # jsonschema's "... is not a 'email'" echoes the value, as some real errors do
    message = make_message(to_email="no-at-sign.example.org")
    result = SendGridSender(KEY, host=fake_sendgrid.url).send(message)
    assert result.status == "failed"
    assert "no-at-sign" not in result.error and "<recipient>" in result.error


def test_wrong_api_key_fails_without_leaking_either_key(fake_sendgrid):  # noqa: F811
    wrong = "SG.wrong-key.oops"
    result = SendGridSender(wrong, host=fake_sendgrid.url).send(make_message())
    assert result.status == "failed" and result.error.startswith("SendGrid 401:")
    assert wrong not in result.error and KEY not in result.error


def test_hung_server_is_a_retry_within_the_timeout():
    with FakeSendGrid(KEY, hang_seconds=30) as server:
        started = time.monotonic()
        result = SendGridSender(KEY, host=server.url, timeout=0.5).send(make_message())
        elapsed = time.monotonic() - started
    assert result.status == "retry" and "Timeout" in result.error
    assert elapsed < 3


def test_connection_refused_is_a_retry():
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = SendGridSender(KEY, host=f"http://127.0.0.1:{port}", timeout=2).send(make_message())
    assert result.status == "retry" and "unreachable" in result.error


def test_50_messages_through_a_flaky_server_are_each_accepted_exactly_once():
    """A drainer-like loop on simulated time: every retry is rescheduled with next_attempt_at
    (no real sleeping) until sent. 30% of requests get 500, every 5th gets 429."""
    messages = [make_message(n) for n in range(50)]
    clock = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    with FakeSendGrid(KEY, fail_every_nth_with_429=5, fail_ratio_500=0.3, seed=7) as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        queue = [(clock, n, 0) for n in range(len(messages))]  # (due_at, index, attempts)
        heapq.heapify(queue)
        provider_ids = {}
        while queue:
            due_at, n, attempts = heapq.heappop(queue)
            clock = max(clock, due_at)
            result = sender.send(messages[n])
            attempts += 1
            if result.status == "sent":
                provider_ids[n] = result.provider_id
                continue
            assert result.status == "retry", result
            assert attempts < 40, f"message {n} never got through"
            heapq.heappush(queue, (next_attempt_at(attempts, clock, result.retry_after), n, attempts))
        counts = server.status_counts()
    keys = server.accepted_idempotency_keys()
    assert len(server.accepted) == 50
    assert sorted(keys) == sorted(m.idempotency_key for m in messages)
    assert len(set(provider_ids.values())) == 50
    # the failure injection really happened
    assert counts[429] >= 10 and counts[500] >= 10
    assert sum(counts.values()) == 50 + counts[429] + counts[500]
