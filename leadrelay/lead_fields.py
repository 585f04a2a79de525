"""Looking up a lead's field by the name a config rule uses: the one lookup scoring and routing share."""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

TRUTHY = {"yes", "y", "true", "1", "on"}
ATTRIBUTES_PREFIX = "attributes."


def field_value(lead: Mapping[str, Any], name: str) -> Any:
    """The value of `name` on a lead mapping: a column, or `attributes.<key>` for any other CSV
    column (the key matched exactly, else ignoring case and surrounding spaces); None when absent.

    Scoring (config/scoring.yaml) and routing (config/routing.yaml) both read fields through this,
    so one rule text matches the same leads in both.
    """
    if not name.startswith(ATTRIBUTES_PREFIX):
        return lead.get(name)
    key = name[len(ATTRIBUTES_PREFIX):]
    attributes = lead.get("attributes") or {}
    if key in attributes:
        return attributes[key]
    # CSV headers arrive as people typed them ("Segment"); the rule author should not have to match case.
    wanted = casefold_text(key)
    return next((value for attribute, value in attributes.items() if casefold_text(attribute) == wanted), None)


def casefold_text(value: Any) -> str:
    """The form two config/lead values are compared in: trimmed, case-insensitive text.

    Enum members compare by their value and whole floats as integers, so a `Tier.hot` lead
    field matches `hot` and a stored 3.0 matches a rule's `3`.
    """
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def as_number(value: Any) -> float | None:
    """`value` read as a number (text may hold thousands commas: "1,200"); None for a bool or for
    anything that is not a number."""
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
