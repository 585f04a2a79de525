"""Migration 0003 on a database made at 0002: suppressed leads get their email status from their
suppression and their stage back from history; other leads of a suppressed address get the status."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import text

from leadrelay.db import _alembic_config

SUPPRESSED_AT = datetime(2026, 11, 5, 10, 0)  # naive UTC, as stored


@pytest.fixture
def engine_at_0002(empty_engine):
    """An empty database migrated to revision 0002 only."""
    command.upgrade(_alembic_config(empty_engine), "0002")
    return empty_engine


def insert_lead(connection, lead_id: int, email: str, stage: str) -> None:
    connection.execute(text(
        "INSERT INTO lead (id, email, list_kind, attributes, stage, fit_score, engagement_score, score_total, tier,"
        " score_breakdown, needs_scoring, created_at, updated_at) VALUES (:id, :email, 'internal', '{}', :stage,"
        " 0, 0, 70, 'warm', '[]', false, '2026-11-02 09:00:00', '2026-11-02 09:00:00')"),
        {"id": lead_id, "email": email, "stage": stage})


def insert_stage_change(connection, lead_id: int, at: str, source: str, target: str) -> None:
    connection.execute(text(
        "INSERT INTO lead_event (lead_id, at, kind, actor, to_stage, detail) "
        "VALUES (:lead_id, :at, 'stage_changed', 'test', :to, :detail)"),
        {"lead_id": lead_id, "at": at, "to": target,
         "detail": json.dumps({"from": source, "to": target, "reason": "test"})})


def suppress_at_0002(connection, email: str, reason: str) -> None:
    connection.execute(text("INSERT INTO suppression (email, reason, source, at) VALUES (:e, :r, 'sendgrid', :at)"),
                       {"e": email, "r": reason, "at": SUPPRESSED_AT})


def test_suppressed_leads_get_their_email_status_and_previous_stage(engine_at_0002):
    with engine_at_0002.begin() as connection:
        # An MQL who unsubscribed: new -> mql -> suppressed.
        insert_lead(connection, 1, "mia@example.com", "suppressed")
        insert_stage_change(connection, 1, "2026-11-02 09:00:00", "new", "mql")
        insert_stage_change(connection, 1, "2026-11-05 10:00:00", "mql", "suppressed")
        suppress_at_0002(connection, "mia@example.com", "unsubscribe")
        # A nurtured lead that bounced, whose suppressing event lacks its `from`.
        insert_lead(connection, 2, "ben@example.com", "suppressed")
        insert_stage_change(connection, 2, "2026-11-02 09:00:00", "new", "nurturing")
        connection.execute(text("INSERT INTO lead_event (lead_id, at, kind, actor, to_stage, detail) VALUES "
                                "(2, '2026-11-05 10:00:00', 'stage_changed', 'test', 'suppressed', '{}')"))
        suppress_at_0002(connection, "ben@example.com", "bounce")
        # Suppressed, then accepted by a rep (suppressed -> sal): the stage stays, the status is set.
        insert_lead(connection, 3, "sal@example.com", "sal")
        insert_stage_change(connection, 3, "2026-11-05 10:00:00", "mql", "suppressed")
        insert_stage_change(connection, 3, "2026-11-06 10:00:00", "suppressed", "sal")
        suppress_at_0002(connection, "sal@example.com", "spamreport")
        insert_lead(connection, 4, "ok@example.com", "nurturing")

    command.upgrade(_alembic_config(engine_at_0002), "0003")

    with engine_at_0002.connect() as connection:
        leads = connection.execute(text(
            "SELECT id, stage, email_status, email_status_reason, email_status_at FROM lead ORDER BY id")).all()
        restored = connection.execute(text(
            "SELECT lead_id, to_stage, actor FROM lead_event WHERE actor = 'migration:0003' ORDER BY lead_id")).all()
    statuses = [(i, stage, status, reason) for i, stage, status, reason, _ in leads]
    assert statuses == [(1, "mql", "unsubscribed", "unsubscribe"), (2, "nurturing", "bounced", "bounce"),
                        (3, "sal", "complained", "spamreport"), (4, "nurturing", "ok", None)]
    assert [str(at)[:19] for *_, at in leads[:3]] == ["2026-11-05 10:00:00"] * 3 and leads[3][4] is None
    assert [tuple(row) for row in restored] == [(1, "mql", "migration:0003"), (2, "nurturing", "migration:0003")]


def test_downgrade_puts_leads_with_a_stopped_email_status_back_in_the_suppressed_stage(engine_at_0002):
    with engine_at_0002.begin() as connection:
        insert_lead(connection, 1, "mia@example.com", "suppressed")
        insert_stage_change(connection, 1, "2026-11-05 10:00:00", "mql", "suppressed")
        suppress_at_0002(connection, "mia@example.com", "unsubscribed")
    config = _alembic_config(engine_at_0002)
    command.upgrade(config, "0003")

    command.downgrade(config, "0002")

    with engine_at_0002.connect() as connection:
        assert connection.execute(text("SELECT stage FROM lead")).scalar_one() == "suppressed"
