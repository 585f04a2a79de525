"""Fit rules compiled into small closures: what `fit_lines` runs for every lead scored.

`Condition.holds` and `FitRule.matches` (leadrelay.scoring.score) say what a rule means; the
closures here decide exactly the same, with the rule's parsing (field name, operators, regular
expression) done once per rule list instead of once per lead. tests/property/test_compiled_fit.py
holds the two to the same answers.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from leadrelay.lead_fields import ATTRIBUTES_PREFIX, TRUTHY, as_number, casefold_text, is_blank

if TYPE_CHECKING:
    from leadrelay.scoring.score import Condition, FitRule

Lead = Mapping[str, Any]
Test = Callable[[Lead], bool]
FitLines = Callable[[Lead], list[dict[str, Any]]]

# Rule lists compiled so far, by identity: a config's list is compiled once, however many leads it scores.
_COMPILED: OrderedDict[int, tuple[Sequence[FitRule], FitLines]] = OrderedDict()
_COMPILED_MAX = 32


def compiled_fit_lines(rules: Sequence[FitRule]) -> FitLines:
    """The function `lead -> fit lines` for `rules`, compiled on first use and kept while the same
    list object is used (a new list, e.g. from `model_copy(update=...)`, is compiled anew)."""
    entry = _COMPILED.get(id(rules))
    if entry is not None and entry[0] is rules:
        return entry[1]
    lines_for = compile_fit_lines(rules)
    _COMPILED[id(rules)] = (rules, lines_for)  # the list is kept, so its id is not reused while cached
    if len(_COMPILED) > _COMPILED_MAX:
        _COMPILED.popitem(last=False)
    return lines_for


def compile_fit_lines(rules: Sequence[FitRule]) -> FitLines:
    """`fit_lines` for a fixed list of rules: the matching rules, first match per group, as `{rule, points}`."""
    compiled = [(rule.group, compile_rule(rule), rule.rule, rule.points) for rule in rules]

    def lines_for(lead: Lead) -> list[dict[str, Any]]:
        lines, groups_done = [], set()
        for group, matches, name, points in compiled:
            if group is not None and group in groups_done:
                continue
            if matches(lead):
                lines.append({"rule": name, "points": points})
                if group is not None:
                    groups_done.add(group)
        return lines

    return lines_for


def compile_rule(rule: FitRule) -> Test:
    """`rule.matches` as a closure: every `when` condition holds and, if any, one `any_of` does."""
    when = [compile_condition(c) for c in rule.when]
    any_of = [compile_condition(c) for c in rule.any_of]
    if len(when) == 1 and not any_of:
        return when[0]
    if not when and len(any_of) == 1:
        return any_of[0]

    def matches(lead: Lead) -> bool:
        for holds in when:
            if not holds(lead):
                return False
        if not any_of:
            return True
        for holds in any_of:
            if holds(lead):
                return True
        return False

    return matches


def compile_condition(condition: Condition) -> Test:
    """`condition.holds` as a closure: a blank value fails (or, for `missing: true`, is all that
    passes); a filled one must pass each operator given, in `holds`'s order."""
    read = field_reader(condition.field)
    if condition.missing is True:
        return lambda lead: is_blank(read(lead))
    checks = _value_checks(condition)
    if not checks:  # only `missing: false`
        return lambda lead: not is_blank(read(lead))
    if len(checks) == 1 and not condition.field.startswith(ATTRIBUTES_PREFIX):
        return _plain_field_check(condition.field, checks[0])
    if len(checks) == 1:
        check = checks[0]

        def holds_one(lead: Lead) -> bool:
            value = read(lead)
            if value is None or (isinstance(value, str) and not value.strip()):
                return False
            return check(value)

        return holds_one

    def holds(lead: Lead) -> bool:
        value = read(lead)
        if value is None or (isinstance(value, str) and not value.strip()):
            return False
        for check in checks:
            if not check(value):
                return False
        return True

    return holds


def _plain_field_check(name: str, check: Callable[[Any], bool]) -> Test:
    """The commonest condition, one operator on a column: the column read inline, not through a reader."""
    def holds_on_column(lead: Lead) -> bool:
        value = lead.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return False
        return check(value)

    return holds_on_column


def field_reader(name: str) -> Callable[[Lead], Any]:
    """`lambda lead: field_value(lead, name)`, with the name parsed once."""
    if not name.startswith(ATTRIBUTES_PREFIX):
        return lambda lead: lead.get(name)
    key = name[len(ATTRIBUTES_PREFIX):]
    wanted = casefold_text(key)

    def read_attribute(lead: Lead) -> Any:
        attributes = lead.get("attributes") or _NO_ATTRIBUTES
        if key in attributes:
            return attributes[key]
        for attribute, value in attributes.items():
            if casefold_text(attribute) == wanted:
                return value
        return None

    return read_attribute


_NO_ATTRIBUTES: Mapping[str, Any] = {}  # read only: spares a new dict per lead without attributes


def _value_checks(condition: Condition) -> list[Callable[[Any], bool]]:
    """One test per operator given (pattern, one_of, truthy, min/max), for a value that is not blank."""
    checks: list[Callable[[Any], bool]] = []
    if condition.pattern is not None:
        checks.append(_pattern_check(condition._regex))
    if condition.one_of is not None:
        allowed = condition._one_of
        checks.append(lambda value: str(value).strip().lower() in allowed)
    if condition.truthy is not None:
        truthy = condition.truthy
        checks.append(lambda value: (str(value).strip().lower() in TRUTHY) == truthy)
    if condition.min is not None or condition.max is not None:
        checks.append(_number_check(condition.min, condition.max))
    return checks


def _pattern_check(regex: re.Pattern) -> Callable[[Any], bool]:
    """The regular expression is found in the value's text. Answers are remembered by text (a
    batch's leads share titles, sources and industries, and a case-insensitive search costs a
    microsecond or two); the memory is emptied when full, so unique texts such as emails cost
    one lookup more and never grow it past `_SEEN_MAX`."""
    seen: dict[str, bool] = {}

    def found_in(value: Any) -> bool:
        text = str(value)
        found = seen.get(text)
        if found is None:
            found = regex.search(text) is not None
            if len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[text] = found
        return found

    return found_in


_SEEN_MAX = 4096


def _number_check(low: float | None, high: float | None) -> Callable[[Any], bool]:
    """The value read as a number (see `as_number`) is at least `low` and at most `high` (each if given)."""
    def in_range(value: Any) -> bool:
        number = as_number(value)
        if number is None:
            return False
        if low is not None and number < low:
            return False
        return high is None or not number > high  # `not >`: a NaN passes, as in `holds`

    return in_range
