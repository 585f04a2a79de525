"""Signed server-to-server form posts: `X-Leadrelay-Signature: sha256=<hex HMAC-SHA256 of the body>`."""
from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Leadrelay-Signature"
_FORMAT = re.compile(r"sha256=([0-9a-fA-F]{64})")


def form_signature(secret: str, body: bytes) -> str:
    """The header value that signs `body` with `secret`: `sha256=` and 64 lower-case hex digits."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_problem(secret: str | None, header: str, body: bytes) -> str | None:
    """None when `header` is the signature of `body` under `secret`; otherwise why it is not
    (no secret configured, a malformed header, or a signature that does not match)."""
    if not secret:
        return (f"this server has no form secret configured, so the {SIGNATURE_HEADER} header "
                "cannot be verified")
    # Checked before comparing: compare_digest refuses non-ASCII text, and headers can carry any byte.
    given = _FORMAT.fullmatch(header.strip())
    if given is None:
        return f"the {SIGNATURE_HEADER} header must be sha256= followed by 64 hex digits"
    if not hmac.compare_digest(form_signature(secret, body)[7:], given.group(1).lower()):
        return f"the {SIGNATURE_HEADER} header does not match the body"
    return None
