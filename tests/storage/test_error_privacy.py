"""The engine leadrelay makes (`engine_for`) keeps data out of errors and logs: SQL parameters are
hidden and PostgreSQL's DETAIL lines (which quote the row) are cut, on SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import pickle
import traceback
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from leadrelay.bulk import insert_rows, raw
from leadrelay.db import engine_for, unit_of_work
from leadrelay.models import Lead, QuarantineEntry
from tests.support.db_url import database_url

EMAIL, TOKEN, NAME = "secret.person@acme.com", "tok-SECRET123", "Carla"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def private_engine(engine):
    """`engine_for` on the test's database, as the CLI, flows and web app get it."""
    made = engine_for(database_url(engine))
    yield made
    made.dispose()
    engine_for.cache_clear()


def lead_row(**overrides):
    return {"email": EMAIL, "attributes": {"token": TOKEN}, "stage": "new", "email_status": "ok", "fit_score": 0,
            "engagement_score": 0, "score_total": 0, "tier": "cold", "score_breakdown": [], "needs_scoring": True,
            "list_kind": "internal", "created_at": NOW, "updated_at": NOW, **overrides}


def test_a_unique_violation_names_the_constraint_but_no_value_in_errors_or_sql_logs(private_engine, caplog):
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # as someone debugging would turn SQL logs on
    with unit_of_work(private_engine) as session:
        session.execute(insert(Lead.__table__), [lead_row()])

    with pytest.raises(IntegrityError) as raised:
        with unit_of_work(private_engine) as session:
            session.execute(insert(Lead.__table__), [lead_row(first_name=NAME)])

    shown = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert "email" in str(raised.value).lower()  # what failed is still said: the column or constraint
    for secret in (EMAIL, TOKEN, NAME):
        assert secret not in shown


def test_errors_from_raw_sql_lose_their_detail_line(private_engine):
    if private_engine.dialect.name != "postgresql":
        pytest.skip("raw() runs on PostgreSQL's own cursor only")
    with unit_of_work(private_engine) as session:
        session.execute(insert(Lead.__table__), [lead_row()])

    with pytest.raises(Exception) as raised:
        with unit_of_work(private_engine) as session:
            raw(session.connection(), f"INSERT INTO lead SELECT * FROM lead WHERE email = '{EMAIL}'")

    assert "duplicate key" in str(raised.value)
    assert EMAIL not in "".join(traceback.format_exception(raised.value))


def test_a_missing_table_error_does_not_show_the_quarantined_row(private_engine, caplog):
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with private_engine.begin() as connection:
        connection.execute(text("DROP TABLE quarantine"))

    with pytest.raises(Exception) as raised:
        with unit_of_work(private_engine) as session:
            session.execute(insert(QuarantineEntry.__table__),
                            [{"at": NOW, "source": "x.csv line 2", "reason": "r", "raw": f"{EMAIL},{TOKEN}"}])

    shown = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert "quarantine" in shown
    assert EMAIL not in shown and TOKEN not in shown


def test_a_failed_runs_exception_pickles_without_the_row(private_engine):
    """Prefect pickles a failed run's exception into its storage: the driver's diagnostics (DETAIL
    quotes the row) and SQLAlchemy's bound parameters went with it, whatever the message said."""
    with unit_of_work(private_engine) as session:
        session.execute(insert(Lead.__table__), [lead_row()])

    with pytest.raises(IntegrityError) as through_the_orm:
        with unit_of_work(private_engine) as session:
            session.execute(insert(Lead.__table__), [lead_row(first_name=NAME)])
    pickled = [pickle.dumps(through_the_orm.value)]
    if private_engine.dialect.name == "postgresql":
        with pytest.raises(Exception) as through_copy:
            with unit_of_work(private_engine) as session:
                insert_rows(session.connection(), Lead.__table__, [lead_row(first_name=NAME)])
        pickled.append(pickle.dumps(through_copy.value))

    for blob in pickled:
        for secret in (EMAIL, TOKEN, NAME):
            assert secret.encode() not in blob
    assert b"lead_email_key" in pickled[0] or private_engine.dialect.name == "sqlite"  # the name stays
