"""Why a rep turns a lead down: the one list of reject reasons, and reading one from people.

No imports beyond the standard library, so config validation (routing.yaml's `rejections`) and
the nurture tracks can name the reasons without pulling in the database layer.
"""
from __future__ import annotations

from types import MappingProxyType

# In the order the form lists them: code -> label.
REJECT_REASONS: MappingProxyType[str, str] = MappingProxyType({
    "no-budget": "No budget",
    "no-authority": "No authority",
    "no-need": "No need",
    "bad-timing": "Bad timing",
    "not-a-fit": "Not a fit",
    "duplicate": "Duplicate",
    "other": "Other",
})


def reason_code(text: str | None) -> str | None:
    """The reason code for a code or a label, in any case and with spaces around; None when unknown."""
    wanted = (text or "").strip().lower()
    for code, label in REJECT_REASONS.items():
        if wanted in (code, label.lower()):
            return code
    return None


def unknown_reason_message(text: str) -> str:
    """One sentence for a reason that is not known, listing the known ones."""
    return f"'{text.strip()}' is not a reject reason; use one of: {', '.join(REJECT_REASONS)}."
