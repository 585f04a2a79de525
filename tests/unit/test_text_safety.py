"""Any bytes a file, form or webhook carries: storable text, the file's encoding, its delimiter."""
from __future__ import annotations

import codecs

import pytest

from leadrelay.intake.csv_records import CsvHeaderError, decode, read_records
from leadrelay.intake.normalise import LeadInput, Rejected, normalise_lead
from leadrelay.text_safety import is_storable, storable, storable_fields

CSV = "email,first_name,company\r\nzoe@example.com,Zoë,Acme\r\nli@example.com,李,Beta\r\n"


@pytest.mark.parametrize("text, stored", [
    ("plain", "plain"),
    ("a\x00b", "a\u2400b"),
    ("caf\u00e9\x00", "caf\u00e9\u2400"),
    ("lone \ud800 and \udfff", "lone \ufffd and \ufffd"),
    ("\U0001f600 is a pair", "\U0001f600 is a pair"),
])
def test_storable_shows_nul_and_lone_surrogates_and_keeps_everything_else(text, stored):
    assert storable(text) == stored
    assert is_storable(stored)
    stored.encode("utf-8")  # a lone surrogate would raise here, as every database driver does


def test_storable_fields_cleans_keys_and_text_values_only():
    assert storable_fields({"em\x00ail": "a\x00@b.c", "n": 3, "tags": ["x\x00"]}) == {
        "em\u2400ail": "a\u2400@b.c", "n": 3, "tags": ["x\x00"]}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "utf-32-le", "utf-32-be"])
def test_files_in_any_unicode_encoding_with_or_without_bom_decode_to_the_same_text(encoding):
    assert decode(CSV.encode(encoding)) == CSV


def test_a_stray_nul_in_a_utf8_file_is_not_taken_for_utf16():
    text = CSV + "bad\x00@x,Nul\x00Name,Acme\r\n"
    assert decode(text.encode("utf-8")) == text


def test_bytes_that_are_not_utf8_fall_back_to_windows_1252():
    assert decode("email\r\nzoë@example.com\r\n".encode("cp1252")) == "email\r\nzoë@example.com\r\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_semicolon_tab_and_pipe_files_are_read_like_comma_files(delimiter):
    header, records = read_records(CSV.replace(",", delimiter))
    assert header == ["email", "first_name", "company"]
    assert [record.values for record in records] == [
        {"email": "zoe@example.com", "first_name": "Zoë", "company": "Acme"},
        {"email": "li@example.com", "first_name": "李", "company": "Beta"}]


def test_excels_sep_line_names_the_delimiter_and_line_numbers_stay_physical():
    header, records = read_records("sep=;\nemail;note\na@b.com;x,y\n")
    (record,) = list(records)
    assert header == ["email", "note"]
    assert record.values == {"email": "a@b.com", "note": "x,y"} and record.line_no == 3


def test_a_header_without_email_names_the_delimiter_it_seems_to_use():
    with pytest.raises(CsvHeaderError, match=r"no 'email' column \(its cells seem to be separated by semicolons\)"):
        read_records("mail;name\nx@y.com;X\n")
    with pytest.raises(CsvHeaderError, match=r"no 'email' column \(its cells seem to be separated by tabs\)"):
        read_records("mail\tname\nx@y.com\tX\n")


def test_control_characters_in_header_cells_become_spaces():
    header, records = read_records("email,no\x00tes,\ud800x\na@b.com,1,2\n")
    assert header == ["email", "no tes", "\ufffdx"]
    assert all(is_storable(name) for name in header)


def test_a_nul_in_an_email_rejects_the_row_and_in_other_fields_is_cleaned():
    rejected = normalise_lead({"email": "bad\x00@example.com"})
    assert isinstance(rejected, Rejected) and "U+0000" in rejected.reason
    accepted = normalise_lead({"email": "a@b.com", "first_name": "Nul\x00Name", "need": "x\x00y",
                               "shoe\x00size": "4\x002", "favourite": "\ud800"})
    assert isinstance(accepted, LeadInput)
    assert accepted.fields == {"first_name": "Nul Name", "need": "xy"}
    assert accepted.attributes == {"shoe\u2400size": "4 2", "favourite": "\ufffd"}
    assert "\x00" not in repr(accepted)


def test_utf16_bytes_with_bom_are_what_codecs_says():
    # The BOM table must try UTF-32's little-endian mark before UTF-16's, which it begins with.
    assert codecs.BOM_UTF32_LE.startswith(codecs.BOM_UTF16_LE)
    assert decode(codecs.BOM_UTF32_LE + "email\n".encode("utf-32-le")) == "email\n"
