"""History and enrollments name a lead that exists, on both databases: on PostgreSQL checked once
per statement by migration 0014's triggers (a batch's COPY is one statement), on SQLite by its
foreign keys; and a lead they name cannot be deleted."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from leadrelay.bulk import insert_rows
from leadrelay.history import history_row
from leadrelay.models import Lead, LeadEvent, NurtureEnrollment
from tests.factories import T0, add_lead


# A COPY runs on psycopg's own cursor, so its refusal is psycopg's; a statement through SQLAlchemy, SQLAlchemy's.
REFUSED = (IntegrityError, psycopg.IntegrityError)


def session_for(engine) -> Session:
    """A session enforcing references as the app's engines do (SQLite's foreign keys are off by default)."""
    session = Session(engine)
    if engine.dialect.name == "sqlite":
        session.execute(text("PRAGMA foreign_keys=ON"))
    return session


def enrollment(lead_id: int) -> dict:
    return {"lead_id": lead_id, "reason": "unqualified", "track": None, "step_index": 0, "status": "active",
            "entered_at": T0, "next_due_at": T0}


def event(lead_id: int) -> dict:
    return history_row(lead_id, "scored", "test", T0, {"total": 1})


@pytest.mark.parametrize("table, row", [(LeadEvent.__table__, event), (NurtureEnrollment.__table__, enrollment)])
def test_a_batch_with_one_row_naming_a_missing_lead_is_refused_whole(engine, table, row):
    with session_for(engine) as session:
        real = add_lead(session, "real@example.com").id
        session.commit()
        with pytest.raises(REFUSED):
            insert_rows(session.connection(), table, [row(real), row(real), row(real + 999)])
        session.rollback()
        assert session.scalar(select(func.count()).select_from(table)) == 0
        insert_rows(session.connection(), table, [row(real), row(real)])
        session.commit()
        assert session.scalar(select(func.count()).select_from(table)) == 2


def test_moving_a_row_to_a_missing_lead_is_refused(engine):
    with session_for(engine) as session:
        real = add_lead(session, "real@example.com").id
        insert_rows(session.connection(), LeadEvent.__table__, [event(real)])
        session.commit()
        with pytest.raises(REFUSED):
            session.execute(update(LeadEvent).values(lead_id=real + 999))
            session.flush()


def test_a_lead_its_history_names_cannot_be_deleted_and_one_without_can(engine):
    with session_for(engine) as session:
        named, unnamed = add_lead(session, "named@example.com").id, add_lead(session, "unnamed@example.com").id
        insert_rows(session.connection(), LeadEvent.__table__, [event(named)])
        session.commit()
        with pytest.raises(REFUSED):
            session.execute(delete(Lead).where(Lead.id == named))
            session.flush()
        session.rollback()
        session.execute(delete(Lead).where(Lead.id == unnamed))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
