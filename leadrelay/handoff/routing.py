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
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from leadrelay.business_hours import is_working_time
from leadrelay.handoff.routing_rules import Condition, NumberRange, Rep, RepsConfig, Rule, RoutingRules
from leadrelay.lead_fields import casefold_text, field_value

ACCOUNT_OWNER_RULE = "account-owner"
FALLBACK_RULE = "fallback"


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


def condition_holds(condition: Condition, value: Any, accepted: frozenset[str] | None = None) -> bool:
    """True when the lead's `value` satisfies one condition; a missing value satisfies none.

    A list condition holds when the value (or, for a list value, any of its items) equals one of
    the listed values ignoring case and surrounding spaces. `accepted`: the list's values in that
    form, when the caller worked them out already.
    """
    if value is None:
        return False
    if isinstance(condition, NumberRange):
        return condition.contains(value)
    if accepted is None:
        accepted = _accepted(condition)
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    return any(casefold_text(item) in accepted for item in values)


def _accepted(values: Sequence[Any]) -> frozenset[str]:
    return frozenset(casefold_text(item) for item in values)


def rule_matches(rule: Rule, lead: Mapping[str, Any], accepted: Mapping[int, frozenset[str]] | None = None) -> bool:
    """True when every condition of the rule holds for the lead (always, for an empty `when`).
    `accepted`: each list condition's `_accepted` values by the condition's id, if worked out."""
    return all(condition_holds(condition, field_value(lead, field_name),
                               accepted.get(id(condition)) if accepted is not None else None)
               for field_name, condition in rule.when.items())


def first_matching_rule(rules: RoutingRules, lead: Mapping[str, Any],
                        accepted: Mapping[int, frozenset[str]] | None = None) -> Rule | None:
    """The first rule, in file order, that matches the lead; None when none does."""
    return next((rule for rule in rules.rules if rule_matches(rule, lead, accepted)), None)


class _BatchView:
    """What routing at one `as_of` works out once, not once per lead: reps by email, each list
    condition's accepted values, and whether each rep is out of office or within working hours."""

    def __init__(self, rules: RoutingRules, reps: RepsConfig, as_of: datetime):
        self.reps_by_email = reps.by_email()
        # By id: the conditions live in `rules` for as long as this view does.
        self.accepted = {id(condition): _accepted(condition) for rule in rules.rules
                         for condition in rule.when.values() if not isinstance(condition, NumberRange)}
        self.as_of = as_of
        self._away: dict[str, bool] = {}
        self._working: dict[str, bool] = {}

    def away(self, email: str, rep: Rep) -> bool:
        if email not in self._away:
            self._away[email] = is_out_of_office(rep, self.as_of)
        return self._away[email]

    def working(self, email: str, rep: Rep) -> bool:
        if email not in self._working:
            self._working[email] = is_working_time(self.as_of, rep.timezone, rep.working_hours)
        return self._working[email]


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
    view: _BatchView | None = None,
) -> str | None:
    """Why this rep cannot take the lead now (a key of the skip vocabulary), or None if they can.
    `view`, for `as_of`: its out-of-office and working-hours answers, worked out once per rep."""
    rep = reps.get(email)
    if rep is None:
        return "unknown"
    if email in exclude:
        return "excluded"
    if view.away(email, rep) if view is not None else is_out_of_office(rep, as_of):
        return "out_of_office"
    if _load_of(loads, email).open_handoffs >= rep.capacity:
        return "at_capacity"
    if check_working_hours and rep.working_hours is not None:
        if not (view.working(email, rep) if view is not None
                else is_working_time(as_of, rep.timezone, rep.working_hours)):
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
    return _route_one(lead, rules, reps, loads, as_of, account_owner, exclude, turns={},
                      view=_BatchView(rules, reps, as_of))


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
    view = _BatchView(rules, reps, as_of)
    for index, lead in enumerate(leads):
        owner = account_owners[index] if account_owners is not None else None
        exclude = excludes[index] if excludes is not None else frozenset()
        decision = _route_one(lead, rules, reps, working_loads, as_of, owner, exclude, turns, view)
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
    view: _BatchView,
) -> RouteDecision:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (working hours and out-of-office depend on it)")
    reps_by_email = view.reps_by_email
    loads = {email.lower(): load for email, load in loads.items()}
    exclude = frozenset(email.lower() for email in exclude)
    check_hours = casefold_text(lead.get("tier") or "") in rules.skip_outside_working_hours_for

    owner_note = ""
    if rules.account_ownership and account_owner:
        owner = account_owner.lower()
        why_not = unavailability(owner, reps_by_email, loads, as_of, exclude, check_hours, view)
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

    rule = first_matching_rule(rules, lead, view.accepted)
    if rule is None:
        return _fallback_decision(reps, pool=(), reason_start=f"{owner_note}no rule matched")

    strategy = rule.strategy or rules.strategy
    available: list[str] = []
    skipped: dict[str, int] = {}
    for email in rule.pool:
        why_not = unavailability(email, reps_by_email, loads, as_of, exclude, check_hours, view)
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
