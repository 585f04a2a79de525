"""What sales may say became of a lead, as plain functions: outcome names, amounts, reasons, and
the stage moves each outcome makes from each stage. No database, no clock.

The moves (every one goes through `leadrelay.lifecycle`, whose ALLOWED table they follow):

- `sql`: from `sal` (a rep accepted the lead) to `sql`;
- `won`: from `sql`; from `sal` it records `sql` first (two history events), so the funnel counts
  the SQL step; `won` is final and ends every nurture enrollment for good;
- `lost`: from `sql` (or from `sal`, recording `sql` first) to `lost`, and straight on to
  `nurturing` with nurture reason `lost:<reason>` (tracks take the whole `lost` family);
- `disqualified`: from `new`, `nurturing` or `sal`. Final, unless its reason is one that time can
  change (RECYCLING_DISQUALIFY_REASONS: bad-timing, no-budget, no-authority): then the lead goes
  to `nurturing` with nurture reason `disqualified:<reason>` (from `new` or `sal`; a lead already
  nurturing is left where it is, and the outcome is refused).

An `mql` (its handoff still open) takes no outcome: its rep accepts or rejects it first. Anything
not listed is refused with one sentence that says what is allowed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from leadrelay.handoff.answers import clean_text
from leadrelay.lifecycle import NURTURE_REASON_MAX
from leadrelay.models import Stage

OUTCOMES: tuple[str, ...] = ("sql", "won", "lost", "disqualified")
# Disqualification reasons that time can change: the lead is nurtured again instead of dropped.
RECYCLING_DISQUALIFY_REASONS = frozenset({"bad-timing", "no-budget", "no-authority"})
REASON_MAX = 200
# Amounts are kept in cents (exact on SQLite and PostgreSQL alike); up to a trillion.
AMOUNT_MAX_CENTS = 100_000_000_000_000
UNSPECIFIED = "unspecified"
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?")


class OutcomeError(ValueError):
    """An outcome that cannot be recorded as given; the message is one sentence."""


@dataclass(frozen=True)
class Move:
    """One stage move an outcome makes, and the nurture reason when it moves into nurturing."""

    from_stage: Stage
    to_stage: Stage
    nurture_reason: str | None = None


def parse_outcome(name: str | None) -> str:
    """The outcome called `name` (any case, trimmed); OutcomeError listing the valid ones otherwise."""
    wanted = (name or "").strip().lower()
    if wanted not in OUTCOMES:
        shown = (name or "").strip()[:40]
        raise OutcomeError(f"'{shown}' is not an outcome; use one of {', '.join(OUTCOMES)}.")
    return wanted


def parse_amount(text: str | int | float | None) -> int | None:
    """An amount (`12500`, `12500.5`, `12,500.00`, or a JSON number) in cents; None when empty.

    OutcomeError for a negative, non-numeric, over-precise or absurdly large amount.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise OutcomeError("amount must be a number such as 12500 or 12500.00.")
    if isinstance(text, (int, float)):
        try:
            value = Decimal(str(text))
        except InvalidOperation:
            raise OutcomeError("amount must be a number such as 12500 or 12500.00.") from None
        try:  # quantize raises for a value with more digits than its context holds (1e30, 10**4000)
            exact = value.is_finite() and value >= 0 and value == value.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise OutcomeError("amount is too large.") from None
        if not exact:
            raise OutcomeError("amount must be a number of at least 0 with at most two decimals.")
    else:
        cleaned = text.strip()
        if cleaned.startswith("-") and _AMOUNT.fullmatch(cleaned[1:].strip()):
            raise OutcomeError("amount must not be negative.")
        if not _AMOUNT.fullmatch(cleaned):
            raise OutcomeError("amount must be a number such as 12500 or 12500.00 (no currency sign).")
        value = Decimal(cleaned.replace(",", ""))
    cents = int(value * 100)
    if cents > AMOUNT_MAX_CENTS:
        raise OutcomeError("amount is too large.")
    return cents


def clean_reason(reason: str | None) -> str | None:
    """The reason without control characters, trimmed; None when empty; OutcomeError when too long."""
    cleaned = clean_text(reason, max_chars=10_000)
    if cleaned and len(cleaned) > REASON_MAX:
        raise OutcomeError(f"reason is longer than {REASON_MAX} characters.")
    return cleaned


def reason_code(reason: str | None) -> str:
    """A short slug of `reason` for nurture reasons (`Price too high` -> `price-too-high`)."""
    slug = re.sub(r"[^a-z0-9]+", "-", (reason or "").lower()).strip("-")
    return slug or UNSPECIFIED


def nurture_reason(family: str, reason: str | None) -> str:
    """`family:<reason code>`, cut to what an enrollment keeps."""
    return f"{family}:{reason_code(reason)}"[:NURTURE_REASON_MAX].rstrip("-")


def plan_moves(stage: Stage | str, outcome: str, reason: str | None) -> list[Move]:
    """The moves `outcome` makes for a lead in `stage` (see the module docstring), in order.

    Raises OutcomeError (one sentence) when the outcome is not allowed from that stage.
    """
    stage = Stage(stage)
    outcome = parse_outcome(outcome)
    with_sql_first = [Move(Stage.sal, Stage.sql)] if stage == Stage.sal else []
    if outcome == "sql" and stage == Stage.sal:
        return [Move(Stage.sal, Stage.sql)]
    if outcome == "won" and stage in (Stage.sal, Stage.sql):
        return [*with_sql_first, Move(Stage.sql, Stage.won)]
    if outcome == "lost" and stage in (Stage.sal, Stage.sql):
        return [*with_sql_first, Move(Stage.sql, Stage.lost),
                Move(Stage.lost, Stage.nurturing, nurture_reason("lost", reason))]
    if outcome == "disqualified":
        recycles = reason_code(reason) in RECYCLING_DISQUALIFY_REASONS
        if recycles and stage in (Stage.new, Stage.sal):
            return [Move(stage, Stage.nurturing, nurture_reason("disqualified", reason))]
        if not recycles and stage in (Stage.new, Stage.nurturing, Stage.sal):
            return [Move(stage, Stage.disqualified)]
    raise OutcomeError(_refusal(stage, outcome, reason))


def _refusal(stage: Stage, outcome: str, reason: str | None) -> str:
    if stage == Stage.mql:
        return f"the lead is an MQL waiting for its rep's answer; the rep accepts it before it can be marked {outcome}."
    if stage == outcome or (stage == Stage.nurturing and outcome == "disqualified"):
        return f"the lead is already {stage}, so marking it {outcome} changes nothing."
    allowed = {"sql": "sal", "won": "sal or sql", "lost": "sal or sql",
               "disqualified": "new, nurturing or sal" if reason_code(reason) not in RECYCLING_DISQUALIFY_REASONS
               else "new or sal"}[outcome]
    return f"a lead in stage {stage} cannot be marked {outcome}; {outcome} is recorded for a lead in {allowed}."
