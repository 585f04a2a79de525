"""Importing web activity (page views, downloads, webinars, demo requests, ...) from a CSV file.

Columns: `email,kind,occurred_at` and optionally `source` (default `web`) and `id`. Each row
becomes an engagement event of the lead with that address, or a quarantine entry with its raw
text and reason (no such lead, an unknown kind, a time that is not ISO 8601, a field too long,
a broken CSV line): nothing is lost. A row's `id` makes it idempotent: importing the same file
again, or a row seen before, stores nothing more (a row without `id` is stored each time it is
imported). The `engagement` flow then rescores the leads.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.clock import parse_as_of
from leadrelay.intake.csv_records import CsvRecord
from leadrelay.engagement.record import lead_ids_by_email, record_new_engagement
from leadrelay.intake.importer import RowCounts, import_rows_in_batches
from leadrelay.nurture.suppression import normalise_email
from leadrelay.models import QuarantineEntry
from leadrelay.text_safety import storable

KINDS = frozenset({"page_view", "pricing_page_view", "content_download", "webinar_attended", "demo_request",
                   "email_open", "email_click"})
REQUIRED_COLUMNS = ("email", "kind", "occurred_at")
DEFAULT_SOURCE = "web"
SOURCE_MAX, ID_MAX = 40, 180  # EngagementEvent.source / external_id (with its "activity:" prefix)


def import_activity(path: Path, engine: Engine, as_of: datetime) -> RowCounts:
    """Import every row of the activity CSV at `path`, one unit of work per batch of rows
    (`recorded`: events stored; `duplicates`: rows stored before, by `id`).

    Raises ImportFailed (one sentence) when the file cannot be read or lacks a required column.
    """
    return import_rows_in_batches(path, engine, REQUIRED_COLUMNS,
                                  lambda session, batch, name, counts: _import_batch(session, batch, name, as_of, counts))


def _import_batch(session: Session, batch: list[CsvRecord], file_name: str, as_of: datetime,
                  counts: RowCounts) -> None:
    parsed = [(record, _parse_row(record)) for record in batch]
    leads = lead_ids_by_email(session, [row["email"] for _, row in parsed if isinstance(row, dict)])
    events, quarantine = [], []
    for record, row in parsed:
        if isinstance(row, dict) and row["email"] not in leads:
            row = "no lead has this email address"
        if isinstance(row, str):
            quarantine.append({"at": as_of, "source": f"{file_name} line {record.line_no}", "reason": row,
                               "raw": record.raw})
            continue
        events.append({"lead_id": leads[row.pop("email")], **row})
    if quarantine:
        session.execute(insert(QuarantineEntry), quarantine)
    stored = record_new_engagement(session, events)
    counts.rows += len(batch)
    counts.quarantined += len(quarantine)
    counts.recorded += stored
    counts.duplicates += len(events) - stored


def _parse_row(record: CsvRecord) -> dict[str, Any] | str:
    """The engagement event a row describes (keyed by email for now), or why it cannot be one."""
    if record.values is None:
        return record.error or "malformed line"
    # Storable: an email, source or id with a NUL would otherwise fail the batch on PostgreSQL.
    values = {key: storable((value or "").strip()) for key, value in record.values.items()}
    email = normalise_email(values.get("email", ""))
    if not email:
        return "email is missing"
    kind = values.get("kind", "").lower()
    if kind not in KINDS:
        return f"kind '{kind[:40]}' is not one of: {', '.join(sorted(KINDS))}"
    try:
        occurred_at = parse_as_of(values.get("occurred_at") or "")
    except ValueError:
        return "occurred_at is not an ISO 8601 date or time (for example 2026-11-23T09:00:00Z)"
    source = values.get("source") or DEFAULT_SOURCE
    if len(source) > SOURCE_MAX:
        return f"source is longer than {SOURCE_MAX} characters"
    row_id = values.get("id") or ""
    if len(row_id) > ID_MAX:
        return f"id is longer than {ID_MAX} characters"
    # Namespaced, so an activity id can never collide with a SendGrid sg_event_id.
    return {"email": email, "kind": kind, "occurred_at": occurred_at, "source": source,
            "external_id": f"activity:{row_id}" if row_id else None, "detail": {}}


