"""The YAML schema of config/reps.yaml and config/routing.yaml: pydantic models that load and
check them, with errors that name the key and what is wrong.

What the rules decide (which rep gets a lead) is `leadrelay.handoff.routing`; this module only
says what a valid file looks like.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from leadrelay.business_hours import WorkingHours
from leadrelay.handoff.cooldown import RejectionRules
from leadrelay.lead_fields import ATTRIBUTES_PREFIX, as_number, casefold_text

# Lead fields a `when` condition may name directly; anything else must be `attributes.<key>`.
# A closed list turns a typo such as `contry:` into a config error instead of a rule that never matches.
KNOWN_LEAD_FIELDS: frozenset[str] = frozenset({
    "email", "first_name", "last_name", "title", "company", "company_domain", "industry",
    "company_size", "country", "phone", "budget_usd", "timeframe_months", "need", "source",
    "consent", "list", "tier", "stage", "score", "fit", "engagement",
})

Strategy = Literal["round_robin", "weighted"]


def _lower(value: str) -> str:
    return value.lower()


# Emails compare lower-cased everywhere, so "Anna@Example.com" in routing.yaml finds the rep.
Email = Annotated[EmailStr, AfterValidator(_lower)]


class _StrictModel(BaseModel):
    # extra="forbid": an unknown key in the YAML is an error that names it, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# reps.yaml
# --------------------------------------------------------------------------------------------


class Manager(_StrictModel):
    """A sales manager: receives escalations for their reps' leads."""

    email: Email
    name: str = Field(min_length=1)


class Rep(_StrictModel):
    """One sales rep as marketing ops describe them in reps.yaml.

    `territories` and `segments` describe the rep (shown in reports and notifications); which
    leads a rep gets is decided by the pools in routing.yaml. `working_hours` None means the rep
    counts as always working. `capacity` is the most open (unanswered) handoffs the rep holds.
    `out_of_office_until` is the last day away (inclusive, in the rep's time zone).
    """

    email: Email
    name: str = Field(min_length=1)
    timezone: str
    territories: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    working_hours: WorkingHours | None = None
    capacity: int = Field(ge=1)
    weight: int = Field(default=1, ge=1)
    manager: Email | None = None
    out_of_office: bool = False
    out_of_office_until: date | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin' or 'America/New_York'"
            ) from None
        return value

    @model_validator(mode="after")
    def _until_needs_flag(self) -> Rep:
        # A return date without the flag is almost always a forgotten `out_of_office: true`.
        if self.out_of_office_until is not None and not self.out_of_office:
            raise ValueError(
                f"rep {self.email}: out_of_office_until is set but out_of_office is not true; "
                "set out_of_office: true as well, or remove out_of_office_until"
            )
        return self


class RepsConfig(_StrictModel):
    """reps.yaml: the reps, their managers, and where a lead goes when no rep can take it.

    Promises: rep emails are unique (compared lower-cased) and every rep's manager is listed
    under `managers`. `fallback` (a manager or a shared queue address) takes leads no rule or
    rep can; with no fallback such a lead stays unassigned.
    """

    reps: list[Rep]
    managers: list[Manager] = Field(default_factory=list)
    fallback: Email | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RepsConfig:
        duplicates = _duplicates(rep.email for rep in self.reps)
        if duplicates:
            raise ValueError(f"rep emails must be unique; listed more than once: {', '.join(duplicates)}")
        manager_duplicates = _duplicates(manager.email for manager in self.managers)
        if manager_duplicates:
            raise ValueError(f"manager emails must be unique; listed more than once: {', '.join(manager_duplicates)}")
        known_managers = {manager.email for manager in self.managers}
        for rep in self.reps:
            if rep.manager is not None and rep.manager not in known_managers:
                raise ValueError(
                    f"rep {rep.email}: manager {rep.manager} is not listed under 'managers'"
                )
        return self

    def rep(self, email: str) -> Rep | None:
        """The rep with this email (any case), or None."""
        return self.by_email().get(email.lower())

    def by_email(self) -> dict[str, Rep]:
        """Reps keyed by their lower-cased email."""
        return {rep.email: rep for rep in self.reps}


def _duplicates(values: Any) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


# --------------------------------------------------------------------------------------------
# routing.yaml
# --------------------------------------------------------------------------------------------


class NumberRange(_StrictModel):
    """`{min: 200, max: 999}`: a number between the bounds, both inclusive; either may be left out."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _sensible(self) -> NumberRange:
        if self.min is None and self.max is None:
            raise ValueError("a range needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range min ({self.min:g}) is greater than max ({self.max:g})")
        return self

    def contains(self, value: Any) -> bool:
        """True when `value` reads as a number within the bounds; a missing or non-number value is outside."""
        number = as_number(value)
        if number is None:
            return False
        return (self.min is None or number >= self.min) and (self.max is None or number <= self.max)


def _condition_kind(value: Any) -> str:
    # Chosen by shape, so a typo inside {min, max} reports only the range's error, not the list's too.
    return "range" if isinstance(value, (Mapping, NumberRange)) else "values"


# A condition is either a list of accepted values (one value alone is read as a list of one) or a number range.
Condition = Annotated[
    Annotated[list[str | int | float | bool], Tag("values")] | Annotated[NumberRange, Tag("range")],
    Discriminator(_condition_kind),
]


class Rule(_StrictModel):
    """One routing rule: when every condition holds, a rep from `pool` gets the lead.

    `when` maps a lead field (`country`, `industry`, ...) or `attributes.<key>` to accepted
    values (compared case-insensitively) or a `{min, max}` range. An empty `when` matches every
    lead (a catch-all). `strategy` overrides the file's default strategy for this rule.
    """

    name: str = Field(min_length=1)
    when: dict[str, Condition] = Field(default_factory=dict)
    pool: list[Email] = Field(min_length=1)
    strategy: Strategy | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _single_values_as_lists(cls, value: Any) -> Any:
        # `country: DE` reads as `country: [DE]`, which is what a person writing it means.
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {
                key: [condition] if isinstance(condition, (str, int, float, bool)) else condition
                for key, condition in value.items()
            }
        return value

    @field_validator("when")
    @classmethod
    def _known_fields(cls, value: dict[str, Condition]) -> dict[str, Condition]:
        for field_name, condition in value.items():
            if field_name.startswith(ATTRIBUTES_PREFIX):
                if not field_name[len(ATTRIBUTES_PREFIX):]:
                    raise ValueError("'attributes.' needs a key after the dot, e.g. 'attributes.segment'")
            elif field_name not in KNOWN_LEAD_FIELDS:
                raise ValueError(
                    f"unknown lead field {field_name!r}; use one of {', '.join(sorted(KNOWN_LEAD_FIELDS))}, "
                    f"or 'attributes.<column>' for another CSV column"
                )
            if isinstance(condition, list) and not condition:
                raise ValueError(f"condition {field_name!r} lists no values")
            # YAML reads an unquoted NO (Norway) as false; a yes/no in a country list is that mistake.
            country_has_yes_no = isinstance(condition, list) and any(isinstance(item, bool) for item in condition)
            if field_name == "country" and country_has_yes_no:
                raise ValueError("country lists yes/no/true/false; write country codes such as Norway in quotes: 'NO'")
        return value

    @field_validator("pool")
    @classmethod
    def _pool_without_repeats(cls, value: list[str]) -> list[str]:
        repeated = _duplicates(value)
        if repeated:
            raise ValueError(f"pool lists {', '.join(repeated)} more than once")
        return value


class RoutingRules(_StrictModel):
    """routing.yaml: ordered rules (the first that matches decides) and how a pool picks a rep.

    `strategy`: `round_robin` (least recently assigned first) or `weighted` (lowest open
    handoffs per unit of weight first, then least recently assigned). `skip_outside_working_hours_for`:
    tiers for which reps outside their working hours are skipped. `account_ownership`: a lead
    whose account has an owner goes to that owner when the owner can take it. `rejections`: how
    long a rejected lead waits before it is handed back, and to whom (`leadrelay.handoff.cooldown`).
    """

    rules: list[Rule] = Field(default_factory=list)
    strategy: Strategy = "round_robin"
    skip_outside_working_hours_for: list[str] = Field(default_factory=list)
    account_ownership: bool = False
    rejections: RejectionRules = Field(default_factory=RejectionRules)

    @field_validator("skip_outside_working_hours_for")
    @classmethod
    def _tiers_lower(cls, value: list[str]) -> list[str]:
        return [casefold_text(tier) for tier in value]

    @model_validator(mode="after")
    def _unique_names(self) -> RoutingRules:
        repeated = _duplicates(rule.name for rule in self.rules)
        if repeated:
            raise ValueError(f"rule names must be unique; used more than once: {', '.join(repeated)}")
        return self


def check_routing_against_reps(rules: RoutingRules, reps: RepsConfig) -> list[str]:
    """Problems between routing.yaml and reps.yaml, one sentence each; empty when they agree.

    Today: every pool email must be a rep in reps.yaml (a typo would silently shrink the pool).
    """
    known = reps.by_email()
    errors: list[str] = []
    for rule in rules.rules:
        for email in rule.pool:
            if email not in known:
                errors.append(
                    f"routing.yaml rule {rule.name!r}: pool names {email}, who is not a rep in reps.yaml"
                )
    return errors
