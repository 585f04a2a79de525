"""Any row a CSV file can hold becomes a lead, a merge or a quarantine entry, never an exception,
on SQLite and PostgreSQL: generated cells are any text and any bytes (NUL, bytes that are not
UTF-8 such as encoded lone surrogates, quotes, line breaks, BOMs, huge fields), with unknown
columns, missing or broken emails, and rows with too few or too many cells."""
from __future__ import annotations

import codecs
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.intake.importer import import_csv, open_csv
from leadrelay.models import Lead, QuarantineEntry
from tests.factories import T0

KNOWN_COLUMNS = ["first_name", "last_name", "company", "title", "country", "phone", "notes"]
_file_numbers = itertools.count()

# Bytes no UTF-8 decoder accepts: an encoded lone surrogate, a stray continuation, overlongs.
BAD_BYTES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc0\x80", b"\x80", b"\xf4\x90\x80\x80"]
TRICKY = [b"", b'"', b'""', b",", b"\n", b"\r\n", b"\r", b"\x00", codecs.BOM_UTF8, b"\xe2\x80\xa8",
          b"\x1c", b"\x85", b"=cmd|' /C calc'!A0", b"\xef\xbf\xbd", b";", b"\t", b"|"]

cells = st.one_of(
    st.text(max_size=40).map(lambda t: t.encode("utf-8")),
    st.binary(max_size=40),
    st.lists(st.sampled_from(BAD_BYTES + TRICKY), max_size=6).map(b"".join),
    st.sampled_from([b"x" * 100_000, "é".encode() * 40_000]),  # huge fields
)
emails = st.one_of(
    st.integers(0, 50).map(lambda n: f"p{n}@example.com".encode()),  # valid; a repeat merges
    st.sampled_from([b"", b" ", b"not-an-email", b"a\x00b@example.com", b"\xed\xa0\x80@example.com",
                     b"P7@Example.COM", b"x@\xff.com", b'"q"@example.com']),
    cells,
)


def quote(cell: bytes, how: str) -> bytes:
    """The cell as a writer would put it (quoted when it must be), or as a careless one might."""
    if how == "raw":
        return cell
    if how == "always" or any(c in cell for c in (b",", b'"', b"\n", b"\r")):
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


@st.composite
def csv_files(draw) -> tuple[bytes, range | None]:
    """CSV bytes and how many records a CSV reader may find in them (None when the file is
    written carelessly, unquoted, and the count is not defined)."""
    extra = draw(st.lists(st.sampled_from(KNOWN_COLUMNS + ["favourite_colour", "x-unknown", "Ünïcode col"]),
                          unique=True, max_size=4))
    header = ["email"] + extra
    rows, ragged = [], False
    for _ in range(draw(st.integers(1, 8))):
        row = [draw(emails)] + [draw(cells) for _ in extra]
        if draw(st.integers(0, 9)) == 0:  # now and then a row with too few or too many cells
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(cells, max_size=2))
            ragged = ragged or len(row) != len(header)
        rows.append(row)
    how = draw(st.sampled_from(["minimal", "minimal", "always", "raw"]))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = [b",".join(name.encode() for name in header)]
    lines += [b",".join(quote(cell, how) for cell in row) for row in rows]
    data = newline.join(lines) + draw(st.sampled_from([b"", newline]))
    # A row of one cell holding only spaces (or nothing) is a blank line, which readers skip.
    single_cells = sum(1 for row in rows if len(row) <= 1)
    # A ragged row spanning lines is read line by line on purpose (so that a stray quote cannot
    # swallow good rows after it): its pieces are quarantined apiece and the count is open.
    expected = None if how == "raw" or ragged else range(len(rows) - single_cells, len(rows) + 1)
    return draw(st.sampled_from([b"", codecs.BOM_UTF8])) + data, expected


def table_counts(engine) -> tuple[int, int]:
    with unit_of_work(engine) as session:
        return (session.scalar(select(func.count()).select_from(Lead)),
                session.scalar(select(func.count()).select_from(QuarantineEntry)))


# The engine fixture (a fresh SQLite file or PostgreSQL schema) is shared by a test's examples on
# purpose: each example's leads and quarantine entries are counted as differences.
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                  HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(generated=csv_files())
def test_any_csv_row_becomes_a_lead_or_a_quarantine_entry(engine, tmp_path, generated):
    data, rows_written = generated
    number = next(_file_numbers)
    path = tmp_path / f"leads-{number}.csv"
    # Each example its own domain, so its valid rows are new leads (repeats within it still merge).
    path.write_bytes(data.replace(b"@example.com", f"@ex{number}.example.com".encode()))
    records = sum(1 for _ in open_csv(path)[2])
    if rows_written is not None:
        assert records in rows_written, "the reader split or joined rows a CSV writer wrote"
    leads_before, quarantined_before = table_counts(engine)

    counts = import_csv(path, T0, engine=engine)

    assert counts.created + counts.merged + counts.quarantined == records
    # What the examples exercised (shown by pytest --hypothesis-show-statistics).
    for name in ("created", "merged", "quarantined"):
        event(f"{name} some" if getattr(counts, name) else f"{name} none")
    leads_after, quarantined_after = table_counts(engine)
    assert leads_after - leads_before == counts.created
    assert quarantined_after - quarantined_before == counts.quarantined
