"""Recycling a lead to nurturing (an SLA that ran out, a rep's rejection) goes through the
lifecycle: the lead ends with exactly one active enrollment, and every enrollment it left has a
`nurture_exited` event in its history."""
from __future__ import annotations

from datetime import timedelta

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.handoff.answers import answer_handoff
from leadrelay.handoff.handoff_store import HandoffContext
from leadrelay.handoff.sla_store import enforce_sla
from leadrelay.models import NurtureEnrollment
from tests.factories import REP, REPO, T0, add_handoff, add_scored_lead, enrollments_of, events_of, lead_by_email

LATER = T0 + timedelta(days=5)


def mql_with_leftover_enrollments(engine, **fields) -> tuple[int, int]:
    """An MQL with an open handoff due at T0 + 4h and two active enrollments the became-mql sweep
    has not ended yet (one from before it was an MQL, one older stray); returns (lead, handoff)."""
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, **fields)
        session.add_all([
            NurtureEnrollment(lead_id=lead.id, reason="unqualified", track="education", step_index=2,
                              entered_at=T0 - timedelta(days=30), next_due_at=LATER),
            NurtureEnrollment(lead_id=lead.id, reason="rejected:no-need", entered_at=T0 - timedelta(days=9),
                              next_due_at=LATER),
        ])
        return lead.id, add_handoff(session, lead).id


def assert_recycled_once(engine, lead_id: int, reason: str) -> None:
    lead = lead_by_email(engine)
    assert (lead.stage, lead.owner_rep) == ("nurturing", None)
    enrollments = enrollments_of(engine, lead_id)
    active = [e for e in enrollments if e.status == "active"]
    assert [(e.reason, e.step_index, e.next_due_at) for e in active] == [(reason, 0, LATER)]
    left = sorted(e.id for e in enrollments if e.status == "exited")
    assert len(left) == 2
    exited = [e for e in events_of(engine, lead_id) if e.kind == "nurture_exited"]
    assert sorted(e.detail["enrollment"] for e in exited) == left
    assert {e.detail["reason"] for e in exited} == {f"replaced by a new enrollment ({reason})"}
    (changed,) = [e for e in events_of(engine, lead_id) if e.kind == "stage_changed"]
    assert (changed.to_stage, changed.detail["from"], changed.detail["reason"]) == ("nurturing", "mql", reason)


def test_an_sla_breach_recycles_the_lead_with_one_active_enrollment(engine):
    lead_id, _ = mql_with_leftover_enrollments(engine, tier="cold")  # cold: on_breach recycle
    ctx = HandoffContext(rules=load_rules(REPO / "config"), secret="s", base_url="http://links.test",
                         sender=Sender("marketing@example.com", "leadrelay", "1 Main St"), actor="flow:sla",
                         flow_run_id="run-7")
    with unit_of_work(engine) as session:
        outcome = enforce_sla(session, ctx, LATER, limit=10)

    assert (outcome.claimed, outcome.recycled) == (1, 1)
    assert_recycled_once(engine, lead_id, "sla-breached")
    kinds = [e.kind for e in events_of(engine, lead_id) if e.at == LATER]
    assert kinds == ["sla_breached", "stage_changed", "nurture_exited", "nurture_exited"]
    assert {e.flow_run_id for e in events_of(engine, lead_id) if e.at == LATER} == {"run-7"}


def test_a_rep_rejection_recycles_the_lead_with_one_active_enrollment(engine):
    lead_id, handoff_id = mql_with_leftover_enrollments(engine)
    with unit_of_work(engine) as session:
        answer_handoff(session, handoff_id, REP, "reject", "bad-timing", None, LATER, actor=f"rep:{REP}")

    assert_recycled_once(engine, lead_id, "rejected:bad-timing")
    kinds = [e.kind for e in events_of(engine, lead_id) if e.at == LATER]
    assert kinds == ["handoff_rejected", "stage_changed", "nurture_exited", "nurture_exited"]
