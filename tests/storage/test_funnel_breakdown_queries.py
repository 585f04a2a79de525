"""The funnel's median time in stage and SLA by rep and tier, from hand-built history, on SQLite
and PostgreSQL: grouped and windowed queries, whatever the database."""
from __future__ import annotations

from datetime import timedelta

from leadrelay.db import unit_of_work
from leadrelay.history import append_history, history_row
from leadrelay.reporting.funnel import funnel_report
from tests.factories import T0, add_handoff, add_lead

DAY = timedelta(days=1)


def moves(lead_id: int, *steps) -> list[dict]:
    """`stage_changed` events for (days after T0, stage) steps."""
    return [history_row(lead_id, "stage_changed", "test", T0 + days * DAY, {"to": stage}, to_stage=stage)
            for days, stage in steps]


def test_median_days_in_stage_counts_each_ended_stay_once(engine):
    with unit_of_work(engine) as session:
        a, b, c, d = (add_lead(session, f"{name}@example.com") for name in "abcd")
        later = add_lead(session, "later@example.com", at=T0 + 30 * DAY)
        append_history(session, [
            *moves(a.id, (0, "mql"), (1, "sal"), (3, "sql"), (8, "won")),
            # an event without a stage change does not end a stay
            history_row(a.id, "routed", "test", T0 + DAY / 2, {"rep": "x"}),
            *moves(b.id, (0, "mql"), (3, "sal")),
            *moves(c.id, (0, "mql"), (2, "nurturing")),
            *moves(d.id, (0, "mql"), (4, "sal")),
            # outside the cohort below: a 20-day MQL stay
            *moves(later.id, (30, "mql"), (50, "sal")),
        ])

    with unit_of_work(engine) as session:
        everyone = funnel_report(session)["median_days_in_stage"]
        cohort = funnel_report(session, until=T0 + DAY)["median_days_in_stage"]

    # mql stays 1, 3, 2, 4 days (and 20 for the later lead); sal and sql ended once each
    assert cohort == {"nurturing": None, "mql": 2.5, "sal": 2.0, "sql": 5.0, "won": None, "lost": None,
                      "disqualified": None}
    assert everyone["mql"] == 3.0


def test_a_stay_measured_in_hours_is_a_fraction_of_a_day(engine):
    with unit_of_work(engine) as session:
        lead = add_lead(session, "quick@example.com")
        append_history(session, moves(lead.id, (0, "mql"), (0.25, "sal")))
    with unit_of_work(engine) as session:
        assert funnel_report(session)["median_days_in_stage"]["mql"] == 0.25


def test_sla_by_rep_and_tier_judges_each_handoff_by_the_tier_it_was_handed_over_with(engine):
    with unit_of_work(engine) as session:
        hot_then = add_lead(session, "cooled@example.com", tier="cold")
        warm = add_lead(session, "warm@example.com", tier="warm")
        old = add_lead(session, "old@example.com", tier="warm")  # a handoff from before the event had its tier
        gone = add_lead(session, "gone@example.com", tier="hot")
        met = add_handoff(session, hot_then, "ann@sales.example", status="accepted")
        late = add_handoff(session, warm, "bob@sales.example", status="rejected")
        late.sla_breached = True
        add_handoff(session, old, "bob@sales.example", status="open")
        withdrawn = add_handoff(session, gone, "bob@sales.example", status="withdrawn")
        session.flush()
        append_history(session, [
            history_row(lead.id, "handoff_created", "test", T0, {"handoff": handoff.id, "rep": handoff.rep_email,
                                                                  "tier": tier})
            for lead, handoff, tier in ((hot_then, met, "hot"), (warm, late, "warm"), (gone, withdrawn, "hot"))])

    with unit_of_work(engine) as session:
        report = funnel_report(session)

    zero = {"met": 0, "breached": 0, "open": 0}
    assert report["sla_by_rep_and_tier"] == {
        "ann@sales.example": {"hot": {**zero, "met": 1}, "warm": zero, "cold": zero},
        "bob@sales.example": {"hot": zero, "warm": {"met": 0, "breached": 1, "open": 1}, "cold": zero},
    }
    # the same handoffs as the overall SLA counts
    assert report["sla"] == {"met": 1, "breached": 1, "open": 1}
