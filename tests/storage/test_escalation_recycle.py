"""An escalated handoff: the manager's email carries a signed reassign link, and when nobody
answers for sla.yaml's `recycle_escalated_after_hours` after the deadline the lead goes back to
nurturing through the lifecycle, with history. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.email.rendering import Sender
from leadrelay.handoff.handoff_store import HandoffContext
from leadrelay.handoff.sla_store import enforce_sla, recycle_unanswered_escalations
from leadrelay.models import Handoff, OutboxEmail
from tests.factories import REPO, T0, add_handoff, add_scored_lead, enrollments_of, events_of, lead_by_email

ANNA = "anna.schmidt@example.com"
DUE = T0 + timedelta(hours=4)


@pytest.fixture
def ctx():
    return HandoffContext(rules=load_rules(REPO / "config"), secret="s", base_url="http://links.test",
                          sender=Sender("m@example.com", "leadrelay", "1 Street"), actor="flow:sla")


def escalate(engine, ctx) -> tuple[int, int]:
    """A hot lead's handoff to Anna after both reassignments, breached and escalated at DUE + 1 min."""
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, country="DE")
        handoff = add_handoff(session, lead, rep_email=ANNA, due_at=DUE)
        handoff.attempt = 2
        lead_id, handoff_id = lead.id, handoff.id
    with unit_of_work(engine) as session:
        assert enforce_sla(session, ctx, DUE + timedelta(minutes=1), 100).escalated == 1
    return lead_id, handoff_id


def recycle(engine, ctx, at):
    with unit_of_work(engine) as session:
        return recycle_unanswered_escalations(session, ctx, at, 100)


def test_the_escalation_email_links_to_the_manager_s_reassign_page(engine, ctx):
    escalate(engine, ctx)
    with unit_of_work(engine) as session:
        [mail] = session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "sla_escalation"))
    assert mail.to_email == "emea.manager@example.com"
    assert "Reassign to another rep: http://links.test/reassign/" in mail.text
    assert 'href="http://links.test/reassign/' in mail.html


def test_an_escalation_nobody_answers_recycles_after_the_configured_hours(engine, ctx):
    lead_id, handoff_id = escalate(engine, ctx)
    hours = ctx.rules.sla.recycle_escalated_after_hours

    assert recycle(engine, ctx, DUE + timedelta(hours=hours, seconds=-1)) == []
    [recycled] = recycle(engine, ctx, DUE + timedelta(hours=hours))

    assert (recycled.handoff_id, recycled.done) == (handoff_id, "recycled")
    with unit_of_work(engine) as session:
        assert session.get(Handoff, handoff_id).status == "recycled"
    lead = lead_by_email(engine)
    assert (lead.stage, lead.owner_rep) == ("nurturing", None)
    [enrollment] = [e for e in enrollments_of(engine, lead_id) if e.status == "active"]
    assert enrollment.reason == "sla-breached"
    kinds = [(e.kind, e.actor) for e in events_of(engine, lead_id)]
    assert kinds[-2:] == [("escalation_expired", "flow:sla"), ("stage_changed", "flow:sla")]
    assert "still unanswered 72 hours after the deadline" in events_of(engine, lead_id)[-1].detail["reason"]

    assert recycle(engine, ctx, DUE + timedelta(days=30)) == []  # once only


def test_an_answer_after_the_escalation_stops_the_recycling(engine, ctx):
    from leadrelay.handoff.answers import answer_handoff

    _, handoff_id = escalate(engine, ctx)
    with unit_of_work(engine) as session:
        answer_handoff(session, handoff_id, ANNA, "accept", None, None, DUE + timedelta(hours=5), actor="rep:anna")
    assert recycle(engine, ctx, DUE + timedelta(days=10)) == []
    assert lead_by_email(engine).stage == "sal"
