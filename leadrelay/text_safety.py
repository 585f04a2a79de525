"""Text every database here can store, whatever bytes a CSV file, form or webhook carried.

PostgreSQL's text and JSON types refuse NUL (SQLite takes it), and no UTF-8 database can hold an
unpaired surrogate (which JSON's `\\ud800` escapes and undecodable file names produce). Every
boundary that stores outside text passes it through `storable` first, so one odd character costs
nothing but its own look, never the row or its batch.
"""
from __future__ import annotations

import re
from typing import Any

NUL_SHOWN = "\u2400"  # ␀ SYMBOL FOR NULL: visible, and what the form quarantine already shows
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    return NUL_SHOWN if match.group() == "\x00" else "\ufffd"


def storable(text: str) -> str:
    """`text` with each NUL shown as U+2400 and each unpaired surrogate as U+FFFD; `text` itself
    when it has neither (the common case costs one scan)."""
    if text.isascii():
        return text.replace("\x00", NUL_SHOWN) if "\x00" in text else text
    return _UNSTORABLE.sub(_shown, text)


def is_storable(text: str) -> bool:
    """Whether `text` can be stored as it is (no NUL, no unpaired surrogate)."""
    return _UNSTORABLE.search(text) is None


def storable_fields(values: dict[Any, Any]) -> dict[Any, Any]:
    """A flat mapping with its text keys and text values made storable (other values as they are):
    a CSV row, a form post or one webhook event."""
    return {storable(key) if isinstance(key, str) else key: storable(value) if isinstance(value, str) else value
            for key, value in values.items()}
