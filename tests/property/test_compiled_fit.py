"""The compiled fit rules (leadrelay.scoring.matchers) answer exactly what `Condition.holds` and
`FitRule.matches` say, line for line and in the same order, for the shipped rules and for
generated ones, over leads with blanks, numbers as text (thousands commas, NaN), floats, bools,
enums and `attributes.*` columns in any case."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from leadrelay.config.rules import load_rules
from leadrelay.models.types import Stage, Tier
from leadrelay.scoring.matchers import compile_condition, compile_fit_lines, compile_rule, compiled_fit_lines
from leadrelay.scoring.score import Condition, FitRule, fit_lines

SHIPPED = load_rules(Path(__file__).resolve().parents[2] / "config").scoring

FIELDS = ["title", "budget_usd", "company_size", "industry", "need", "source", "email", "consent", "stage",
          "list_kind", "attributes.segment", "attributes.Demo_Request", "attributes.demo_request", "attributes. seats "]
WORDS = ["", " ", "  \t", "CEO", "vp of sales", "Head of IT", "director", "Student", "intern", "yes", "Y", "true",
         "1", "on", "no", "0", "false", "software", "SaaS ", "retail", "demo", "webinar-demo", "nan", "inf", "-inf",
         "1,200", " 50,000 ", "12.5", "1e3", "-3", "abc", "ümlaut", "x\ny", "@gmail.com"]
values = st.one_of(
    st.none(), st.sampled_from(WORDS), st.sampled_from(WORDS), st.text(max_size=12), st.booleans(), st.sampled_from(list(Stage) + list(Tier)),
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([3.0, 0.0, -1.5, 1000.0]),
)
attribute_keys = st.sampled_from(["segment", "Segment", " SEGMENT ", "demo_request", "Demo_Request", "demo_requested",
                                  "seats", " seats", "other"])
# Every field present (most rules then read a value), or a few left out (read as None).
leads = st.builds(
    lambda plain, attributes, absent: {**{k: v for k, v in plain.items() if k not in absent}, "attributes": attributes},
    st.fixed_dictionaries({name: values for name in FIELDS if "." not in name}),
    st.one_of(st.none(), st.dictionaries(attribute_keys, values, max_size=4)),
    st.sets(st.sampled_from(FIELDS), max_size=3),
)
numbers = st.one_of(st.none(), st.integers(-100, 100_000).map(float), st.sampled_from([0.0, 3.0, 12.5, 1000.0]))


@st.composite
def conditions(draw) -> Condition:
    operators = {
        "pattern": draw(st.one_of(st.none(), st.sampled_from([r"\bceo\b", "head of", "demo", "^$", r"\d", "ü", "1,2"]))),
        "min": draw(numbers), "max": draw(numbers),
        "one_of": draw(st.one_of(st.none(), st.lists(st.sampled_from(["Software", "saas", "yes", "1", "new", "hot", "3"]),
                                                     max_size=3))),
        "truthy": draw(st.one_of(st.none(), st.booleans())),
        "missing": draw(st.one_of(st.none(), st.booleans())),
    }
    if all(value is None for value in operators.values()):
        operators["missing"] = draw(st.booleans())
    return Condition(field=draw(st.sampled_from(FIELDS)), **{k: v for k, v in operators.items() if v is not None})


@st.composite
def fit_rules(draw) -> list[FitRule]:
    rules = []
    for index in range(draw(st.integers(1, 8))):
        when, any_of = draw(st.lists(conditions(), max_size=3)), draw(st.lists(conditions(), max_size=3))
        if not when and not any_of:
            when = [draw(conditions())]
        rules.append(FitRule(rule=f"rule {index}", points=draw(st.integers(-30, 30)), when=when, any_of=any_of,
                             group=draw(st.sampled_from([None, "a", "b"]))))
    return rules


def reference_fit_lines(lead: dict[str, Any], rules: list[FitRule]) -> list[dict[str, Any]]:
    """`fit_lines` as it read before compiling: `FitRule.matches` on every rule, first match per group."""
    lines, groups_done = [], set()
    for rule in rules:
        if rule.group is not None and rule.group in groups_done:
            continue
        if rule.matches(lead):
            lines.append({"rule": rule.rule, "points": rule.points})
            if rule.group is not None:
                groups_done.add(rule.group)
    return lines


@given(leads)
def test_shipped_rules_compiled_score_as_written(lead):
    assert fit_lines(lead, SHIPPED.fit) == reference_fit_lines(lead, SHIPPED.fit)


@given(conditions(), leads)
@example(Condition(field="budget_usd", max=10), {"budget_usd": "nan"})  # NaN is no number below or above
@example(Condition(field="attributes.segment", one_of=["smb"]), {"attributes": {" Segment": "SMB"}})
def test_a_compiled_condition_holds_when_the_condition_does(condition, lead):
    assert compile_condition(condition)(lead) is condition.holds(lead)


@given(fit_rules(), leads)
def test_compiled_rules_give_the_same_lines_in_the_same_order(rules, lead):
    assert [compile_rule(rule)(lead) for rule in rules] == [rule.matches(lead) for rule in rules]
    assert compile_fit_lines(rules)(lead) == reference_fit_lines(lead, rules)


def test_a_rule_list_is_compiled_once_and_a_new_list_anew():
    rules = list(SHIPPED.fit)
    assert compiled_fit_lines(rules) is compiled_fit_lines(rules)
    shorter = rules[:1]
    assert compiled_fit_lines(shorter) is not compiled_fit_lines(rules)
    assert fit_lines({"title": "CEO"}, shorter) == [{"rule": rules[0].rule, "points": rules[0].points}]
