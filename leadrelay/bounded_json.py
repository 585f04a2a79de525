"""Parsing JSON from strangers with a limit on nesting.

`json.loads` recurses per level, so a body nested 100,000 deep raises RecursionError (a 500 in a
web app). `loads_bounded` turns that into `UnreadableJson`, a ValueError with one sentence (bytes
that are no JSON at all: its subclass `NotJson`). The size cap is the caller's: read no more than
it allows. Text is not judged here: a `\\ud800` escape is valid JSON, and the caller makes what it
stores storable (`leadrelay.text_safety`), so one odd event does not cost the batch around it.
"""
from __future__ import annotations

import json
from typing import Any


class UnreadableJson(ValueError):
    """The bytes are not JSON within the limits; the message is one sentence."""


class NotJson(UnreadableJson):
    """The bytes are not UTF-8 JSON at all."""


def loads_bounded(data: bytes, max_depth: int) -> Any:
    """The JSON value of UTF-8 `data`, at most `max_depth` arrays/objects deep. Raises
    UnreadableJson otherwise."""
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise UnreadableJson(f"The JSON is nested more than {max_depth} levels deep.") from None
    except (UnicodeDecodeError, ValueError):
        raise NotJson("The body is not valid JSON.") from None
    check_value(value, max_depth)
    return value


def check_value(value: Any, max_depth: int) -> None:
    """Raise UnreadableJson when `value` nests deeper than `max_depth`. Iterative: any depth is
    safe to check."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth >= max_depth:
                raise UnreadableJson(f"The JSON is nested more than {max_depth} levels deep.")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
