"""Respecting a rep's rejection: how long a rejected lead waits before it is handed back, to whom,
and what ends the wait early (config/routing.yaml, key `rejections`).

Pure: pydantic models for the config, and functions of a rejection, the lead's engagement now and
`as_of`. The claim applies the same rule in SQL (`leadrelay.handoff.rejection_store`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadrelay.handoff.reasons import REJECT_REASONS, reason_code

REJECTED_PREFIX = "rejected:"  # Handoff.reason of a rejected handoff: "rejected:<code>"


class ReasonRule(BaseModel):
    """After a rejection for one reason: `cooldown_days` before the lead may be handed back, and
    whether it must then go to another rep than the one who rejected it (`another_rep`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cooldown_days: float = Field(ge=0)
    another_rep: bool = False


# What applies with no `rejections` in routing.yaml (the shipped file says the same).
DEFAULT_REASON_RULES: dict[str, ReasonRule] = {
    "no-budget": ReasonRule(cooldown_days=90),
    "no-authority": ReasonRule(cooldown_days=0, another_rep=True),
    "no-need": ReasonRule(cooldown_days=60),
    "bad-timing": ReasonRule(cooldown_days=30),
    "not-a-fit": ReasonRule(cooldown_days=90, another_rep=True),
    "duplicate": ReasonRule(cooldown_days=365),
    "other": ReasonRule(cooldown_days=14),
}


class RejectionRules(BaseModel):
    """routing.yaml `rejections`: a cooldown per reject reason, and the engagement rise that ends
    any cooldown early. A reason not listed waits `default_cooldown_days`, any rep allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engagement_rise: int = Field(default=15, ge=1)
    default_cooldown_days: float = Field(default=30, ge=0)
    reasons: dict[str, ReasonRule] = Field(default_factory=lambda: dict(DEFAULT_REASON_RULES))

    @field_validator("reasons", mode="before")
    @classmethod
    def _known_reasons(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        known = {}
        for key, rule in value.items():
            code = reason_code(str(key))
            if code is None:
                raise ValueError(f"unknown reject reason {key!r}; use one of {', '.join(REJECT_REASONS)}")
            known[code] = rule
        return known

    def rule_for(self, code: str) -> ReasonRule:
        """The rule for reason `code` (the default cooldown for a reason not listed)."""
        return self.reasons.get(code) or ReasonRule(cooldown_days=self.default_cooldown_days)


@dataclass(frozen=True)
class Rejection:
    """A lead's last rejection: by whom, when, why, and the lead's score and engagement then
    (None for rejections recorded before they were kept)."""

    lead_id: int
    handoff_id: int
    rep_email: str
    reason: str  # the code
    note: str | None
    answered_at: datetime
    score_then: int | None
    engagement_then: int | None


def code_of(handoff_reason: str | None) -> str:
    """The reason code a rejected handoff's `reason` ("rejected:bad-timing") names; "other" if none."""
    text = handoff_reason or ""
    return text[len(REJECTED_PREFIX):] if text.startswith(REJECTED_PREFIX) else "other"


def cooldown_ends_at(rejection: Rejection, rules: RejectionRules) -> datetime:
    """When the cooldown of `rejection` is over (its reason's days after the answer)."""
    return rejection.answered_at + timedelta(days=rules.rule_for(rejection.reason).cooldown_days)


def engagement_rise(rejection: Rejection, engagement_now: int) -> int | None:
    """Engagement points gained since the rejection (negative when it decayed); None if unknown."""
    return None if rejection.engagement_then is None else engagement_now - rejection.engagement_then


def hand_back_reason(rejection: Rejection, engagement_now: int, as_of: datetime,
                     rules: RejectionRules) -> str | None:
    """Why the lead may be handed back at `as_of` (one phrase), or None while it is cooling down.

    The cooldown is over once its days have passed (a cooldown of 0 days is over at once), or
    early when engagement rose by at least `engagement_rise` points since the rejection."""
    ends = cooldown_ends_at(rejection, rules)
    if as_of >= ends:
        days = rules.rule_for(rejection.reason).cooldown_days
        return "no cooldown applies to this reason" if days == 0 else f"its {days:g}-day cooldown is over"
    rise = engagement_rise(rejection, engagement_now)
    if rise is not None and rise >= rules.engagement_rise:
        return f"its engagement rose by {rise} points (the cooldown ends early at {rules.engagement_rise})"
    return None


def reps_to_avoid(rejection: Rejection | None, rules: RejectionRules) -> set[str]:
    """The reps routing must skip for a lead handed back after `rejection`: the rejecting rep when
    the reason asks for another rep, else nobody."""
    if rejection is None or not rules.rule_for(rejection.reason).another_rep:
        return set()
    return {rejection.rep_email.lower()}
