"""Any bytes a CSV file can carry, on SQLite and PostgreSQL: every row is a lead, a merge or a
quarantine entry, never a failed batch (PostgreSQL refuses NUL in text and JSON)."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadrelay.db import unit_of_work
from leadrelay.engagement.activity_import import import_activity
from leadrelay.intake.importer import import_csv
from leadrelay.models import EngagementEvent, Lead, QuarantineEntry
from tests.factories import T0, add_nurtured_lead

ROWS = 2500
NUL_ROW = 1200  # 0-based data row; it is line 1202 of the file


def big_file(tmp_path, header="email,first_name,company,notes", nul_row=True, name="leads.csv"):
    rows = [header]
    for i in range(ROWS):
        if nul_row and i == NUL_ROW:
            rows.append("bad\x00@example,Nul\x00Name,Acme,hello\x00world")  # rejected: the email
        else:
            rows.append(f"p{i}@example.com,P{i},Acme,note {i}")
    path = tmp_path / name
    path.write_bytes(("\n".join(rows) + "\n").encode())
    return path


def quarantine(engine) -> list[QuarantineEntry]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id)))


def lead_count(engine) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(Lead))


def test_a_rejected_row_with_nul_bytes_is_quarantined_and_every_other_row_imported(engine, tmp_path):
    path = big_file(tmp_path)

    counts = import_csv(path, T0, engine=engine)

    assert (counts.created, counts.merged, counts.quarantined) == (ROWS - 1, 0, 1)
    assert lead_count(engine) == ROWS - 1
    (entry,) = quarantine(engine)
    assert entry.source == f"leads.csv line {NUL_ROW + 2}"
    assert entry.raw == "bad\u2400@example,Nul\u2400Name,Acme,hello\u2400world"
    assert "U+0000" in entry.reason and "\x00" not in entry.reason

    again = import_csv(path, T0 + timedelta(hours=1), engine=engine)  # the file can be imported again
    assert (again.created, again.merged, again.quarantined) == (0, ROWS - 1, 1)


def test_a_nul_in_a_header_cell_keeps_every_row(engine, tmp_path):
    path = big_file(tmp_path, header="email,first_name,company,no\x00tes", nul_row=False)

    counts = import_csv(path, T0, engine=engine)

    assert (counts.created, counts.merged, counts.quarantined) == (ROWS, 0, 0)
    with unit_of_work(engine) as session:
        lead = session.scalars(select(Lead).where(Lead.email == "p7@example.com")).one()
    assert lead.attributes == {"no tes": "note 7"}


def test_nul_bytes_in_the_fields_of_an_accepted_row_are_cleaned_not_fatal(engine, tmp_path):
    path = tmp_path / "fields.csv"
    path.write_bytes(b'email,first_name,need,colour\nann@example.com,A\x00nn,"line\x00 one\nline two",bl\x00ue\n')

    counts = import_csv(path, T0, engine=engine)

    assert (counts.created, counts.quarantined) == (1, 0)
    with unit_of_work(engine) as session:
        lead = session.scalars(select(Lead)).one()
    assert (lead.first_name, lead.need, lead.attributes) == ("A nn", "line one\nline two", {"colour": "bl ue"})


def test_a_file_name_that_is_not_utf8_is_stored_with_a_stand_in(engine, tmp_path):
    path = tmp_path / os.fsdecode(b"leads-\xff.csv")  # Python keeps the byte as a lone surrogate
    path.write_bytes(b"email\nann@example.com\nnot-an-email\n")

    counts = import_csv(path, T0, engine=engine)

    assert (counts.created, counts.quarantined) == (1, 1)
    assert quarantine(engine)[0].source == "leads-\ufffd.csv line 3"


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", ","), ("utf-16-le", ","), ("utf-32", ","),
                                                 ("utf-8-sig", ";"), ("utf-8", "\t"), ("utf-16", ";")])
def test_utf16_utf32_and_semicolon_or_tab_files_import(engine, tmp_path, encoding, delimiter):
    text = "email,first_name,company\r\nzoe@example.com,Zoë,Acme\r\nbad,No,Email\r\nli@example.com,李,Beta\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(text.replace(",", delimiter).encode(encoding))

    counts = import_csv(path, T0, engine=engine)

    assert (counts.created, counts.merged, counts.quarantined) == (2, 0, 1)
    with unit_of_work(engine) as session:
        assert dict(session.execute(select(Lead.email, Lead.first_name)).all()) == {"zoe@example.com": "Zoë",
                                                                              "li@example.com": "李"}
    assert quarantine(engine)[0].raw == "bad" + delimiter + "No" + delimiter + "Email"


def test_activity_rows_with_nul_bytes_are_stored_or_quarantined(engine, tmp_path):
    with unit_of_work(engine) as session:
        add_nurtured_lead(session)
    path = tmp_path / "activity.csv"
    path.write_bytes(b"email,kind,occurred_at,source,id\n"
                     b"nina@acme-buyer.com,page_view,2026-11-03T10:00:00Z,we\x00b,pv\x001\n"
                     b"ni\x00na@acme-buyer.com,page_view,2026-11-03T10:00:00Z,,pv-2\n"
                     b"nina@acme-buyer.com,page\x00view,2026-11-03T10:00:00Z,,pv-3\n")

    counts = import_activity(path, engine, T0 + timedelta(days=2))

    assert (counts.rows, counts.recorded, counts.quarantined) == (3, 1, 2)
    with unit_of_work(engine) as session:
        event = session.scalars(select(EngagementEvent)).one()
    assert (event.source, event.external_id) == ("we\u2400b", "activity:pv\u24001")
    assert [q.reason for q in quarantine(engine)][0] == "no lead has this email address"
