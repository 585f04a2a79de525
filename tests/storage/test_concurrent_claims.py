"""On PostgreSQL, two workers claiming at once get disjoint batches (FOR UPDATE SKIP LOCKED)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, text
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.handoff.handoff_store import claim_new_mqls
from leadrelay.models import Lead
from leadrelay.scoring.score_store import claim_leads_to_score
from tests.factories import add_handoff, add_lead


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



def test_the_hand_off_claim_probes_each_leads_open_handoff_whatever_the_statistics_say(engine):
    """Right after a big scoring pass the statistics say there are no open handoffs; flattened into
    an anti-join, the claim then scanned every open handoff for every MQL (8.3 s at 100k leads)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with Session(engine) as session:
        leads = [add_lead(session, f"lead{i}@example.com", stage="mql") for i in range(300)]
        for lead in leads[:200]:
            add_handoff(session, lead, status="accepted")
        session.commit()
        session.execute(text("ANALYZE handoff"))  # the statistics now say: no handoff is open
        session.execute(text("UPDATE handoff SET status = 'open'"))
        session.commit()

        sent = []
        keep = lambda conn, cursor, statement, parameters, context, many: sent.append((statement, parameters))  # noqa: E731
        event.listen(engine, "before_cursor_execute", keep)
        try:
            claimed = [lead.email for lead in claim_new_mqls(session, 50)]
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        with session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sent[0][0]}", sent[0][1])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        session.rollback()

    assert claimed == [f"lead{i}@example.com" for i in range(200, 250)]
    assert "Index Cond: (lead_id = lead.id)" in plan, plan


def test_claims_walk_forward_from_the_last_id_a_run_claimed(engine):
    with Session(engine) as session:
        waiting = [add_lead(session, f"new{i}@example.com").id for i in range(4)]
        mqls = [add_lead(session, f"mql{i}@example.com", stage="mql").id for i in range(4)]
        session.commit()
        assert [lead["id"] for lead in claim_leads_to_score(session, 10, after=waiting[1])] == waiting[2:] + mqls
        assert [lead.id for lead in claim_new_mqls(session, 2, after=mqls[0])] == mqls[1:3]
        session.rollback()
