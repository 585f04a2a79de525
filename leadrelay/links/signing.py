"""Signed, expiring links for reps (accept/reject a lead) and leads (unsubscribe).

A token is `<payload>.<signature>`, both base64url without padding, safe in a URL path or query:

- payload: compact JSON `{"d": data, "exp": expiry as whole Unix seconds}`;
- signature: HMAC-SHA256 with the secret over `purpose`, a NUL byte, and the payload text.

The purpose is signed but not written into the token, so a token made for one purpose (say
"unsubscribe") never verifies for another ("rep-accept"). The payload is signed, not encrypted:
anyone holding a link can read its data, so put ids in it, not personal details.

Error messages never contain the token or its data, so they are safe to log and to show.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
from datetime import datetime

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# json.dumps with these options, made once (a hand-off batch signs a link per handoff).
_PAYLOAD_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class LinkError(Exception):
    """A signed link cannot be used."""


class LinkInvalid(LinkError):
    """The link is malformed, altered, signed with another secret, or made for another purpose."""


class LinkExpired(LinkError):
    """The link was genuine but its expiry time has passed."""


def sign(purpose: str, data: dict[str, str | int], secret: str, expires_at: datetime) -> str:
    """A URL-safe token carrying `data` for `purpose`, valid until `expires_at` (whole seconds).

    `data` keys must be text and values text or integers (not booleans), so they read back
    exactly as given. Raises ValueError for an empty secret or purpose, a purpose containing a
    NUL character, a naive `expires_at`, or data of another shape.
    """
    _check_purpose_and_secret(purpose, secret)
    if expires_at.tzinfo is None or expires_at.tzinfo.utcoffset(expires_at) is None:
        raise ValueError("expires_at must be timezone-aware.")
    if not isinstance(data, dict):
        raise ValueError("Link data must be a dict of text keys to text or integer values.")
    for key, value in data.items():
        # bool is a subclass of int but would not read back as the int it looks like.
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("Link data must be a dict of text keys to text or integer values.")
    # Round up so a link is never valid for less time than asked.
    expiry = math.ceil(expires_at.timestamp())
    payload_json = _PAYLOAD_JSON.encode({"d": data, "exp": expiry})
    payload = _b64encode(payload_json.encode("utf-8"))
    return f"{payload}.{_signature(purpose, payload, secret)}"


def verify(token: str, purpose: str, secret: str, as_of: datetime) -> dict[str, str | int]:
    """The data signed into `token` for `purpose`, if it is genuine and not expired at `as_of`.

    Raises LinkInvalid for anything malformed, altered, signed with another secret or made for
    another purpose, and LinkExpired once `as_of` reaches the expiry time. The signature is
    checked before the expiry, so an altered expired link is reported as invalid. Raises
    ValueError (a programming error, not a bad link) for an empty secret or purpose or a naive
    `as_of`.
    """
    _check_purpose_and_secret(purpose, secret)
    if as_of.tzinfo is None or as_of.tzinfo.utcoffset(as_of) is None:
        raise ValueError("as_of must be timezone-aware.")
    if not isinstance(token, str):
        raise LinkInvalid("The link is malformed.")
    parts = token.strip().split(".")
    if len(parts) != 2 or not all(_BASE64URL.match(part) for part in parts):
        raise LinkInvalid("The link is malformed.")
    payload, given_signature = parts
    # Compare the encoded signatures: only the one canonical spelling of a signature is accepted.
    if not hmac.compare_digest(_signature(purpose, payload, secret), given_signature):
        raise LinkInvalid("The link's signature does not match; it was altered or is not meant for this use.")
    body = _decode_payload(payload)
    if as_of.timestamp() >= body["exp"]:
        raise LinkExpired("The link has expired.")
    return body["d"]


def _check_purpose_and_secret(purpose: str, secret: str) -> None:
    if not isinstance(secret, str) or not secret:
        raise ValueError("The signing secret must be a non-empty string.")
    if not isinstance(purpose, str) or not purpose or "\x00" in purpose:
        raise ValueError("The link purpose must be a non-empty string without NUL characters.")


def _signature(purpose: str, payload: str, secret: str) -> str:
    # The NUL separator cannot occur in a purpose or in base64 text, so the message is unambiguous.
    message = purpose.encode("utf-8") + b"\x00" + payload.encode("ascii")
    digest = hmac.digest(secret.encode("utf-8"), message, "sha256")  # the one-shot C path
    return _b64encode(digest)


def _decode_payload(payload: str) -> dict:
    """The payload's JSON body; LinkInvalid if it is not the shape `sign` writes."""
    try:
        body = json.loads(_b64decode(payload).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise LinkInvalid("The link is malformed.") from None
    # A genuine signature over an unexpected shape means the secret is shared with another format.
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("d"), dict)
        or not isinstance(body.get("exp"), int)
        or isinstance(body.get("exp"), bool)
    ):
        raise LinkInvalid("The link is malformed.")
    return body


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # Padding was stripped when encoding; put it back.
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
