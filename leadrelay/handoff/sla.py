"""SLA rules and deadline arithmetic: how long a rep has to accept a handed-off lead.

Pure functions and pydantic models only: no database, no clock, no I/O. Every datetime going in
must be timezone-aware; every datetime coming out is UTC-aware. The calendar underneath (working
hours, DST-safe arithmetic) is `leadrelay.business_hours`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadrelay.business_hours import (
    DailyHours,
    WorkingHours,
    add_working_hours,
    normalize_weekdays,
    require_aware,
    require_timezone,
    to_utc,
)
from leadrelay.models.types import Tier

_TIERS = frozenset(Tier)  # built once: policy_for runs per handoff

BreachAction = Literal["reassign", "escalate", "recycle"]


# --- SLA rules (config/sla.yaml) --------------------------------------------------------------


class TierPolicy(BaseModel):
    """What a rep has to do, by when, for a lead of one tier, and what happens if they don't."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_to_accept: float = Field(gt=0)
    business_hours: bool = True
    on_breach: BreachAction
    max_reassignments: int = Field(default=0, ge=0)
    then: Literal["escalate", "recycle"] = "recycle"

    @model_validator(mode="after")
    def _reassign_fields_only_with_reassign(self) -> TierPolicy:
        if self.on_breach != "reassign" and self.max_reassignments > 0:
            raise ValueError("max_reassignments only applies when on_breach is reassign.")
        return self

    def action_on_breach(self, reassignments_done: int) -> BreachAction:
        """The action for a breach after `reassignments_done` earlier reassignments of this handoff.

        `reassign` until `max_reassignments` have been used, then `then`. A tier that does not
        reassign always returns its own `on_breach`.
        """
        if reassignments_done < 0:
            raise ValueError("reassignments_done cannot be negative.")
        if self.on_breach != "reassign":
            return self.on_breach
        if reassignments_done < self.max_reassignments:
            return "reassign"
        return self.then


class TierPolicies(BaseModel):
    """One policy per lead tier; all three tiers must be configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hot: TierPolicy
    warm: TierPolicy
    cold: TierPolicy


class SlaRules(BaseModel):
    """The whole of config/sla.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_working_hours: DailyHours = DailyHours(start="09:00", end="17:00")
    default_working_days: list[str] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    tiers: TierPolicies
    # An escalated handoff still unanswered this many hours after its deadline goes back to nurturing.
    recycle_escalated_after_hours: float = Field(default=72, gt=0)

    @field_validator("default_working_days", mode="before")
    @classmethod
    def _days(cls, value: object) -> list[str]:
        return normalize_weekdays(value)

    def policy_for(self, tier: str) -> TierPolicy:
        """The policy for tier `hot`, `warm` or `cold`; ValueError for any other tier."""
        if tier not in _TIERS:
            raise ValueError(f"'{tier}' is not a lead tier; use hot, warm or cold.")
        return getattr(self.tiers, tier)

    def default_working(self) -> WorkingHours:
        """Working hours for a rep who has none of their own."""
        return WorkingHours(
            days=list(self.default_working_days),
            start=self.default_working_hours.start,
            end=self.default_working_hours.end,
        )


# --- deadline arithmetic ----------------------------------------------------------------------


def sla_due_at(
    start: datetime,
    hours: float,
    tz: str,
    working: WorkingHours,
    business_hours: bool,
) -> datetime:
    """The UTC-aware deadline `hours` after `start`.

    Wall-clock mode (`business_hours=False`): exactly `hours` of elapsed time after `start`.

    Business-hours mode: only time inside `working` hours on working days, in the rep's time zone
    `tz`, counts (see `leadrelay.business_hours.add_working_hours`: a start outside working hours
    counts from the next opening, a deadline exactly at closing stays there, DST is counted in real
    hours). Holidays are not considered.
    """
    require_aware(start, "start")
    require_timezone(tz)
    if hours < 0:
        raise ValueError(f"SLA hours cannot be negative (got {hours}).")
    if not business_hours:
        return to_utc(start) + timedelta(hours=hours)
    return add_working_hours(start, hours, tz, working)
