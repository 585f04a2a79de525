"""The one field lookup scoring and routing share (`leadrelay.lead_fields`)."""
from __future__ import annotations

import pytest

from leadrelay.handoff.routing import rule_matches
from leadrelay.handoff.routing_rules import KNOWN_LEAD_FIELDS, Rule
from leadrelay.lead_fields import as_number, field_value
from leadrelay.lead_view import rule_view
from leadrelay.models import Lead
from leadrelay.scoring.score import Condition


def test_lead_value_reads_fields_and_attributes():
    lead = {"country": "DE", "attributes": {"Segment": "enterprise"}}
    assert field_value(lead, "country") == "DE"
    assert field_value(lead, "attributes.segment") == "enterprise"
    assert field_value(lead, "attributes.missing") is None
    assert field_value({}, "attributes.segment") is None


def test_an_exact_attribute_key_wins_over_one_that_differs_only_in_case():
    lead = {"attributes": {"Segment": "smb", "segment": "enterprise"}}
    assert field_value(lead, "attributes.segment") == "enterprise"
    assert field_value(lead, "attributes.Segment") == "smb"


@pytest.mark.parametrize("stored_key, rule_key", [
    ("segment", "segment"),
    ("Segment", "segment"),
    ("segment", "SEGMENT"),
    (" Segment ", "segment"),
])
def test_scoring_and_routing_match_the_same_attribute_whatever_its_case(stored_key, rule_key):
    lead = {"attributes": {stored_key: "Enterprise"}}
    scoring = Condition(field=f"attributes.{rule_key}", one_of=["enterprise"])
    routing = Rule(name="enterprise", when={f"attributes.{rule_key}": ["enterprise"]}, pool=["a@example.com"])
    assert scoring.holds(lead) is True
    assert rule_matches(routing, lead) is True


def test_scoring_and_routing_both_miss_an_absent_attribute():
    lead = {"attributes": {"industry_vertical": "enterprise"}}
    scoring = Condition(field="attributes.segment", one_of=["enterprise"])
    routing = Rule(name="enterprise", when={"attributes.segment": ["enterprise"]}, pool=["a@example.com"])
    assert scoring.holds(lead) is False
    assert rule_matches(routing, lead) is False


def test_the_rule_view_of_a_lead_has_every_field_routing_yaml_may_name():
    lead = Lead(id=7, email="carla@acme.example", first_name="Carla", budget_usd=50000, need="CRM", stage="mql",
                tier="hot", score_total=80, fit_score=50, engagement_score=30, list_kind="external",
                attributes={"Segment": "enterprise"})
    view = rule_view(lead)
    assert KNOWN_LEAD_FIELDS <= set(view)
    assert (view["budget_usd"], view["need"], view["score"], view["fit"], view["engagement"], view["list"]) == (
        50000, "CRM", 80, 50, 30, "external")
    routing = Rule(name="big", when={"budget_usd": {"min": 10000}, "attributes.segment": ["enterprise"]},
                   pool=["a@example.com"])
    assert rule_matches(routing, view) is True


@pytest.mark.parametrize("value, number", [
    ("1,200", 1200.0), (" 42 ", 42.0), (3, 3.0), (2.5, 2.5), (True, None), ("many", None), (None, None), ([1], None),
])
def test_as_number(value, number):
    assert as_number(value) == number
