"""The pure parts of form intake: reading a body into fields, the honeypot, signatures, the rate limit."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from leadrelay.intake.forms import (
    HONEYPOT_FIELD,
    RAW_CAP,
    AcceptedForm,
    Refusal,
    check_form_post,
    form_name_problem,
    quarantine_source,
    quarantine_text,
)
from leadrelay.intake.form_signature import form_signature, signature_problem
from leadrelay.intake.normalise import normalise_lead
from leadrelay.web.rate_limit import RateLimiter

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def check(body: bytes, content_type: str = FORM, signed: bool = False):
    return check_form_post("contact-us", content_type, body, signed=signed)


# Reading a body

def test_form_encoded_fields_are_read_like_csv_columns():
    result = check(b"Email=carla%40acme.com&+First_Name+=Carla&company=&note=caf%C3%A9+%26+more")
    assert result == AcceptedForm({"email": "carla@acme.com", "first_name": "Carla", "company": "",
                                   "note": "café & more"}, None)


def test_a_repeated_form_field_is_joined_as_a_checkbox_group_would_want():
    assert check(b"email=a%40b.com&interest=pricing&interest=api").payload["interest"] == "pricing, api"


def test_json_numbers_become_text_like_csv_cells_and_null_is_an_empty_cell():
    result = check(b'{"email": "a@b.com", "budget_usd": 1.5e6, "company_size": 250.0, "score": 0.25, '
                   b'"huge": 1e999, "big": 123456789012345678901234567890, "consent": false, "phone": null}', JSON)
    assert result.payload == {"email": "a@b.com", "budget_usd": "1500000", "company_size": "250", "score": "0.25",
                              "huge": "1e999", "big": "123456789012345678901234567890", "consent": "false"}
    assert normalise_lead(result.payload, "contact-us").fields["consent"] is False


def test_a_number_thousands_of_digits_long_is_refused_as_too_long_not_a_crash():
    # int('9' * 5000) raises ValueError in Python 3.11: integers are never converted here.
    result = check(b'{"email": "a@b.com", "n": ' + b"9" * 5000 + b"}", JSON)
    assert result == Refusal(422, "the field 'n' is 5000 characters long; the limit is 1000")


def test_the_form_name_becomes_the_source_through_normalise_lead():
    result = check(b"email=a%40b.com")
    assert "source" not in result.payload
    assert normalise_lead(result.payload, "contact-us").fields["source"] == "contact-us"


def test_a_json_body_with_a_byte_order_mark_is_read():
    assert isinstance(check('\ufeff{"email": "a@b.com"}'.encode(), JSON), AcceptedForm)


@pytest.mark.parametrize("body, content_type, status, reason", [
    (b"[" * 100_000, JSON, 422, "the JSON is nested too deeply"),
    (b'{"a": 1, "a": 2}', JSON, 422, "the field 'a' appears more than once"),
    (b'{"email": "a@b.com", "x": {"y": 1, "y": 2}}', JSON, 422, "the field 'y' appears more than once"),
    (b"null", JSON, 422, "the body must be a JSON object of field names and values, not null"),
    (b"true", JSON, 422, "not true"),
    (b'{"email": Infinity}', JSON, 422, "the body is not valid JSON"),
    (b'{"": "x", "email": "a@b.com"}', JSON, 422, "a field has no name"),
    (b'{"email": "a@b.com", "a\\nb": "x"}', JSON, 422, "the field name 'a b' contains a control character"),
    (b"email=a%40b.com&" + b"&".join(b"f%d=1" % i for i in range(200)), FORM, 422,
     "the post has 201 fields; the limit is 200"),
    (b"email=a%40b.com&x=%ED%A0%80", FORM, 422, "the body is not valid UTF-8 text"),  # an encoded surrogate
    (b"email=a%40b.com&submission_id=a%0Ab", FORM, 422, "the submission_id contains a control character"),
    (b'{"email": "a@b.com", "submission_id": {"id": 1}}', JSON, 422, "the submission_id must be text or a number"),
    (b"email=a@b.com", "application/xml", 415, "not 'application/xml'"),
    (b"email=a@b.com", "application/x-www-form-urlencoded; charset=utf-16", 415, "not charset 'utf-16'"),
    (b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"cv.pdf\"\r\n\r\n%PDF\r\n--B--\r\n",
     "multipart/form-data; boundary=B", 422, "file uploads are not accepted"),
    (b"email=x", "multipart/form-data", 422, "the multipart body is malformed"),
])
def test_what_is_not_a_set_of_named_text_fields_is_refused(body, content_type, status, reason):
    result = check(body, content_type)
    assert isinstance(result, Refusal)
    assert result.status == status
    assert reason in result.reason


def test_submission_id_and_honeypot_are_taken_out_of_the_lead_fields():
    result = check(b"email=a%40b.com&submission_id=+web-42+&leadrelay_hp=")
    assert result == AcceptedForm({"email": "a@b.com"}, "web-42")
    assert check(b"email=a%40b.com&submission_id=").submission_id is None
    assert check(b'{"email": "a@b.com", "submission_id": 42}', JSON).submission_id == "42"


@pytest.mark.parametrize("trap", ["http://spam.example", " x ", "0"])
def test_a_filled_honeypot_is_refused_unless_the_post_is_signed(trap):
    body = f"email=a%40b.com&{HONEYPOT_FIELD}={trap}".encode()
    refused = check(body)
    assert isinstance(refused, Refusal) and "honeypot" in refused.reason
    assert check(body, signed=True) == AcceptedForm({"email": "a@b.com"}, None)


def test_a_nested_honeypot_counts_as_filled():
    assert isinstance(check(b'{"email": "a@b.com", "leadrelay_hp": []}', JSON), Refusal)


@pytest.mark.parametrize("name, ok", [("contact-us", True), ("Webinar_2026.spring", True), ("a" * 100, True),
                                      ("a" * 101, False), ("-lead", False), ("with space", False), ("", False),
                                      ("caf\u00e9", False), ("x\x00", False)])
def test_form_names_are_short_slugs(name, ok):
    assert (form_name_problem(name) is None) is ok


def test_quarantine_text_is_storable_and_capped():
    assert quarantine_text(b"a\x00b\xffc") == "a\u2400b\ufffdc"
    long = quarantine_text(b"x" * (RAW_CAP * 2))
    assert long == "x" * RAW_CAP + " … [truncated]"
    assert quarantine_text(b"short", truncated=True) == "short … [truncated]"
    assert quarantine_source("bad\nname\x00") == "form:bad?name?"


# Signatures

def test_a_signature_is_the_hex_hmac_sha256_of_the_body():
    body = b'{"email":"a@b.com"}'
    header = form_signature("s3cret", body)
    assert header == "sha256=f1ff66e5f412e0f1539594eff2ac553df37e5a2dae39a729b94717ce97eba2d4"
    assert signature_problem("s3cret", header, body) is None
    assert signature_problem("s3cret", header.upper().replace("SHA256", "sha256"), body) is None
    assert signature_problem("s3cret", f"  {header} ", body) is None


@pytest.mark.parametrize("secret, header, body, reason", [
    ("s3cret", form_signature("other", b"{}"), b"{}", "does not match the body"),
    ("s3cret", form_signature("s3cret", b"{}"), b"{ }", "does not match the body"),
    ("s3cret", "sha256=abc", b"{}", "must be sha256= followed by 64 hex digits"),
    ("s3cret", "sha1=" + "0" * 64, b"{}", "must be sha256= followed by 64 hex digits"),
    ("s3cret", "sha256=" + "\u00e9" * 64, b"{}", "must be sha256= followed by 64 hex digits"),
    ("s3cret", "", b"{}", "must be sha256= followed by 64 hex digits"),
    (None, form_signature("s3cret", b"{}"), b"{}", "no form secret configured"),
    ("", form_signature("s3cret", b"{}"), b"{}", "no form secret configured"),
])
def test_bad_or_unverifiable_signatures_say_why(secret, header, body, reason):
    assert reason in signature_problem(secret, header, body)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_readme_openssl_recipe_gives_the_same_signature():
    body = b'{"email":"carla@acme-buyer.com","submission_id":"crm-4711"}'
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", "s3cret", "-r"], input=body,
                            capture_output=True, check=True).stdout.split()[0].decode()
    assert f"sha256={digest}" == form_signature("s3cret", body)


# Rate limit

class FakeClock:
    def __init__(self):
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_a_burst_of_the_per_minute_rate_is_allowed_then_the_wait_is_told():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.try_acquire("1.2.3.4") for _ in range(3)] == [0, 0, 0]
    assert limiter.try_acquire("1.2.3.4") == 20  # one token every 20 seconds
    clock.seconds = 10
    assert limiter.try_acquire("1.2.3.4") == 10
    clock.seconds = 20
    assert limiter.try_acquire("1.2.3.4") == 0
    assert limiter.try_acquire("1.2.3.4") == 20


def test_each_address_has_its_own_bucket_and_an_idle_one_refills_to_the_burst_only():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(3)] == [0, 0, 30]
    assert limiter.try_acquire("b") == 0
    clock.seconds = 3600
    assert [limiter.try_acquire("a") for _ in range(3)] == [0, 0, 30]


def test_a_refused_request_does_not_spend_a_token():
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    assert limiter.try_acquire("a") == 0
    for _ in range(10):
        assert limiter.try_acquire("a") == 60
    clock.seconds = 60
    assert limiter.try_acquire("a") == 0


def test_zero_per_minute_means_no_limit():
    limiter = RateLimiter(0, clock=FakeClock())
    assert all(limiter.try_acquire("a") == 0 for _ in range(1000))


def test_many_addresses_do_not_grow_memory_without_bound():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.try_acquire(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= 100
    assert limiter.try_acquire("10.0.3.231") == 0  # the newest addresses are remembered
