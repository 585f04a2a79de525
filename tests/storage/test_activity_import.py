"""Importing web activity from CSV: events for known leads, quarantine for the rest, ids dedupe."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrelay.engagement.activity_import import import_activity
from leadrelay.db import unit_of_work
from leadrelay.intake.importer import ImportFailed
from leadrelay.models import EngagementEvent, Lead, QuarantineEntry
from tests.factories import T0, add_nurtured_lead

AS_OF = T0 + timedelta(days=2)
CSV = """email,kind,occurred_at,source,id
Nina@Acme-Buyer.com,pricing_page_view,2026-11-03T10:00:00Z,,pv-1
nina@acme-buyer.com,webinar_attended,2026-11-03 12:00,webinar-tool,wb-1
nina@acme-buyer.com,pricing_page_view,2026-11-03T10:00:00Z,,pv-1
stranger@example.org,page_view,2026-11-03T10:00:00Z,,pv-2
nina@acme-buyer.com,tweet,2026-11-03T10:00:00Z,,x-1
nina@acme-buyer.com,page_view,yesterday-ish,,x-2
"broken,line
nina@acme-buyer.com,demo_request,2026-11-03T11:00:00Z,,
"""


def test_rows_become_events_or_quarantine_and_a_second_import_adds_nothing(engine, tmp_path):
    with unit_of_work(engine) as session:
        lead, _ = add_nurtured_lead(session)
    path = tmp_path / "activity.csv"
    path.write_text(CSV)

    counts = import_activity(path, engine, AS_OF)

    assert (counts.rows, counts.recorded, counts.duplicates, counts.quarantined) == (8, 3, 1, 4)
    with unit_of_work(engine) as session:
        events = session.scalars(select(EngagementEvent).order_by(EngagementEvent.id)).all()
        assert [(e.kind, e.source, e.external_id) for e in events] == [
            ("pricing_page_view", "web", "activity:pv-1"), ("webinar_attended", "webinar-tool", "activity:wb-1"),
            ("demo_request", "web", None)]
        assert events[1].occurred_at == T0.replace(day=3, hour=12)  # a time without zone is UTC
        assert session.get(Lead, lead.id).needs_scoring is True
        reasons = [q.reason for q in session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id))]
    assert reasons[0] == "no lead has this email address"
    assert reasons[1].startswith("kind 'tweet' is not one of")
    assert reasons[2].startswith("occurred_at is not an ISO 8601")
    assert "malformed" in reasons[3] or "fields" in reasons[3]

    again = import_activity(path, engine, AS_OF)
    assert (again.recorded, again.duplicates) == (1, 3)  # only the row without an id is stored again


def test_a_file_without_the_required_columns_is_refused_in_one_sentence(engine, tmp_path):
    path = tmp_path / "activity.csv"
    path.write_text("email,kind\nnina@acme-buyer.com,page_view\n")
    with pytest.raises(ImportFailed, match="no 'occurred_at' column"):
        import_activity(path, engine, AS_OF)
