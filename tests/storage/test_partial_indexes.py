"""Migration 0015: three indexes hold only the rows their queries look for, and the queries that
use them still can (each query's condition implies the index's)."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from leadrelay.db import _alembic_config

PARTIAL = {  # index -> its condition, on PostgreSQL
    "ix_lead_needs_scoring": "(needs_scoring IS TRUE)",
    "ix_lead_account_id": "(account_id IS NOT NULL)",
    "ix_lead_event_to_stage": "(to_stage IS NOT NULL)",
}


def index_conditions(connection) -> dict[str, str | None]:
    """Each index's WHERE condition as the database holds it (None: a full index)."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(:names) "
            "AND c.relnamespace = current_schema()::regnamespace"), {"names": list(PARTIAL)})
        return dict(rows.all())
    rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all()
    return {name: sql.split(" WHERE ", 1)[1] if " WHERE " in sql else None for name, sql in rows if name in PARTIAL}


def test_the_indexes_skip_scored_leads_leads_without_an_account_and_events_without_a_stage(engine):
    with engine.connect() as connection:
        conditions = index_conditions(connection)
    if engine.dialect.name == "postgresql":
        assert conditions == PARTIAL
    else:  # SQLite matches a partial index only on the condition's own spelling: the claim's differs
        assert conditions == {"ix_lead_needs_scoring": None, "ix_lead_account_id": "account_id IS NOT NULL",
                              "ix_lead_event_to_stage": "to_stage IS NOT NULL"}


def test_postgresql_still_answers_the_claim_the_funnel_and_account_lookups_from_them(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    queries = {
        "ix_lead_needs_scoring": "SELECT id FROM lead WHERE needs_scoring IS TRUE",
        "ix_lead_account_id": "SELECT id FROM lead WHERE account_id = ANY(ARRAY[1, 2])",
        "ix_lead_event_to_stage": "SELECT lead_id FROM lead_event WHERE to_stage IN ('mql', 'sal')",
    }
    with engine.begin() as connection:
        # No rows, no statistics: with sequential and bitmap scans off, the plan shows whether the index can be used.
        for setting in ("enable_seqscan", "enable_bitmapscan"):
            connection.execute(text(f"SET LOCAL {setting} = off"))
        for index, query in queries.items():
            plan = "\n".join(connection.execute(text(f"EXPLAIN {query}")).scalars())
            assert index in plan, plan


def test_the_migration_goes_down_and_up_again(engine):
    config = _alembic_config(engine)
    command.downgrade(config, "0014")
    with engine.connect() as connection:
        assert set(index_conditions(connection).values()) == {None}
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert index_conditions(connection)["ix_lead_event_to_stage"] is not None
