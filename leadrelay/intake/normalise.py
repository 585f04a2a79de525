"""Normalising one raw input row (CSV line, form post) into a lead, or a reason it can't be one.

Pure: no database. Values are stored as given (trimmed), never evaluated; single-line fields lose
CR/LF and control characters so nothing can reach an email header.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email

from leadrelay.lead_fields import TRUTHY
from leadrelay.models.lead import LIMITS
from leadrelay.text_safety import is_storable, storable

TEXT_FIELDS = ("first_name", "last_name", "title", "company", "company_domain", "industry", "country", "phone", "source")
MULTILINE_FIELDS = ("need",)
NUMBER_FIELDS = ("company_size", "budget_usd", "timeframe_months")
KNOWN_COLUMNS = {"email", "consent", *TEXT_FIELDS, *MULTILINE_FIELDS, *NUMBER_FIELDS}
FALSY = {"no", "n", "false", "0", "off"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER_NOISE = re.compile(r"[\s,_$€£]|usd|eur")
_RANGE = re.compile(r"\d+-\d+")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")
# An ASCII dot-atom local part (RFC 5322), which email-validator accepts as it is.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@dataclass(frozen=True)
class LeadInput:
    """A row that can become (or update) a lead."""

    email: str
    fields: dict[str, Any]  # known columns that had a value
    attributes: dict[str, str]  # unknown columns that had a value
    cleaned: tuple[str, ...] = ()  # fields that lost line breaks or control characters


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass
class _Row:
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)


class _Reject(Exception):
    pass


def normalise_lead(raw: Mapping[str, Any], default_source: str | None = None) -> LeadInput | Rejected:
    """A LeadInput from a row of column -> value, or Rejected with a one-sentence reason."""
    try:
        email = _email(raw.get("email"))
        row = _Row()
        for column, value in raw.items():
            column = storable(str(column).strip().lower())
            if column == "email" or value is None or value == "":
                continue  # an empty cell says nothing (and is the most common cell of all)
            _take(row, column, value)
        if default_source and "source" not in row.fields:
            row.fields["source"] = default_source
        return LeadInput(email, row.fields, row.attributes, tuple(row.cleaned))
    except _Reject as exc:
        return Rejected(str(exc))


def _email(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Reject("the email is missing")
    if not isinstance(value, str):
        raise _Reject("the email is not text")
    text = value.strip()
    if len(text) > LIMITS["email"]:
        raise _Reject(f"the email is {len(text)} characters long; the limit is {LIMITS['email']}")
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local) and _plain_domain_is_valid(domain):
        # What validate_email returns for such an address, without checking its domain again for
        # every lead of the same company (most of the import's time went there).
        return text.lower()
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _Reject(f"the email is not valid: {exc}") from None
    if not is_storable(checked.normalized):
        raise _Reject("the email is not valid: it contains a NUL character or an unpaired surrogate")
    return checked.normalized.lower()


@lru_cache(maxsize=65536)  # a big list has thousands of domains; a smaller cache thrashed on 5,000
def _plain_domain_is_valid(domain: str) -> bool:
    """Whether email-validator accepts `domain` and writes it as itself in lower case (an ASCII
    domain); anything else (IDN, special-use, syntax errors) goes through the full check."""
    if not domain.isascii():
        return False
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return checked.normalized == f"a@{domain.lower()}"


def _take(row: _Row, column: str, value: Any) -> None:
    if isinstance(value, (dict, list, tuple, set)):
        raise _Reject(f"the field '{_label(column)}' is not a plain value")
    text = value if isinstance(value, str) else str(value)
    if column in NUMBER_FIELDS:
        number = parse_whole_number(column, text)
        if number is not None:
            row.fields[column] = number
        return
    if column == "consent":
        consent = parse_consent(text)
        if consent is not None:
            row.fields["consent"] = consent
        return
    multiline = column in MULTILINE_FIELDS
    clean = _clean_text(text, multiline)
    if clean != text.strip() and not multiline:
        row.cleaned.append(column)
    if not clean:
        return
    limit = LIMITS.get(column, LIMITS["attribute"])
    if len(clean) > limit:
        raise _Reject(f"the field '{_label(column)}' is {len(clean)} characters long; the limit is {limit}")
    if column in KNOWN_COLUMNS:
        row.fields[column] = clean
    else:
        row.attributes[column] = clean


def _label(column: str) -> str:
    # Column names come from the file too: keep them short and on one line in messages.
    return _CONTROL.sub(" ", column)[:60]


def _clean_text(text: str, multiline: bool) -> str:
    """`text` without control characters (NUL included) and storable; a single-line field on one line."""
    if multiline:
        return storable(_MULTILINE_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip())
    if text.isprintable():  # no control characters (nor surrogates): nothing for the regexes to replace
        return " ".join(text.split())
    return storable(" ".join(_CONTROL.sub(" ", text).split()))


def parse_whole_number(column: str, text: str) -> int | None:
    """A non-negative whole number from text like '1200', '1,200', '$50k', '2.5M' or '51-200' (its
    lower bound); None for an empty value. Raises _Reject for anything else."""
    if text.isascii() and text.isdigit():  # plain digits: the common case, without the regexes
        if int(text) > 10**12:
            raise _Reject(f"the field '{column}' is too large")
        return int(text)
    compact = _NUMBER_NOISE.sub("", text.strip().lower())
    if not compact:
        return None
    if _RANGE.fullmatch(compact):
        compact = compact.split("-")[0]
    match = _NUMBER.match(compact)
    if not match:
        shown = _label(text.strip())[:40]
        raise _Reject(f"the field '{column}' should be a whole number, not '{shown}'")
    multiplier = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
    number = float(match.group(1)) * multiplier
    if number > 10**12:
        raise _Reject(f"the field '{column}' is too large")
    return int(number)


def parse_consent(text: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in TRUTHY:
        return True
    if value in FALSY:
        return False
    raise _Reject("the field 'consent' should be yes or no")
