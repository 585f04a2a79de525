"""The scoring claim reads leads as SQLAlchemy read them, on both databases: on PostgreSQL it
reads through psycopg (leadrelay.raw_read.fetch_dicts; jsonb by the engine's loader, leadrelay.db.json_loads), so the values, their
types and their JSON must be the same, whatever the text."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.raw_read import fetch_dicts
from leadrelay.models import Lead
from leadrelay.scoring.score_store import SCORED_COLUMNS, claim_leads_to_score
from tests.factories import add_lead

TEXTS = ["plain", "", " ", "tab\there", "new\nline", "back\\slash", "\\N", "ümlaut € 😀", "quote ' \" "]


def test_the_claim_reads_the_dicts_sqlalchemy_read(engine):
    with Session(engine) as session:
        for index, value in enumerate(TEXTS):
            lead = add_lead(session, f"c{index}@example.com")
            lead.title, lead.company_size, lead.consent = value, index, bool(index % 2)
            lead.attributes = {value: value, "n": index, "f": 1.25, "big": 10**20, "none": None, "list": [value]}
            lead.score_breakdown = [{"rule": value, "points": index}]
        session.commit()
        expected = [dict(row._mapping) for row in session.execute(
            select(*SCORED_COLUMNS).where(Lead.needs_scoring.is_(True)).order_by(Lead.id))]
        claimed = claim_leads_to_score(session, 100)
        if engine.dialect.name == "postgresql":
            assert fetch_dicts(session.connection(), select(*SCORED_COLUMNS).order_by(Lead.id)) == expected
    assert claimed == expected and len(claimed) == len(TEXTS)
    assert [[type(v) for v in lead.values()] for lead in claimed] == [[type(v) for v in lead.values()] for lead in expected]
    assert [list(lead) for lead in claimed] == [list(lead) for lead in expected]
