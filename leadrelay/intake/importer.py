"""`leadrelay import`: a CSV file into leads, in batches, with bad rows quarantined."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session

from leadrelay.intake.csv_records import CsvHeaderError, CsvRecord, decode, in_batches, read_records
from leadrelay.db import unit_of_work
from leadrelay.intake.normalise import Rejected, normalise_lead
from leadrelay.intake.store import IntakeCounts, IntakeItem, store_intake
from leadrelay.text_safety import storable

IMPORT_BATCH = 1000  # rows per transaction for the activity and outcome imports
# Rows per transaction for leads: big enough for COPY to pay off (on PostgreSQL; executemany on
# SQLite), small enough that memory stays flat and a failed batch costs little.
LEAD_BATCH = 10_000


class ImportFailed(Exception):
    """The file as a whole could not be imported; the message is one sentence."""


def open_csv(path: Path) -> tuple[str, list[str], Iterator[CsvRecord]]:
    """The file's text, header and records; ImportFailed (one sentence) when it can't be read as CSV."""
    try:
        text = decode(path.read_bytes())
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}.") from None
    try:
        header, records = read_records(text)
    except CsvHeaderError as exc:
        raise ImportFailed(f"{path} cannot be imported: {exc}.") from None
    return text, header, records


@dataclass
class RowCounts:
    """What an activity or outcome import did: rows read, recorded, recorded before (skipped), quarantined."""

    rows: int = 0
    recorded: int = 0
    duplicates: int = 0
    quarantined: int = 0


def import_rows_in_batches(path: Path, engine: Engine, required: tuple[str, ...],
                           import_batch: Callable[[Session, list[CsvRecord], str, RowCounts], None]) -> RowCounts:
    """Read the CSV at `path` and hand `import_batch(session, records, file name, counts)` its
    records, IMPORT_BATCH at a time, one unit of work each. ImportFailed (one sentence) when the
    file cannot be read or its header lacks a `required` column."""
    _, header, records = open_csv(path)
    missing = [column for column in required if column not in header]
    if missing:
        raise ImportFailed(f"{path} cannot be imported: the header has no '{missing[0]}' column.")
    counts = RowCounts()
    for batch in in_batches(records, IMPORT_BATCH):
        with unit_of_work(engine) as session:
            import_batch(session, batch, storable(path.name), counts)
    return counts


def intake_item(record: CsvRecord, file_name: str, default_source: str) -> IntakeItem:
    origin = f"{file_name} line {record.line_no}"
    if record.values is None:
        return IntakeItem(Rejected(record.error or "malformed line"), record.raw, origin)
    return IntakeItem(normalise_lead(record.values, default_source), record.raw, origin)


def import_csv(path: Path, as_of: datetime, source: str | None = None, list_kind: str = "internal",
               engine: Engine | None = None, on_progress: Callable[[int, int], None] | None = None) -> IntakeCounts:
    """Import every record of the file; each batch commits on its own, so one bad row stops nothing.

    `on_progress(done, total)` is called after each batch with counts of physical lines.
    """
    text, _, records = open_csv(path)
    total_lines = max(text.count("\n"), 1)
    # A file name can hold bytes that are not UTF-8 (Python keeps them as surrogates).
    file_name = storable(path.name)
    default_source = storable(source or path.stem)
    counts = IntakeCounts()

    def store(items: list[IntakeItem]) -> IntakeCounts:
        with unit_of_work(engine) as session:
            return store_intake(session, items, as_of, actor=f"import:{file_name}", list_kind=list_kind)

    def finish(write: Future, last_line: int) -> None:
        counts.add(write.result())  # a failed batch raises here, before the next one is written
        if on_progress:
            on_progress(last_line, total_lines)

    # One writer thread: batch n is written while batch n+1 is parsed and checked (the database's
    # time no longer waits for Python's), and batches still commit one after the other, in order.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        previous: tuple[Future, int] | None = None
        for batch in in_batches(records, LEAD_BATCH):
            items = [intake_item(record, file_name, default_source) for record in batch]
            if previous:
                finish(*previous)
            previous = (writer.submit(store, items), batch[-1].line_no)
        if previous:
            finish(*previous)
    return counts
