"""Reading a CSV file record by record, so that one broken line never swallows the rest."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterable, Iterator

# A quoted field may span lines; a quote left open longer than this is a broken line.
MAX_LINES_PER_RECORD = 20


@dataclass(frozen=True)
class CsvRecord:
    line_no: int  # first physical line of the record (the header is line 1)
    raw: str  # the record's text as it stood in the file
    values: dict[str, str] | None  # column -> value, or None when the line is malformed
    error: str | None = None


class CsvHeaderError(ValueError):
    """The file cannot be read as a CSV of leads at all (no header, no email column)."""


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to Windows-1252 which accepts any byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _parse(chunk: str) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(chunk), strict=True))
    except csv.Error:
        return None


def read_records(text: str) -> tuple[list[str], Iterator[CsvRecord]]:
    """The header (lower-cased, trimmed) and an iterator over the records after it."""
    lines = text.splitlines(keepends=True)
    header_rows = _parse(lines[0]) if lines else None
    if not header_rows or not any(cell.strip() for cell in header_rows[0]):
        raise CsvHeaderError("the file has no header line")
    header = [cell.strip().lower() for cell in header_rows[0]]
    if "email" not in header:
        raise CsvHeaderError("the header has no 'email' column")
    if len(set(header)) != len(header):
        raise CsvHeaderError("the header names a column twice")
    return header, _records(lines, header)


def _records(lines: list[str], header: list[str]) -> Iterator[CsvRecord]:
    index = 1
    while index < len(lines):
        first = lines[index]
        if not first.strip():
            index += 1
            continue
        record, used = _record_at(lines, index, header)
        yield record
        index += used


def _record_at(lines: list[str], start: int, header: list[str]) -> tuple[CsvRecord, int]:
    """The record beginning at line `start`, and how many physical lines it took."""
    line_no = start + 1
    for used in range(1, min(MAX_LINES_PER_RECORD, len(lines) - start) + 1):
        chunk = "".join(lines[start : start + used])
        rows = _parse(chunk)
        if rows is None:
            continue  # an open quote: the record may go on in the next line
        if len(rows) != 1:
            break
        row = rows[0]
        if len(row) != len(header):
            if used == 1:
                raw = chunk.rstrip("\r\n")
                return CsvRecord(line_no, raw, None, f"line {line_no} has {len(row)} fields; the header has {len(header)}"), 1
            break
        return CsvRecord(line_no, chunk.rstrip("\r\n"), dict(zip(header, row))), used
    raw = lines[start].rstrip("\r\n")
    return CsvRecord(line_no, raw, None, f"line {line_no} is malformed CSV (a quote is not closed)"), 1


def in_batches(records: Iterable[CsvRecord], size: int) -> Iterator[list[CsvRecord]]:
    """The records in lists of `size` (the last may be shorter)."""
    batch: list[CsvRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
