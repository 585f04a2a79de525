"""Explainable lead scoring: fit (who the lead is) + engagement (what it did, decaying with time).

Pure functions of a lead dict, its engagement events, the rules in config/scoring.yaml and `as_of`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from typing import Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadrelay.lead_fields import ATTRIBUTES_PREFIX, TRUTHY, as_number, field_value, is_blank
from leadrelay.lead_view import FACT_FIELDS
from leadrelay.scoring.matchers import compiled_fit_lines
from leadrelay.models.types import Stage

# What a scoring rule's `field` may name: the lead's own fields as scoring reads them (see
# score_store.SCORED_COLUMNS), or `attributes.<column>` for any other CSV column. A closed list
# turns a typo such as `field: titel` into a config error instead of a rule that never matches.
SCORING_FIELDS: tuple[str, ...] = tuple(name for name in FACT_FIELDS if name != "attributes") + ("list_kind",)


def unknown_field_problem(name: str) -> str | None:
    """Why `name` cannot be read by a scoring rule (one clause), or None when it can."""
    if name.startswith(ATTRIBUTES_PREFIX):
        return None if name[len(ATTRIBUTES_PREFIX):].strip() else \
            "'attributes.' needs a column after the dot, e.g. 'attributes.segment'"
    if name in SCORING_FIELDS:
        return None
    return (f"unknown field {name!r}; known fields are {', '.join(sorted(SCORING_FIELDS))}, "
            f"or 'attributes.<column>' for another CSV column")


class Condition(BaseModel):
    """A test on one field; every operator given must hold."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str
    pattern: str | None = None  # a regular expression, searched case-insensitively
    min: float | None = None
    max: float | None = None
    one_of: list[str] | None = None  # case-insensitive exact values
    truthy: bool | None = None  # yes/true/1 (or, with false, anything else)
    missing: bool | None = None  # the field is empty (true) or filled (false)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _has_an_operator(self) -> "Condition":
        if all(getattr(self, op) is None for op in ("pattern", "min", "max", "one_of", "truthy", "missing")):
            raise ValueError("a condition needs one of pattern, min, max, one_of, truthy, missing")
        return self

    # Built on first use and kept, not rebuilt for every lead scored.
    @cached_property
    def _regex(self) -> re.Pattern | None:
        return re.compile(self.pattern, re.IGNORECASE) if self.pattern is not None else None

    @cached_property
    def _one_of(self) -> frozenset[str] | None:
        return frozenset(v.lower() for v in self.one_of) if self.one_of is not None else None

    def holds(self, lead: Mapping[str, Any]) -> bool:
        value = field_value(lead, self.field)
        if self.missing is not None and is_blank(value) != self.missing:
            return False
        if is_blank(value):
            return self.missing is True
        if self._regex is not None and not self._regex.search(str(value)):
            return False
        if self._one_of is not None and str(value).strip().lower() not in self._one_of:
            return False
        if self.truthy is not None and (str(value).strip().lower() in TRUTHY) != self.truthy:
            return False
        if self.min is not None or self.max is not None:
            number = as_number(value)
            if number is None:
                return False
            if self.min is not None and number < self.min:
                return False
            if self.max is not None and number > self.max:
                return False
        return True


class FitRule(BaseModel):
    """Points for who the lead is. Within a `group` only the first matching rule counts."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    points: int
    group: str | None = None
    when: list[Condition] = Field(default_factory=list)  # all must hold
    any_of: list[Condition] = Field(default_factory=list)  # at least one must hold

    @model_validator(mode="after")
    def _has_conditions(self) -> "FitRule":
        if not self.when and not self.any_of:
            raise ValueError("a rule needs `when` or `any_of` conditions")
        # Checked here rather than on the condition, so the error names the rule by its text.
        for condition in (*self.when, *self.any_of):
            problem = unknown_field_problem(condition.field)
            if problem:
                raise ValueError(f"rule {self.rule!r}: {problem}")
        return self

    def matches(self, lead: Mapping[str, Any]) -> bool:
        return all(c.holds(lead) for c in self.when) and (
            not self.any_of or any(c.holds(lead) for c in self.any_of)
        )


class EngagementRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    half_life_days: float = Field(gt=0)
    max_points: int | None = Field(default=None, ge=0)
    points: dict[str, int]  # event kind -> points when fresh


class Tiers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    warm: int
    hot: int

    @model_validator(mode="after")
    def _ordered(self) -> "Tiers":
        if self.hot <= self.warm:
            raise ValueError("hot must be above warm")
        return self


class ScoringRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mql_threshold: int
    tiers: Tiers
    fit: list[FitRule]
    engagement: EngagementRules


@dataclass(frozen=True)
class Score:
    fit: int
    engagement: int
    total: int
    tier: str
    breakdown: tuple[dict[str, Any], ...]  # ({"rule": ..., "points": ...}, ...)


def fit_lines(lead: Mapping[str, Any], rules: list[FitRule]) -> list[dict[str, Any]]:
    """The fit rules that match the lead, first match per group, as `{rule, points}`.

    Runs the rules compiled once per list (leadrelay.scoring.matchers), which decide as
    `FitRule.matches` says; edit a rule list by replacing it, not in place.
    """
    return compiled_fit_lines(rules)(lead)


def decayed(points: float, occurred_at: datetime, as_of: datetime, half_life_days: float) -> float:
    """Points halved every `half_life_days` since the event; events after `as_of` count nothing."""
    age_days = (as_of - occurred_at).total_seconds() / 86400
    if age_days < 0:
        return 0.0
    return points * 0.5 ** (age_days / half_life_days)


def engagement_lines(
    events: Iterable[tuple[str, datetime]], rules: EngagementRules, as_of: datetime
) -> list[dict[str, Any]]:
    """Decayed engagement points per event kind, as `{rule, points}`; capped at `max_points` in all."""
    per_kind: dict[str, tuple[int, float]] = {}
    for kind, occurred_at in events:
        fresh = rules.points.get(kind)
        if fresh is None or occurred_at > as_of:
            continue
        count, total = per_kind.get(kind, (0, 0.0))
        per_kind[kind] = (count + 1, total + decayed(fresh, occurred_at, as_of, rules.half_life_days))
    lines = []
    for kind, (count, total) in sorted(per_kind.items()):
        points = round(total)
        if points:
            label = kind.replace("_", " ")
            lines.append({"rule": f"engagement: {label} ×{count}" if count > 1 else f"engagement: {label}", "points": points})
    if rules.max_points is not None:
        overflow = sum(line["points"] for line in lines) - rules.max_points
        if overflow > 0:
            lines.append({"rule": f"engagement capped at {rules.max_points}", "points": -overflow})
    return lines


def tier_for(total: int, tiers: Tiers) -> str:
    if total >= tiers.hot:
        return "hot"
    return "warm" if total >= tiers.warm else "cold"


def score_lead(
    lead: Mapping[str, Any], events: Iterable[tuple[str, datetime]], rules: ScoringRules, as_of: datetime
) -> Score:
    """The lead's fit, engagement, total and tier at `as_of`, with every point explained."""
    fit = fit_lines(lead, rules.fit)
    # No events, no engagement lines (nor a cap line): most leads of a batch have none yet.
    engagement = engagement_lines(events, rules.engagement, as_of) if events else []
    fit_points = sum([line["points"] for line in fit])
    engagement_points = sum([line["points"] for line in engagement])
    total = fit_points + engagement_points
    return Score(fit_points, engagement_points, total, tier_for(total, rules.tiers), tuple(fit + engagement))


# Stages the scorer may move a lead out of; later stages belong to sales and nurture.
_SCORER_STAGES = frozenset({Stage.new, Stage.nurturing})
# Why a lead the scorer sends to nurturing enters it: the track-entry reason in sequences.yaml.
UNQUALIFIED = "unqualified"


def stage_after_scoring(stage: str, score: Score, mql_threshold: int) -> tuple[Stage, str] | None:
    """The stage a (re)scored lead moves to and why, or None when it stays where it is."""
    if stage not in _SCORER_STAGES:
        return None
    if score.total >= mql_threshold:
        return Stage.mql, f"score {score.total} reached the MQL threshold {mql_threshold}"
    if stage == Stage.new:
        return Stage.nurturing, f"score {score.total} is below the MQL threshold {mql_threshold}"
    return None
