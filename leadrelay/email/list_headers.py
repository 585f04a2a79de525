"""Headers whose value is a list of `<URI>`s (RFC 2369: List-Unsubscribe, List-Help, ...), written
into .eml files as plain text.

The stdlib's SMTP policy folds any header at 78 columns, and a token longer than that (a signed
unsubscribe URL) it can only break by turning the whole value into RFC 2047 encoded-words
(`=?utf-8?q?=3Chttps…`), which mail clients do not act on. These headers are written as given
instead, folded only between their URIs (RFC 2369 allows it), each line well under RFC 5322's
998-character limit.
"""
from __future__ import annotations

from typing import Any

URI_LIST_HEADERS = frozenset({"list-unsubscribe", "list-help", "list-subscribe", "list-post", "list-owner",
                              "list-archive"})
MAX_LINE = 998  # RFC 5322's hard limit for a line, without CRLF


class UriListHeader(str):
    """A header value that the email package stores as a header object (it has `name`) and
    writes through `fold`, so the policy never re-encodes it."""

    name: str

    def __new__(cls, name: str, value: str) -> "UriListHeader":
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: Any) -> str:
        return f"{self.name}: " + f",{policy.linesep} ".join(_uris(self)) + policy.linesep


def _uris(value: str) -> list[str]:
    """`<a>, <b>` as ["<a>", "<b>"] (">" cannot occur inside a URI)."""
    return [part.strip() + ">" for part in value.strip().removesuffix(">").split(">,")]


def mime_header_value(name: str, value: str) -> Any:
    """What to assign as `mime[name]`: a UriListHeader for a plain ASCII list of `<URI>`s that
    fits the line limit, else `value` (for the email package to fold as usual)."""
    value = value.strip()
    if name.lower() not in URI_LIST_HEADERS or not value.isascii() or not value.startswith("<"):
        return value
    if any(not uri.startswith("<") or len(name) + len(uri) + 3 > MAX_LINE for uri in _uris(value)):
        return value
    return UriListHeader(name, value)
