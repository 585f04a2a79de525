"""`leadrelay import FILE.csv --outcomes`: outcomes in bulk, as a CRM export gives them.

Columns: `email,outcome,occurred_at` and optionally `amount`, `reason`, `external_id`. Each row
is recorded through `leadrelay.outcomes.record` or kept in quarantine with its raw text and
reason (no such lead, an unknown outcome, a move the lifecycle does not allow, a bad time or
amount, a broken CSV line): nothing is lost. Importing the same file again records nothing more:
a row is known by its `external_id`, or else by its email, outcome and occurred_at.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.clock import parse_as_of
from leadrelay.intake.csv_records import CsvRecord
from leadrelay.intake.importer import RowCounts, import_rows_in_batches
from leadrelay.models import QuarantineEntry
from leadrelay.nurture.suppression import normalise_email
from leadrelay.outcomes.record import OutcomeRequest, record_outcomes
from leadrelay.outcomes.rules import OutcomeError, clean_reason, parse_amount, parse_outcome
from leadrelay.text_safety import storable_fields

REQUIRED_COLUMNS = ("email", "outcome", "occurred_at")
EXTERNAL_ID_MAX = 200


def import_outcomes(path: Path, engine: Engine, as_of: datetime) -> RowCounts:
    """Import every row of the outcomes CSV at `path`, one unit of work per batch of rows.

    Raises ImportFailed (one sentence) when the file cannot be read or lacks a required column.
    """
    return import_rows_in_batches(path, engine, REQUIRED_COLUMNS,
                                  lambda session, batch, name, counts: _import_batch(session, batch, name, as_of, counts))


def _import_batch(session: Session, batch: list[CsvRecord], file_name: str, as_of: datetime,
                  counts: RowCounts) -> None:
    parsed = [(record, parse_row(record)) for record in batch]
    requests = [(record, row) for record, row in parsed if isinstance(row, OutcomeRequest)]
    results = record_outcomes(session, [row for _, row in requests], as_of, actor=f"import:{file_name}"[:300])
    problems = [(record, row) for record, row in parsed if isinstance(row, str)]
    for (record, _), result in zip(requests, results):
        if result.status == "recorded":
            counts.recorded += 1
        elif result.status == "duplicate":
            counts.duplicates += 1
        else:
            problems.append((record, result.message.rstrip(".")))
    if problems:
        session.execute(insert(QuarantineEntry), [
            {"at": as_of, "source": f"{file_name} line {record.line_no}"[:300], "reason": reason, "raw": record.raw}
            for record, reason in sorted(problems, key=lambda item: item[0].line_no)])
    counts.rows += len(batch)
    counts.quarantined += len(problems)


def parse_row(record: CsvRecord) -> OutcomeRequest | str:
    """The outcome a row describes, or why it cannot be one (a quarantine reason)."""
    if record.values is None:
        return record.error or "malformed line"
    # storable: a NUL in one row's email or id made PostgreSQL refuse the batch's lookup
    values = storable_fields({key: (value or "").strip() for key, value in record.values.items()})
    email = normalise_email(values.get("email", ""))
    if not email:
        return "email is missing"
    try:
        outcome = parse_outcome(values.get("outcome"))
        amount = parse_amount(values.get("amount"))
        reason = clean_reason(values.get("reason"))
    except OutcomeError as problem:
        return str(problem).rstrip(".")
    try:
        occurred_at = parse_as_of(values.get("occurred_at") or "")
    except ValueError:
        return "occurred_at is not an ISO 8601 date or time (for example 2026-11-23T09:00:00Z)"
    external_id = values.get("external_id") or ""
    if len(external_id) > EXTERNAL_ID_MAX:
        return f"external_id is longer than {EXTERNAL_ID_MAX} characters"
    return OutcomeRequest(email=email, outcome=outcome, occurred_at=occurred_at, amount_cents=amount, reason=reason,
                          source_key=row_key(email, outcome, occurred_at, external_id))


def row_key(email: str, outcome: str, occurred_at: datetime, external_id: str = "") -> str:
    """A row's idempotency key: its external_id, else a digest of email, outcome and occurred_at."""
    if external_id:
        return f"import:{external_id}"
    natural = f"{email}\x00{outcome}\x00{occurred_at.isoformat()}".encode("utf-8")
    return "import:sha256:" + hashlib.sha256(natural).hexdigest()
