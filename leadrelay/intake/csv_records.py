"""Reading a CSV file record by record, so that one broken line never swallows the rest."""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from leadrelay.text_safety import storable

# A quoted field may span lines; a quote left open longer than this is a broken line.
MAX_LINES_PER_RECORD = 20
# What spreadsheets save "CSV" with: comma first (the standard), then Excel's European `;`, tab, pipe.
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}
# Byte order marks, longest first: UTF-32's little-endian BOM begins with UTF-16's.
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_EXCEL_SEP_LINE = re.compile(r"sep=(.)\s*", re.IGNORECASE)  # Excel's "sep=;" first line
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# CSV ends lines at \r\n, \r or \n only; str.splitlines also breaks at \x0b, \x0c, \x1c-\x1e, \x85,
# U+2028 and U+2029, which a CSV writer leaves unquoted inside a cell.
_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@dataclass(frozen=True)
class CsvRecord:
    line_no: int  # first physical line of the record (the header is line 1)
    raw: str  # the record's text as it stood in the file
    values: dict[str, str] | None  # column -> value, or None when the line is malformed
    error: str | None = None


class CsvHeaderError(ValueError):
    """The file cannot be read as a CSV of leads at all (no header, no email column)."""


def decode(data: bytes) -> str:
    """The file's text: by its byte order mark (UTF-8, UTF-16 or UTF-32), else UTF-16/32 told
    by where its zero bytes fall, else UTF-8, falling back to Windows-1252 which accepts any byte.
    Never raises: a byte that is not text in the encoding found becomes U+FFFD."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = _wide_encoding(data[:4096])
    if wide:
        return data.decode(wide, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 (and byte order) for a sample without BOM whose text is mostly ASCII, as
    CSV headers and addresses are: then every 2nd (or 3 of every 4) bytes are zero. A stray NUL
    in a UTF-8 file is nowhere near that."""
    usable = len(sample) // 4 * 4
    if usable < 8:
        return None
    quarter = usable // 4
    zeros = [sample[offset:usable:4].count(0) for offset in range(4)]
    mostly, hardly = (lambda n: n >= 0.9 * quarter), (lambda n: n <= 0.1 * quarter)
    if hardly(zeros[0]) and all(mostly(n) for n in zeros[1:]):
        return "utf-32-le"
    if all(mostly(n) for n in zeros[:3]) and hardly(zeros[3]):
        return "utf-32-be"
    even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
    if odd >= 0.6 * 2 * quarter and hardly(even / 2):
        return "utf-16-le"
    if even >= 0.6 * 2 * quarter and hardly(odd / 2):
        return "utf-16-be"
    return None


def _parse(chunk: str, delimiter: str = ",") -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(chunk), delimiter=delimiter, strict=True))
    except csv.Error:
        return None


def header_name(cell: str) -> str:
    """A header cell as a column name: trimmed, lower-case, on one line, storable."""
    return storable(" ".join(_CONTROL.sub(" ", cell).split()).lower())


def csv_lines(text: str) -> list[str]:
    """The text's physical lines with their line ends, broken where a CSV reader breaks them."""
    return _CSV_LINE.findall(text)


def read_records(text: str) -> tuple[list[str], Iterator[CsvRecord]]:
    """The header (lower-cased, trimmed) and an iterator over the records after it.

    Cells may be separated by commas, semicolons, tabs or pipes: the first of these that gives the
    header an 'email' column is used (or the one an Excel `sep=` first line names)."""
    lines = csv_lines(text)
    first = 0
    delimiters = DELIMITERS
    sep_line = _EXCEL_SEP_LINE.fullmatch(lines[0]) if lines else None
    if sep_line:
        first, delimiters = 1, (sep_line.group(1),)
    if first >= len(lines) or not lines[first].strip():
        raise CsvHeaderError("the file has no header line")
    header: list[str] | None = None
    for delimiter in delimiters:
        header_rows = _parse(lines[first], delimiter)
        if header_rows and "email" in (found := [header_name(cell) for cell in header_rows[0]]):
            header = found
            break
    if header is None:
        raise CsvHeaderError("the header has no 'email' column" + _delimiter_hint(lines[first]))
    if len(set(header)) != len(header):
        raise CsvHeaderError("the header names a column twice")
    return header, _records(lines, header, first + 1, delimiter)


def _delimiter_hint(line: str) -> str:
    """Which separator the header line seems to use, when it is not a comma (for the error)."""
    counts = {delimiter: line.count(delimiter) for delimiter in DELIMITERS}
    likely = max(counts, key=counts.get)
    if counts[likely] == 0:
        return " (the header line has a single column)"
    return f" (its cells seem to be separated by {DELIMITER_NAMES[likely]})"


def _records(lines: list[str], header: list[str], start: int, delimiter: str) -> Iterator[CsvRecord]:
    index = start
    while index < len(lines):
        first = lines[index]
        if not first.strip():
            index += 1
            continue
        record, used = _record_at(lines, index, header, delimiter)
        yield record
        index += used


def _record_at(lines: list[str], start: int, header: list[str], delimiter: str) -> tuple[CsvRecord, int]:
    """The record beginning at line `start`, and how many physical lines it took."""
    line_no = start + 1
    for used in range(1, min(MAX_LINES_PER_RECORD, len(lines) - start) + 1):
        chunk = "".join(lines[start : start + used])
        rows = _parse(chunk, delimiter)
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
