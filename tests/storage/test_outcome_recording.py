"""Recording outcomes from sales and importing them from a CRM export, on SQLite and PostgreSQL:
stages through the lifecycle with history, amounts the funnel sums, quarantine for bad rows, and
a second import that changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.intake.importer import ImportFailed
from leadrelay.models import EnrollmentStatus, Lead, LeadEvent, NurtureEnrollment, QuarantineEntry, SalesOutcome
from leadrelay.outcomes.csv_import import import_outcomes
from leadrelay.outcomes.record import OutcomeRequest, UnknownLead, record_one, record_outcomes
from leadrelay.outcomes.rules import OutcomeError
from leadrelay.reporting.funnel import funnel_report
from tests.factories import T0, add_nurtured_lead, add_scored_lead, enrollments_of, events_of, lead_by_email

AS_OF = T0 + timedelta(days=10)


def add_sal_lead(session, email="carla@acme-buyer.com", **fields):
    return add_scored_lead(session, email, stage="sal", owner_rep="rita@seller.example", **fields)


def stage_moves(engine, lead_id):
    return [(e.detail["from"], e.detail["to"], e.actor) for e in events_of(engine, lead_id) if e.kind == "stage_changed"]


def test_won_from_sal_records_sql_then_won_with_who_and_why_and_ends_nurture(engine):
    with unit_of_work(engine) as session:
        lead = add_sal_lead(session)
        session.add(NurtureEnrollment(lead_id=lead.id, reason="unqualified", track="education", step_index=1,
                                      status="active", entered_at=T0, next_due_at=T0))
        result = record_one(session, OutcomeRequest("Carla@Acme-Buyer.com", "won", AS_OF, amount_cents=1_250_000,
                                                    reason="signed", rep="rita@seller.example"), AS_OF, "rep:rita@seller.example")

    assert (result.status, result.stage) == ("recorded", "won")
    assert lead_by_email(engine).stage == "won"
    assert stage_moves(engine, lead.id) == [("sal", "sql", "rep:rita@seller.example"),
                                            ("sql", "won", "rep:rita@seller.example")]
    recorded = [e for e in events_of(engine, lead.id) if e.kind == "outcome_recorded"]
    assert [e.detail["amount"] for e in recorded] == ["12500.00"] and recorded[0].detail["reason"] == "signed"
    assert [e.status for e in enrollments_of(engine, lead.id)] == [EnrollmentStatus.exited.value]
    with unit_of_work(engine) as session:
        report = funnel_report(session)
    assert (report["stages"]["sql"], report["stages"]["won"], report["won_amount"]) == (1, 1, 12500.0)


def test_lost_goes_back_to_nurturing_with_its_reason(engine):
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session, stage="sql", owner_rep="rita@seller.example")
        record_one(session, OutcomeRequest(lead.email, "lost", AS_OF, reason="Went with a competitor"), AS_OF, "cli")

    assert (lead_by_email(engine).stage, lead_by_email(engine).owner_rep) == ("nurturing", None)
    assert [m[:2] for m in stage_moves(engine, lead.id)] == [("sql", "lost"), ("lost", "nurturing")]
    assert [(e.reason, e.status) for e in enrollments_of(engine, lead.id)] == [("lost:went-with-a-competitor", "active")]


def test_disqualified_is_final_and_a_recycling_reason_nurtures_instead(engine):
    with unit_of_work(engine) as session:
        spam, _ = add_nurtured_lead(session, "spam@example.org")
        later = add_sal_lead(session, "later@acme-buyer.com")
        results = record_outcomes(session, [OutcomeRequest("spam@example.org", "disqualified", AS_OF, reason="spam"),
                                            OutcomeRequest("later@acme-buyer.com", "disqualified", AS_OF,
                                                           reason="bad-timing")], AS_OF, "cli")

    assert [r.stage for r in results] == ["disqualified", "nurturing"]
    assert [e.status for e in enrollments_of(engine, spam.id)] == ["exited"]
    assert [e.reason for e in enrollments_of(engine, later.id)] == ["disqualified:bad-timing"]


def test_refusals_write_nothing_and_say_why(engine):
    with unit_of_work(engine) as session:
        lead = add_scored_lead(session)  # an MQL: its rep has not answered yet
        before = session.scalar(select(func.count()).select_from(LeadEvent))
        with pytest.raises(OutcomeError, match="the rep accepts it before it can be marked won"):
            record_one(session, OutcomeRequest(lead.email, "won", AS_OF), AS_OF, "cli")
        with pytest.raises(UnknownLead, match="no lead has this email address"):
            record_one(session, OutcomeRequest("nobody@example.org", "won", AS_OF), AS_OF, "cli")
        assert session.scalar(select(func.count()).select_from(LeadEvent)) == before
        assert session.scalar(select(func.count()).select_from(SalesOutcome)) == 0
    assert lead_by_email(engine).stage == "mql"


def test_a_source_key_is_recorded_once(engine):
    with unit_of_work(engine) as session:
        add_sal_lead(session)
    request = OutcomeRequest("carla@acme-buyer.com", "sql", AS_OF, source_key="webhook:evt-1")
    for expected in ("recorded", "duplicate"):
        with unit_of_work(engine) as session:
            assert record_outcomes(session, [request], AS_OF, "webhook:crm")[0].status == expected
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(SalesOutcome)) == 1
    assert lead_by_email(engine).stage == "sql"


CSV = """email,outcome,occurred_at,amount,reason,external_id
carla@acme-buyer.com,won,2026-11-05T10:00:00Z,"12,500.00",,opp-1
Carla@Acme-Buyer.com,sql,2026-11-04T10:00:00Z,,,opp-1-sql
dora@acme-buyer.com,lost,2026-11-05,,price,
stranger@example.org,won,2026-11-05,,,opp-2
mona@acme-buyer.com,won,2026-11-05,,,opp-3
dora@acme-buyer.com,promoted,2026-11-05,,,
dora@acme-buyer.com,won,someday,,,
dora@acme-buyer.com,won,2026-11-05,lots,,
"broken,line
"""


def test_an_export_imports_in_order_quarantines_bad_rows_and_a_second_import_adds_nothing(engine, tmp_path):
    with unit_of_work(engine) as session:
        carla = add_sal_lead(session)
        dora = add_scored_lead(session, "dora@acme-buyer.com", stage="sql")
        add_scored_lead(session, "mona@acme-buyer.com")  # an MQL: not accepted, so no outcome yet
    path = tmp_path / "crm.csv"
    path.write_text(CSV)

    counts = import_outcomes(path, engine, AS_OF)

    assert (counts.rows, counts.recorded, counts.duplicates, counts.quarantined) == (9, 3, 0, 6)
    assert lead_by_email(engine).stage == "won"  # sql (its earlier row) then won, though listed after
    assert [m[:2] for m in stage_moves(engine, carla.id)] == [("sal", "sql"), ("sql", "won")]
    assert lead_by_email(engine, "dora@acme-buyer.com").stage == "nurturing"
    with unit_of_work(engine) as session:
        quarantined = [(q.source, q.reason) for q in session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id))]
        assert funnel_report(session)["won_amount"] == 12500.0
        assert {e.actor for e in session.scalars(select(LeadEvent).where(LeadEvent.lead_id == dora.id,
                                                                         LeadEvent.kind == "outcome_recorded"))} == {"import:crm.csv"}
    assert quarantined[0] == ("crm.csv line 5", "no lead has this email address")
    assert quarantined[1][0] == "crm.csv line 6" and "MQL waiting for its rep's answer" in quarantined[1][1]
    assert [q[1].split(" ")[0] for q in quarantined[2:5]] == ["'promoted'", "occurred_at", "amount"]
    assert quarantined[5][0] == "crm.csv line 10"

    again = import_outcomes(path, engine, AS_OF + timedelta(hours=1))
    assert (again.recorded, again.duplicates) == (0, 3)
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(SalesOutcome)) == 3
        assert session.get(Lead, carla.id).stage == "won"


def test_an_export_without_the_outcome_column_is_refused_in_one_sentence(engine, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("email,occurred_at\ncarla@acme-buyer.com,2026-11-05\n")
    with pytest.raises(ImportFailed, match="no 'outcome' column"):
        import_outcomes(path, engine, AS_OF)


def test_a_nul_in_one_rows_email_or_id_quarantines_that_row_and_the_rest_is_recorded(engine, tmp_path):
    """PostgreSQL refuses NUL in text: unmade storable, one such row failed the whole file."""
    with unit_of_work(engine) as session:
        add_sal_lead(session)
    path = tmp_path / "crm.csv"
    path.write_text("email,outcome,occurred_at,external_id\n"
                    "car\x00la@acme-buyer.com,lost,2026-11-05,n1\n"
                    "carla@acme-buyer.com,sql,2026-11-05,n\x002\n")

    counts = import_outcomes(path, engine, AS_OF)

    assert (counts.recorded, counts.quarantined) == (1, 1)
    assert lead_by_email(engine).stage == "sql"
    with unit_of_work(engine) as session:
        assert [q.reason for q in session.scalars(select(QuarantineEntry))] == ["no lead has this email address"]
