"""The lifecycle's transition table, walked: every allowed move is applied (stage, history,
enrollments) and every other move is refused with one sentence, writing nothing."""
from __future__ import annotations

from datetime import timedelta
from itertools import count, product

import pytest
from sqlalchemy import select
from sqlmodel import Session, create_engine

from leadrelay.db import unit_of_work, upgrade_schema
from leadrelay.lifecycle import ALLOWED, LifecycleError, Transition, apply_transitions, check, is_allowed
from leadrelay.models import Lead, LeadEvent, NurtureEnrollment, Stage
from tests.factories import T0, add_lead

AT = T0 + timedelta(days=1)
ALLOWED_MOVES = [(a, b) for a, b in product(Stage, Stage) if b in ALLOWED[a]]
REFUSED_MOVES = [(a, b) for a, b in product(Stage, Stage) if b not in ALLOWED[a]]
SERIAL = count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One migrated SQLite database for the module; each test writes its own lead."""
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('lifecycle') / 'leadrelay.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def lead_in(engine, stage: Stage, enrollments: int) -> int:
    """A committed lead in `stage` with `enrollments` active enrollments; returns its id."""
    with unit_of_work(engine) as session:
        lead = add_lead(session, f"{stage}-{next(SERIAL)}@example.com", stage=stage.value)
        session.add_all(NurtureEnrollment(lead_id=lead.id, reason="unqualified", entered_at=T0, next_due_at=T0)
                        for _ in range(enrollments))
        session.flush()
        return lead.id


def state(engine, lead_id: int) -> tuple[str, list[NurtureEnrollment], list[LeadEvent]]:
    with Session(engine) as session:
        enrollments = list(session.scalars(select(NurtureEnrollment).where(NurtureEnrollment.lead_id == lead_id)
                                           .order_by(NurtureEnrollment.id)))
        events = list(session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)))
        return session.get(Lead, lead_id).stage, enrollments, events


def test_the_table_names_every_stage_and_every_stage_can_be_reached_from_new():
    assert set(ALLOWED) == set(Stage)
    reached, frontier = {Stage.new}, [Stage.new]
    while frontier:
        for nxt in ALLOWED[frontier.pop()] - reached:
            reached.add(nxt)
            frontier.append(nxt)
    assert reached == set(Stage)


def test_the_moves_the_code_makes_are_allowed():
    # scoring; rep accept and reject; SLA recycle
    for move in [("new", "mql"), ("new", "nurturing"), ("nurturing", "mql"), ("mql", "sal"), ("mql", "nurturing")]:
        assert is_allowed(*move), move
    assert not is_allowed("mql", "suppressed") and not is_allowed("suppressed", "sal")


@pytest.mark.parametrize("source, target", ALLOWED_MOVES, ids=[f"{a}->{b}" for a, b in ALLOWED_MOVES])
def test_an_allowed_move_changes_the_stage_records_it_and_its_enrollments(engine, source, target):
    leftovers = 2 if source in (Stage.nurturing, Stage.mql) else 0  # two, to show every one is ended
    lead_id = lead_in(engine, source, leftovers)
    with unit_of_work(engine) as session:
        applied = apply_transitions(session, [Transition(lead_id, source, target, "because", "rejected:no-need")],
                                    AT, "rep:test", flow_run_id="run-1")

    stage, enrollments, events = state(engine, lead_id)
    assert stage == target and applied.moved == {target.value: 1}
    changed = [e for e in events if e.kind == "stage_changed"]
    assert [(e.to_stage, e.detail, e.actor, e.flow_run_id, e.at) for e in changed] == [
        (target.value, {"from": source.value, "to": target.value, "reason": "because"}, "rep:test", "run-1", AT)]
    exited = [e for e in events if e.kind == "nurture_exited"]
    active = [e for e in enrollments if e.status == "active"]
    if target == Stage.nurturing:
        assert [(e.reason, e.step_index, e.next_due_at) for e in active] == [("rejected:no-need", 0, AT)]
        assert len(exited) == leftovers == applied.enrollments_ended and applied.enrollments_started == 1
        assert {e.detail["reason"] for e in exited} <= {"replaced by a new enrollment (rejected:no-need)"}
    elif target == Stage.mql:  # ended as became-mql by the nurture-exit sweep, not here
        assert len(active) == leftovers and exited == []
    else:
        assert active == [] and len(exited) == leftovers
        assert {e.exit_reason for e in enrollments} <= {f"became-{target}"}


@pytest.mark.parametrize("source, target", REFUSED_MOVES, ids=[f"{a}->{b}" for a, b in REFUSED_MOVES])
def test_a_move_outside_the_table_is_refused_and_writes_nothing(engine, source, target):
    lead_id = lead_in(engine, source, 1)
    before = state(engine, lead_id)

    with pytest.raises(LifecycleError) as refused:
        with unit_of_work(engine) as session:
            apply_transitions(session, [Transition(lead_id, source, target, "because")], AT, "rep:test")

    message = str(refused.value)
    assert message.startswith(f"A lead cannot go from {source} to {target};") and message.count(".") == 1
    after = state(engine, lead_id)
    assert after[0] == before[0] == source
    assert [e.status for e in after[1]] == ["active"] and len(after[2]) == len(before[2])


@pytest.mark.parametrize("transition, words", [
    (Transition(1, "suppressed", "sal", "accepted"), "'suppressed' is not a lead stage"),
    (Transition(1, "mql", "sal", "  "), "needs a reason"),
    (Transition(1, "mql", "nurturing", "x" * 61), "at most 60 characters"),
])
def test_a_move_without_a_known_stage_or_a_reason_is_refused(transition, words):
    with pytest.raises(LifecycleError, match=words):
        check(transition)


def test_a_lead_twice_in_one_batch_is_refused(engine):
    lead_id = lead_in(engine, Stage.mql, 0)
    with pytest.raises(LifecycleError, match="only one move"):
        with unit_of_work(engine) as session:
            apply_transitions(session, [Transition(lead_id, "mql", "sal", "a"), Transition(lead_id, "mql", "sal", "b")],
                              AT, "x")


def test_a_lead_no_longer_in_the_stage_the_caller_saw_refuses_the_whole_batch(engine):
    moved_on, waiting = lead_in(engine, Stage.sal, 0), lead_in(engine, Stage.mql, 0)
    with pytest.raises(LifecycleError, match="no longer in mql"):
        with unit_of_work(engine) as session:
            apply_transitions(session, [Transition(waiting, "mql", "sal", "a"), Transition(moved_on, "mql", "sal", "b")],
                              AT, "x")
    assert state(engine, waiting)[0] == "mql" and state(engine, moved_on)[0] == "sal"


def test_a_loaded_lead_sees_its_new_stage_in_the_same_session(engine):
    lead_id = lead_in(engine, Stage.mql, 0)
    with unit_of_work(engine) as session:
        lead = session.get(Lead, lead_id)
        apply_transitions(session, [Transition.of(lead, Stage.sal, "accepted by rep")], AT, "rep:test")
        assert lead.stage == "sal"
