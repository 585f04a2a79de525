import pytest

from leadrelay.intake.csv_records import CsvHeaderError, read_records
from leadrelay.intake.normalise import LeadInput, Rejected, normalise_lead


def test_email_is_trimmed_and_lower_cased_and_unknown_columns_kept():
    result = normalise_lead({"email": "  Carla@ACME.com ", "first_name": " Carla ", "shoe_size": "42"})
    assert result == LeadInput("carla@acme.com", {"first_name": "Carla"}, {"shoe_size": "42"})


@pytest.mark.parametrize("row, reason", [
    ({"email": ""}, "the email is missing"),
    ({"first_name": "x"}, "the email is missing"),
    ({"email": "no-at-sign"}, "the email is not valid"),
    ({"email": "a@b.com", "need": "x" * 20000}, "the field 'need' is 20000 characters long; the limit is 2000"),
    ({"email": "a@b.com", "shoe_size": "y" * 1001}, "the field 'shoe_size' is 1001 characters long; the limit is 1000"),
    ({"email": "a@b.com", "company_size": "lots"}, "the field 'company_size' should be a whole number, not 'lots'"),
    ({"email": "a@b.com", "consent": "maybe"}, "the field 'consent' should be yes or no"),
])
def test_rows_that_cannot_be_leads_get_a_reason(row, reason):
    result = normalise_lead(row)
    assert isinstance(result, Rejected)
    assert result.reason.startswith(reason)


@pytest.mark.parametrize("text, number", [("1200", 1200), ("1,200", 1200), ("$50k", 50000), ("2.5M", 2500000),
                                          ("51-200", 51), (" 0 ", 0)])
def test_numbers_in_common_spellings(text, number):
    assert normalise_lead({"email": "a@b.com", "budget_usd": text}).fields["budget_usd"] == number


def test_template_and_html_are_kept_literally_and_line_breaks_never_reach_single_line_fields():
    result = normalise_lead({"email": "a@b.com", "first_name": "{{ 7*7 }}", "last_name": "Bob\r\nBcc: x@y.z",
                             "company": "<script>alert(1)</script>", "need": "line one\r\nline two"})
    assert result.fields["first_name"] == "{{ 7*7 }}"
    assert result.fields["company"] == "<script>alert(1)</script>"
    assert result.fields["last_name"] == "Bob Bcc: x@y.z"
    assert result.fields["need"] == "line one\nline two"
    assert result.cleaned == ("last_name",)


def test_the_default_source_fills_in_only_when_the_row_has_none():
    assert normalise_lead({"email": "a@b.com"}, "fair").fields["source"] == "fair"
    assert normalise_lead({"email": "a@b.com", "source": "web"}, "fair").fields["source"] == "web"


def test_a_broken_quote_costs_one_line_not_the_rest_of_the_file():
    text = 'email,first_name\n"broken@x.com,Bro\nok@x.com,Okay\n"multi@x.com","two\nlines"\nlast@x.com,Last\n'
    _, records = read_records(text)
    records = list(records)
    assert [r.values["email"] if r.values else None for r in records] == [None, "ok@x.com", "multi@x.com", "last@x.com"]
    assert records[0].error == "line 2 is malformed CSV (a quote is not closed)"
    assert records[0].raw == '"broken@x.com,Bro'
    assert records[2].values["first_name"] == "two\nlines"


def test_a_line_with_the_wrong_number_of_fields_is_reported():
    _, records = read_records("email,first_name\na@x.com,A,extra\n")
    (record,) = list(records)
    assert record.values is None and record.error == "line 2 has 3 fields; the header has 2"


@pytest.mark.parametrize("text", ["", "name,company\nx,y\n", "email,email\n"])
def test_a_file_that_is_not_a_lead_csv_is_refused(text):
    with pytest.raises(CsvHeaderError):
        read_records(text)


@pytest.mark.parametrize("email", [
    "Carla@ACME.com", "a.b+tag@x.co.uk", "{}@x.io", "a..b@x.com", ".a@x.com", "a.@x.com", "a@x", "a@localhost",
    "a@x.local", "a@x.test", "a@x.invalid", "a@x.onion", "a@x.123", "a@-x.com", "a@x-.com", "a@x..com", "a@x.com.",
    "a@x_y.com", "a@" + "x" * 64 + ".com", "x" * 65 + "@x.com", '"q r"@x.com', "a@[1.2.3.4]", "ü@x.com", "a@ü.com",
    "a@XN--BCHER-KVA.example", "a@@b.com", "a@b@c.com", "a b@c.com",
])
def test_the_quick_path_for_plain_addresses_answers_as_email_validator_does(email):
    from email_validator import EmailNotValidError, validate_email

    try:
        expected = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        expected = f"the email is not valid: {exc}"
    result = normalise_lead({"email": email})
    assert (result.email if isinstance(result, LeadInput) else result.reason) == expected
