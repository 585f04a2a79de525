"""On PostgreSQL, two workers claiming at once get disjoint batches (FOR UPDATE SKIP LOCKED)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.models import Lead
from leadrelay.scoring.score_store import claim_leads_to_score
from tests.factories import add_lead


def test_two_workers_claim_disjoint_leads(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; SQLite serialises writers instead")
    with Session(engine) as session:
        for i in range(10):
            add_lead(session, f"lead{i}@example.com")
        session.commit()

    first, second = Session(engine), Session(engine)
    try:
        mine = {lead["id"] for lead in claim_leads_to_score(first, 6)}  # held, not yet committed
        theirs = {lead["id"] for lead in claim_leads_to_score(second, 6)}
        assert len(mine) == 6 and len(theirs) == 4
        assert not mine & theirs
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()


def test_claim_locks_and_skips_on_postgresql_and_leaves_sqlite_queries_alone(engine):
    with Session(engine) as session:
        sql = str(claim(session, select(Lead).limit(5)).compile(dialect=engine.dialect))
        waiting = str(claim(session, select(Lead), skip_locked=False).compile(dialect=engine.dialect))
    if engine.dialect.name == "postgresql":
        assert sql.rstrip().endswith("FOR UPDATE SKIP LOCKED")
        assert waiting.rstrip().endswith("FOR UPDATE")
    else:
        assert "FOR UPDATE" not in sql and "FOR UPDATE" not in waiting
