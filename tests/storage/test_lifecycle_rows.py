"""apply_transitions with the batch's other columns (row_updates), on SQLite and PostgreSQL: the
stage and the caller's columns are written together, and a lead that moved on meanwhile refuses
the whole batch."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import unit_of_work
from leadrelay.lifecycle import LifecycleError, Transition, apply_transitions
from leadrelay.models import Lead, LeadEvent, NurtureEnrollment
from tests.factories import T0, add_lead

AT = T0 + timedelta(days=1)


def new_leads(engine, count: int) -> list[int]:
    with unit_of_work(engine) as session:
        return [add_lead(session, f"lead{i}@example.com").id for i in range(count)]


def scores(lead_id: int, total: int) -> dict:
    return {"id": lead_id, "score_total": total, "stage": "new", "updated_at": AT}


def test_moves_and_the_callers_columns_are_written_together(engine):
    hot, cold, staying = new_leads(engine, 3)
    with unit_of_work(engine) as session:
        applied = apply_transitions(session, [Transition(hot, "new", "mql", "score 80"),
                                              Transition(cold, "new", "nurturing", "score 5", "unqualified")],
                                    AT, "flow:test", row_updates=[scores(hot, 80), scores(cold, 5), scores(staying, 20)])

    with Session(engine) as session:
        rows = {lead.id: (lead.stage, lead.score_total, lead.updated_at) for lead in session.scalars(select(Lead))}
        kinds = [(e.lead_id, e.kind) for e in session.scalars(select(LeadEvent).order_by(LeadEvent.id))]
        enrolled = [e.lead_id for e in session.scalars(select(NurtureEnrollment))]
    assert rows == {hot: ("mql", 80, AT), cold: ("nurturing", 5, AT), staying: ("new", 20, AT)}
    assert dict(applied.moved) == {"mql": 1, "nurturing": 1}
    assert sorted(kinds) == [(hot, "stage_changed"), (cold, "stage_changed")] and enrolled == [cold]


def test_a_lead_that_moved_on_since_it_was_seen_refuses_the_batch_and_nothing_is_written(engine):
    first, moved_on = new_leads(engine, 2)
    with unit_of_work(engine) as session:
        session.get(Lead, moved_on).stage = "disqualified"

    with pytest.raises(LifecycleError, match="1 of the batch's leads are no longer in the stage"):
        with unit_of_work(engine) as session:
            apply_transitions(session, [Transition(first, "new", "mql", "score 80")], AT, "flow:test",
                              row_updates=[scores(first, 80), scores(moved_on, 3)])

    with Session(engine) as session:
        rows = {lead.id: (lead.stage, lead.score_total) for lead in session.scalars(select(Lead))}
        assert session.scalars(select(LeadEvent)).all() == []
    assert rows == {first: ("new", 0), moved_on: ("disqualified", 0)}
