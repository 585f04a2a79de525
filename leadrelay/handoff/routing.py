"""Who gets a sales-ready lead: the rules from config/routing.yaml applied to config/reps.yaml.

Pure functions of their inputs (no database, no Prefect, no I/O), so the same lead, config,
loads and `as_of` always give the same decision. The flow task loads the YAML, reads each rep's
open handoffs and last assignment from the database, calls `route_batch` and stores the result.

How one lead is routed (`route_to_rep`):
1. With `account_ownership: true`, a lead whose account has an owner goes to that owner when the
   owner can take it (a rep, not out of office, under capacity, not excluded, within working
   hours when the tier asks for it). Otherwise routing goes on and the reason says why.
2. The first rule whose `when` conditions all hold picks a rep from its pool, by its strategy.
   Reps out of office, at capacity, excluded (already had this lead) or, for the tiers listed in
   `skip_outside_working_hours_for`, outside their working hours are never chosen.
3. If no rule matches, or nobody in the matched pool can take the lead, it goes to the
   `fallback` address of reps.yaml (a manager or a shared queue), and the reason says why.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from fractions import Fraction
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

from leadrelay.handoff.sla import WorkingHours, is_working_time

# Lead fields a `when` condition may name directly; anything else must be `attributes.<key>`.
# A closed list turns a typo such as `contry:` into a config error instead of a rule that never matches.
KNOWN_LEAD_FIELDS: frozenset[str] = frozenset({
    "email", "first_name", "last_name", "title", "company", "company_domain", "industry",
    "company_size", "country", "phone", "budget_usd", "timeframe_months", "need", "source",
    "consent", "list", "tier", "stage", "score", "fit", "engagement",
})
ATTRIBUTES_PREFIX = "attributes."

Strategy = Literal["round_robin", "weighted"]

ACCOUNT_OWNER_RULE = "account-owner"
FALLBACK_RULE = "fallback"


def _lower(value: str) -> str:
    return value.lower()


# Emails compare lower-cased everywhere, so "Anna@Example.com" in routing.yaml finds the rep.
Email = Annotated[EmailStr, AfterValidator(_lower)]


def _casefold_text(value: Any) -> str:
    """The form two config/lead values are compared in: trimmed, case-insensitive text.

    Enum members compare by their value and whole floats as integers, so a `Tier.HOT` lead
    field matches `hot` and a stored 3.0 matches a rule's `3`.
    """
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


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
        number = _as_number(value)
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
    whose account has an owner goes to that owner when the owner can take it.
    """

    rules: list[Rule] = Field(default_factory=list)
    strategy: Strategy = "round_robin"
    skip_outside_working_hours_for: list[str] = Field(default_factory=list)
    account_ownership: bool = False

    @field_validator("skip_outside_working_hours_for")
    @classmethod
    def _tiers_lower(cls, value: list[str]) -> list[str]:
        return [_casefold_text(tier) for tier in value]

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


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepLoad:
    """What the database knows about a rep's recent work. A naive `last_assigned_at` is read as UTC."""

    open_handoffs: int = 0
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class RouteDecision:
    """Where one lead goes and why.

    `rep_email` is None only when nobody could take the lead and reps.yaml has no fallback.
    `rule` is the matched rule's name, "account-owner" or "fallback". `pool` is the pool that
    was considered (the owner alone for "account-owner"). `reason` is one sentence for people.
    """

    rep_email: str | None
    rule: str
    pool: tuple[str, ...]
    strategy: str
    reason: str
    fallback: bool


def lead_value(lead: Mapping[str, Any], field_name: str) -> Any:
    """The lead's value for `field_name`, or for `attributes.<key>` (the key matched exactly, then
    ignoring case); None when the lead has no such value."""
    if not field_name.startswith(ATTRIBUTES_PREFIX):
        return lead.get(field_name)
    key = field_name[len(ATTRIBUTES_PREFIX):]
    attributes = lead.get("attributes") or {}
    if key in attributes:
        return attributes[key]
    # CSV headers arrive as people typed them ("Segment"); the rule author should not have to match case.
    for attribute_key, value in attributes.items():
        if _casefold_text(attribute_key) == _casefold_text(key):
            return value
    return None


def condition_holds(condition: Condition, value: Any) -> bool:
    """True when the lead's `value` satisfies one condition; a missing value satisfies none.

    A list condition holds when the value (or, for a list value, any of its items) equals one of
    the listed values ignoring case and surrounding spaces.
    """
    if value is None:
        return False
    if isinstance(condition, NumberRange):
        return condition.contains(value)
    accepted = {_casefold_text(item) for item in condition}
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    return any(_casefold_text(item) in accepted for item in values)


def rule_matches(rule: Rule, lead: Mapping[str, Any]) -> bool:
    """True when every condition of the rule holds for the lead (always, for an empty `when`)."""
    return all(condition_holds(condition, lead_value(lead, field_name)) for field_name, condition in rule.when.items())


def first_matching_rule(rules: RoutingRules, lead: Mapping[str, Any]) -> Rule | None:
    """The first rule, in file order, that matches the lead; None when none does."""
    return next((rule for rule in rules.rules if rule_matches(rule, lead)), None)


def is_out_of_office(rep: Rep, as_of: datetime) -> bool:
    """True when the rep is marked away at `as_of` (through `out_of_office_until`, in the rep's time zone)."""
    if not rep.out_of_office:
        return False
    if rep.out_of_office_until is None:
        return True
    return as_of.astimezone(ZoneInfo(rep.timezone)).date() <= rep.out_of_office_until


# Why a rep could not take a lead, in the words the reason sentence uses, in the order it lists them.
_SKIP_WORDS: dict[str, str] = {
    "unknown": "not in reps.yaml",
    "excluded": "who already had this lead",
    "out_of_office": "out of office",
    "at_capacity": "at capacity",
    "outside_hours": "outside working hours",
}


def unavailability(
    email: str,
    reps: Mapping[str, Rep],
    loads: Mapping[str, RepLoad],
    as_of: datetime,
    exclude: frozenset[str] | set[str],
    check_working_hours: bool,
) -> str | None:
    """Why this rep cannot take the lead now (a key of the skip vocabulary), or None if they can."""
    rep = reps.get(email)
    if rep is None:
        return "unknown"
    if email in exclude:
        return "excluded"
    if is_out_of_office(rep, as_of):
        return "out_of_office"
    if _load_of(loads, email).open_handoffs >= rep.capacity:
        return "at_capacity"
    if check_working_hours and rep.working_hours is not None:
        if not is_working_time(as_of, rep.timezone, rep.working_hours):
            return "outside_hours"
    return None


def route_to_rep(
    lead: Mapping[str, Any],
    rules: RoutingRules,
    reps: RepsConfig,
    loads: Mapping[str, RepLoad],
    as_of: datetime,
    account_owner: str | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> RouteDecision:
    """Decide which rep gets `lead` at `as_of`; deterministic for the same inputs.

    `loads` maps rep email to their open handoffs and last assignment (missing means none).
    `account_owner` is the rep owning the lead's account, if any. `exclude` holds reps who
    already had this lead (an SLA reassignment goes to the next rep). Never picks a rep who is
    out of office, at capacity or excluded.
    """
    return _route_one(lead, rules, reps, loads, as_of, account_owner, exclude, turns={})


def route_batch(
    leads: Sequence[Mapping[str, Any]],
    rules: RoutingRules,
    reps: RepsConfig,
    loads: Mapping[str, RepLoad],
    as_of: datetime,
    account_owners: Sequence[str | None] | None = None,
    excludes: Sequence[set[str] | frozenset[str]] | None = None,
) -> list[RouteDecision]:
    """Route `leads` in order, each seeing the assignments made before it in this batch.

    Works on a copy of `loads` (the caller's mapping is not changed): each assignment adds an
    open handoff and makes that rep the most recently assigned, so round robin rotates and
    capacity holds within the batch. `account_owners` and `excludes`, when given, are
    parallel to `leads`.
    """
    if account_owners is not None and len(account_owners) != len(leads):
        raise ValueError("account_owners must have one entry per lead")
    if excludes is not None and len(excludes) != len(leads):
        raise ValueError("excludes must have one entry per lead")
    working_loads: dict[str, RepLoad] = {email.lower(): load for email, load in loads.items()}
    # Every assignment in a batch happens "at as_of"; the turn number orders them among themselves.
    turns: dict[str, int] = {}
    decisions: list[RouteDecision] = []
    for index, lead in enumerate(leads):
        owner = account_owners[index] if account_owners is not None else None
        exclude = excludes[index] if excludes is not None else frozenset()
        decision = _route_one(lead, rules, reps, working_loads, as_of, owner, exclude, turns)
        if decision.rep_email is not None:
            working_loads[decision.rep_email] = _after_assignment(_load_of(working_loads, decision.rep_email), as_of)
            turns[decision.rep_email] = index
        decisions.append(decision)
    return decisions


def _route_one(
    lead: Mapping[str, Any],
    rules: RoutingRules,
    reps: RepsConfig,
    loads: Mapping[str, RepLoad],
    as_of: datetime,
    account_owner: str | None,
    exclude: set[str] | frozenset[str],
    turns: Mapping[str, int],
) -> RouteDecision:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (working hours and out-of-office depend on it)")
    reps_by_email = reps.by_email()
    loads = {email.lower(): load for email, load in loads.items()}
    exclude = frozenset(email.lower() for email in exclude)
    check_hours = _casefold_text(lead.get("tier") or "") in rules.skip_outside_working_hours_for

    owner_note = ""
    if rules.account_ownership and account_owner:
        owner = account_owner.lower()
        why_not = unavailability(owner, reps_by_email, loads, as_of, exclude, check_hours)
        if why_not is None:
            return RouteDecision(
                rep_email=owner,
                rule=ACCOUNT_OWNER_RULE,
                pool=(owner,),
                strategy=ACCOUNT_OWNER_RULE,
                reason=f"the account is owned by {owner}, who is available and under capacity",
                fallback=False,
            )
        owner_note = f"account owner {owner} is {_owner_words(why_not)}, so the rules decided: "

    rule = first_matching_rule(rules, lead)
    if rule is None:
        return _fallback_decision(reps, pool=(), reason_start=f"{owner_note}no rule matched")

    strategy = rule.strategy or rules.strategy
    available: list[str] = []
    skipped: dict[str, int] = {}
    for email in rule.pool:
        why_not = unavailability(email, reps_by_email, loads, as_of, exclude, check_hours)
        if why_not is None:
            available.append(email)
        else:
            skipped[why_not] = skipped.get(why_not, 0) + 1

    pool = tuple(rule.pool)
    if not available:
        return _fallback_decision(
            reps,
            pool=pool,
            reason_start=(
                f"{owner_note}matched rule {rule.name!r} but none of its {_count(len(pool), 'rep')} "
                f"could take the lead ({_skipped_words(skipped)})"
            ),
        )

    chosen = _pick(strategy, available, reps_by_email, loads, turns)
    reason = f"{owner_note}matched rule {rule.name!r}; {_strategy_words(strategy, len(available))}"
    if skipped:
        reason += f"; skipped {_skipped_words(skipped)}"
    return RouteDecision(rep_email=chosen, rule=rule.name, pool=pool, strategy=strategy, reason=reason, fallback=False)


def _pick(
    strategy: str,
    available: Sequence[str],
    reps_by_email: Mapping[str, Rep],
    loads: Mapping[str, RepLoad],
    turns: Mapping[str, int],
) -> str:
    """The rep the strategy prefers among `available` (never empty); ties end on the email."""

    def recency(email: str) -> tuple[int, datetime, int, str]:
        # Never assigned sorts first; then oldest assignment; then earlier in this batch; then email.
        last = _load_of(loads, email).last_assigned_at
        if last is None:
            return (0, _EARLIEST, -1, email)
        return (1, _as_utc(last), turns.get(email, -1), email)

    def load_per_weight(email: str) -> Fraction:
        # Fraction keeps 2/2 and 1/1 exactly equal, so ties fall to recency, not float noise.
        return Fraction(_load_of(loads, email).open_handoffs, reps_by_email[email].weight)

    if strategy == "weighted":
        return min(available, key=lambda email: (load_per_weight(email), recency(email)))
    return min(available, key=recency)


_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def _fallback_decision(reps: RepsConfig, pool: tuple[str, ...], reason_start: str) -> RouteDecision:
    if reps.fallback is None:
        reason = f"{reason_start}; reps.yaml has no fallback, so the lead is unassigned"
    else:
        reason = f"{reason_start}; sent to the fallback {reps.fallback}"
    return RouteDecision(
        rep_email=reps.fallback, rule=FALLBACK_RULE, pool=pool, strategy=FALLBACK_RULE, reason=reason, fallback=True
    )


def _after_assignment(load: RepLoad, as_of: datetime) -> RepLoad:
    """The load once one more lead is assigned at `as_of` (never moving the last assignment back in time)."""
    last = load.last_assigned_at
    newest = as_of if last is None or _as_utc(last) <= _as_utc(as_of) else last
    return dataclasses.replace(load, open_handoffs=load.open_handoffs + 1, last_assigned_at=newest)


def _load_of(loads: Mapping[str, RepLoad], email: str) -> RepLoad:
    return loads.get(email) or RepLoad()


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; they were stored as UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _skipped_words(skipped: Mapping[str, int]) -> str:
    return ", ".join(f"{skipped[key]} {words}" for key, words in _SKIP_WORDS.items() if key in skipped)


def _strategy_words(strategy: str, available_count: int) -> str:
    if available_count == 1:
        return "the only available rep in the pool"
    reps_available = _count(available_count, "available rep")
    if strategy == "weighted":
        return f"weighted routing picked the rep with the fewest open handoffs per weight of {reps_available}"
    return f"round robin picked the least recently assigned of {reps_available}"


def _owner_words(why_not: str) -> str:
    return {
        "unknown": "not a rep in reps.yaml",
        "excluded": "among the reps who already had this lead",
        "out_of_office": "out of office",
        "at_capacity": "at capacity",
        "outside_hours": "outside working hours",
    }[why_not]
