"""Looking up a lead's field by the name a config rule uses."""
from __future__ import annotations

from typing import Any, Mapping

TRUTHY = {"yes", "y", "true", "1", "on"}


def field_value(lead: Mapping[str, Any], name: str) -> Any:
    """The value of `name` on a lead dict: a column, or `attributes.<key>` for an unknown CSV column."""
    if name.startswith("attributes."):
        return (lead.get("attributes") or {}).get(name.removeprefix("attributes."))
    return lead.get(name)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
