"""Signed, expiring links in leadrelay.links.signing."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.links.signing import LinkError, LinkExpired, LinkInvalid, sign, verify

SECRET = "s3cret-for-tests"
EXPIRES = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)
BEFORE = datetime(2026, 1, 20, 9, 0, tzinfo=timezone.utc)
DATA = {"handoff": 42, "rep": "rep-7"}


def make(data=None, purpose="rep-answer", secret=SECRET, expires_at=EXPIRES) -> str:
    return sign(purpose, DATA if data is None else data, secret, expires_at)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_round_trip():
    assert verify(make(), "rep-answer", SECRET, BEFORE) == {"handoff": 42, "rep": "rep-7"}


def test_round_trip_with_unicode_text():
    token = make({"name": "Zoë Čapek", "lead": 7})
    assert verify(token, "rep-answer", SECRET, BEFORE) == {"name": "Zoë Čapek", "lead": 7}


def test_token_is_url_safe():
    token = make({"email": "a+b@example.com", "note": "x/y?z=1&w"})
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


def test_verify_accepts_timezones_other_than_utc():
    berlin_winter = timezone(timedelta(hours=1))
    assert verify(make(), "rep-answer", SECRET, datetime(2026, 2, 1, 12, 59, tzinfo=berlin_winter)) == DATA


def test_tampered_payload_is_invalid():
    payload, signature = make().split(".")
    body = json.loads(unb64(payload))
    body["d"]["handoff"] = 43
    forged = b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode()) + "." + signature
    with pytest.raises(LinkInvalid):
        verify(forged, "rep-answer", SECRET, BEFORE)


def test_extended_expiry_is_invalid():
    payload, signature = make().split(".")
    body = json.loads(unb64(payload))
    body["exp"] += 365 * 24 * 3600
    forged = b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode()) + "." + signature
    with pytest.raises(LinkInvalid):
        verify(forged, "rep-answer", SECRET, BEFORE)


def test_one_changed_payload_character_is_invalid():
    payload, signature = make().split(".")
    changed = ("B" if payload[0] != "B" else "C") + payload[1:]
    with pytest.raises(LinkInvalid):
        verify(f"{changed}.{signature}", "rep-answer", SECRET, BEFORE)


@pytest.mark.parametrize("position", [0, 10, -1])
def test_tampered_signature_is_invalid(position):
    payload, signature = make().split(".")
    chars = list(signature)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(LinkInvalid):
        verify(f"{payload}.{''.join(chars)}", "rep-answer", SECRET, BEFORE)


def test_truncated_signature_is_invalid():
    token = make()
    with pytest.raises(LinkInvalid):
        verify(token[:-1], "rep-answer", SECRET, BEFORE)


def test_wrong_purpose_is_invalid():
    token = make(purpose="unsubscribe")
    with pytest.raises(LinkInvalid):
        verify(token, "rep-answer", SECRET, BEFORE)


def test_wrong_secret_is_invalid():
    token = make(secret="another-secret")
    with pytest.raises(LinkInvalid):
        verify(token, "rep-answer", SECRET, BEFORE)


def test_expired_at_the_expiry_moment():
    with pytest.raises(LinkExpired):
        verify(make(), "rep-answer", SECRET, EXPIRES)


def test_valid_one_second_before_expiry():
    assert verify(make(), "rep-answer", SECRET, EXPIRES - timedelta(seconds=1)) == DATA


def test_expired_after_expiry():
    with pytest.raises(LinkExpired, match="expired"):
        verify(make(), "rep-answer", SECRET, EXPIRES + timedelta(days=30))


def test_expiry_with_fractional_seconds_is_rounded_up_not_down():
    token = make(expires_at=datetime(2026, 2, 1, 12, 0, 0, 500_000, tzinfo=timezone.utc))
    assert verify(token, "rep-answer", SECRET, datetime(2026, 2, 1, 12, 0, 0, 900_000, tzinfo=timezone.utc)) == DATA


def test_expired_and_invalid_share_a_base_class_but_differ():
    assert issubclass(LinkExpired, LinkError)
    assert issubclass(LinkInvalid, LinkError)
    assert not issubclass(LinkExpired, LinkInvalid)
    assert not issubclass(LinkInvalid, LinkExpired)


def test_tampered_expired_link_is_reported_invalid():
    payload, signature = make().split(".")
    with pytest.raises(LinkInvalid):
        verify(f"{payload}.{signature[::-1]}", "rep-answer", SECRET, EXPIRES + timedelta(days=1))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        ".",
        "abc",
        "abc.def",
        "a.b.c",
        "not base64!.at all?",
        "%%%%.####",
        "ünïcødé.tökén",
        "\x00\x00.\x00",
        "eyJkIjp7fX0",  # a payload with no signature
        "A" * 5000 + "." + "B" * 43,
    ],
)
def test_garbage_is_invalid(garbage):
    with pytest.raises(LinkInvalid):
        verify(garbage, "rep-answer", SECRET, BEFORE)


def test_non_string_token_is_invalid():
    with pytest.raises(LinkInvalid):
        verify(None, "rep-answer", SECRET, BEFORE)


def test_messages_contain_no_personal_data_or_token():
    personal = {"email": "jane.doe@example.com", "name": "Jane Doe"}
    token = make(personal)
    payload, signature = token.split(".")
    attempts = [
        (f"{payload}.{signature[::-1]}", BEFORE),  # invalid
        (token, EXPIRES + timedelta(days=1)),  # expired
        (token + "!", BEFORE),  # malformed
    ]
    for attempt, as_of in attempts:
        with pytest.raises(LinkError) as error:
            verify(attempt, "rep-answer", SECRET, as_of)
        message = str(error.value)
        assert "jane" not in message.lower()
        assert "example.com" not in message
        assert payload not in message
        assert message.endswith(".")


@pytest.mark.parametrize(
    "data",
    [
        {"ok": True},  # a bool would read back as true, not the int it looks like
        {"ok": 1.5},
        {"ok": None},
        {"ok": ["a"]},
        {1: "a"},
    ],
)
def test_sign_rejects_data_that_would_not_round_trip(data):
    with pytest.raises(ValueError, match="text keys"):
        sign("rep-answer", data, SECRET, EXPIRES)


def test_sign_rejects_naive_expiry():
    with pytest.raises(ValueError, match="timezone-aware"):
        sign("rep-answer", DATA, SECRET, datetime(2026, 2, 1, 12))


@pytest.mark.parametrize(("purpose", "secret"), [("rep-answer", ""), ("", SECRET), ("a\x00b", SECRET)])
def test_sign_and_verify_reject_empty_secret_or_bad_purpose(purpose, secret):
    with pytest.raises(ValueError):
        sign(purpose, DATA, secret, EXPIRES)
    with pytest.raises(ValueError):
        verify(make(), purpose, secret, BEFORE)


def test_verify_rejects_naive_as_of():
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(make(), "rep-answer", SECRET, datetime(2026, 1, 20, 9))
