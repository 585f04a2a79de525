"""The scheduled rescore flow: a lead scored hot 60 days ago with no activity since drops a tier,
with one history event; a second run at the same as_of changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from leadrelay.db import unit_of_work
from leadrelay.flows.registry import FLOWS
from leadrelay.flows.rescore import rescore
from tests.factories import T0, add_engagement, add_lead, events_of, lead_by_email

pytestmark = pytest.mark.usefixtures("prefect_harness")

THEN = T0 - timedelta(days=60)
EMAIL = "hana@hotco.example"


def hot_lead_two_months_ago(engine) -> int:
    """Accepted by a rep 60 days ago: fit 38 (VP, 60k budget) + a fresh demo request (30) = 68, hot."""
    with unit_of_work(engine) as session:
        lead = add_lead(session, EMAIL, at=THEN, title="VP Sales", budget_usd=60000, stage="sal",
                        needs_scoring=False, fit_score=38, engagement_score=30, score_total=68, tier="hot",
                        score_breakdown=[{"rule": "VP or head of department", "points": 18},
                                         {"rule": "Budget of 50k USD or more", "points": 20},
                                         {"rule": "engagement: demo request", "points": 30}])
        add_engagement(session, lead, "demo_request", THEN)
        return lead.id


def test_a_lead_hot_two_months_ago_drops_a_tier_with_one_history_event(services):
    lead_id = hot_lead_two_months_ago(services.engine)
    assert FLOWS["rescore"] is rescore

    counts = rescore(as_of=T0)
    assert counts["rescore"]["written"] == 1 and counts["rescore"]["tier_changed"] == 1
    lead = lead_by_email(services.engine, EMAIL)
    assert (lead.tier, lead.score_total, lead.stage) == ("warm", 42, "sal")
    [event] = [e for e in events_of(services.engine, lead_id) if e.kind == "rescored"]
    assert event.actor == "flow:rescore" and event.detail["previous_tier"] == "hot"

    again = rescore(as_of=T0 + timedelta(hours=1))
    assert again["rescore"].get("written", 0) == 0
    assert len(events_of(services.engine, lead_id)) == 1
