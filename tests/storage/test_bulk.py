"""leadrelay.bulk on SQLite and PostgreSQL: a batch's rows written at once (COPY on PostgreSQL)
read back as the ORM would have written them, and only the rows meant are touched."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.bulk import insert_returning, insert_rows, is_one_of, update_rows
from leadrelay.history import history_row
from leadrelay.models import Handoff, Lead, LeadEvent, OutboxEmail
from tests.factories import add_lead

BERLIN_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=1)))


def leads(engine, count: int) -> list[int]:
    with Session(engine) as session:
        ids = [add_lead(session, f"lead{i}@example.com").id for i in range(count)]
        session.commit()
    return ids


def test_history_rows_keep_their_json_times_and_text_whatever_the_characters(engine):
    [lead_id] = leads(engine, 1)
    detail = {"reason": 'tab\there, "quotes", back\\slash, newline\nand ü', "pool": ["a", "b"], "n": 3}
    with Session(engine) as session:
        insert_rows(session.connection(), LeadEvent.__table__,
                    [history_row(lead_id, "scored", "flow:test", BERLIN_NOON, detail),
                     history_row(lead_id, "routed", "flow:test", BERLIN_NOON, None, to_stage="mql")])
        session.commit()
        events = session.scalars(select(LeadEvent).order_by(LeadEvent.id)).all()

    assert [(e.kind, e.detail, e.to_stage) for e in events] == [("scored", detail, None), ("routed", {}, "mql")]
    assert {e.at for e in events} == {datetime(2026, 11, 24, 11, 0, tzinfo=timezone.utc)}  # the same instant, in UTC


def test_update_rows_sets_the_given_columns_of_exactly_the_rows_named(engine):
    ids = leads(engine, 3)
    with Session(engine) as session:
        update_rows(session.connection(), Lead.__table__, [
            {"id": ids[0], "score_total": 70, "score_breakdown": [{"rule": "CEO", "points": 70}], "scored_at": BERLIN_NOON},
            {"id": ids[2], "score_total": 5, "score_breakdown": [], "scored_at": BERLIN_NOON}])
        session.commit()
        rows = {lead.id: lead for lead in session.scalars(select(Lead))}

    assert (rows[ids[0]].score_total, rows[ids[0]].score_breakdown) == (70, [{"rule": "CEO", "points": 70}])
    assert rows[ids[2]].score_total == 5 and rows[ids[2]].scored_at == BERLIN_NOON
    assert rows[ids[1]].scored_at is None  # not named, not touched


def test_insert_returning_gives_each_new_row_and_skips_what_the_unique_column_already_holds(engine):
    ids = leads(engine, 2)
    handoff = {"rep_email": "anna@example.com", "status": "open", "created_at": BERLIN_NOON, "due_at": BERLIN_NOON,
               "attempt": 0, "route": {"rule": "dach"}, "sla_breached": False}
    with Session(engine) as session:
        made = dict(insert_returning(session.connection(), Handoff.__table__,
                                     [{**handoff, "lead_id": lead_id} for lead_id in ids], ["lead_id", "id"]))
        session.commit()
        stored = {h.lead_id: h.id for h in session.scalars(select(Handoff))}
    assert made == stored and set(made) == set(ids)

    with Session(engine) as session:
        first = queue_key_1(session, ids[0])
        again = queue_key_1(session, ids[0])
        session.commit()
    assert (first, again) == ({"k:1"}, set())


def queue_key_1(session: Session, lead_id: int) -> set[str]:
    """Queue an outbox row with key `k:1` unless there is one; the keys added."""
    row = {"idempotency_key": "k:1", "kind": "nurture", "lead_id": lead_id, "to_email": "x@example.com",
           "to_name": "", "from_email": "m@example.com", "from_name": "", "subject": "s", "html": "h", "text": "t",
           "headers": {}, "categories": [], "custom_args": {}, "render_context": None, "status": "pending",
           "attempts": 0, "created_at": BERLIN_NOON, "next_attempt_at": BERLIN_NOON}
    added = insert_returning(session.connection(), OutboxEmail.__table__, [row], ["idempotency_key"],
                             skip_conflicts_on="idempotency_key")
    return {key for (key,) in added}


def test_is_one_of_matches_the_values_given_and_nothing_for_none(engine):
    ids = leads(engine, 4)
    with Session(engine) as session:
        found = set(session.scalars(select(Lead.id).where(is_one_of(session, Lead.id, [ids[1], ids[3], 999_999]))))
        emails = set(session.scalars(select(Lead.email).where(is_one_of(session, Lead.email, {"lead2@example.com"}))))
        none = session.scalars(select(Lead.id).where(is_one_of(session, Lead.id, []))).all()
    assert (found, emails, none) == ({ids[1], ids[3]}, {"lead2@example.com"}, [])


def test_a_guarded_update_writes_only_rows_still_holding_the_value_they_were_seen_with(engine):
    ids = leads(engine, 3)
    with Session(engine) as session:
        session.get(Lead, ids[1]).stage = "sal"  # moved on since the batch saw it
        session.commit()
        written = update_rows(session.connection(), Lead.__table__, [
            {"id": lead_id, "score_total": 40, "stage": "mql", "stage_was": "new"} for lead_id in ids], guard="stage")
        session.commit()
        rows = {lead.id: (lead.stage, lead.score_total) for lead in session.scalars(select(Lead))}

    assert written == 2
    assert rows == {ids[0]: ("mql", 40), ids[1]: ("sal", 0), ids[2]: ("mql", 40)}


def test_copied_times_keep_their_microseconds_and_each_row_its_own_instant(engine):
    [lead_id] = leads(engine, 1)
    moments = [BERLIN_NOON + timedelta(microseconds=123456), BERLIN_NOON, BERLIN_NOON + timedelta(days=400, seconds=1)]
    with Session(engine) as session:
        insert_rows(session.connection(), LeadEvent.__table__,
                    [history_row(lead_id, "scored", "flow:test", at, {}) for at in moments])
        session.commit()
        stored = session.scalars(select(LeadEvent.at).order_by(LeadEvent.id)).all()
    assert stored == moments  # the same instants (aware datetimes compare across zones)
