"""Reading a form post (form-encoded, multipart or JSON) into the fields of a lead, or a refusal.

Pure: no database, no HTTP objects. A post becomes the flat `field -> text` dict a CSV row would
be, and `leadrelay.intake.normalise.normalise_lead` judges it exactly as it judges a CSV row; this module
only refuses what is not a set of named text fields at all (bad encodings, nesting, NUL bytes,
duplicate names, too many fields) and what a bot gives away (the honeypot).
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl

from python_multipart.multipart import parse_form

from leadrelay.intake.normalise import Rejected, normalise_lead

# Bots fill every input they find; people never see this one (the HTML hides it with CSS).
HONEYPOT_FIELD = "leadrelay_hp"
SUBMISSION_ID_FIELD = "submission_id"
MAX_FORM_NAME = 100  # the inbound table's source column
MAX_FIELDS = 200
MAX_FIELD_NAME = 100
MAX_SUBMISSION_ID = 200
RAW_CAP = 4096  # characters of a refused body kept in quarantine

FORM_ENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON_TYPE = "application/json"
UTF8_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}

_FORM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HONEYPOT_REASON = (f"the hidden honeypot field '{HONEYPOT_FIELD}' was filled in, which people never do, "
                   "so the post looks automated")


@dataclass(frozen=True)
class Refusal:
    """Why a post is not accepted: the HTTP status and a reason (a sentence fragment, as
    quarantine keeps reasons)."""

    status: int
    reason: str


@dataclass(frozen=True)
class AcceptedForm:
    """A post that `normalise_lead` accepts: its fields as the inbound table stores them."""

    payload: dict[str, Any]
    submission_id: str | None


class _Refuse(Exception):
    def __init__(self, reason: str, status: int = 422):
        super().__init__(reason)
        self.reason, self.status = reason, status


def form_name_problem(form_name: str) -> str | None:
    """None for a usable form name (it becomes the lead's source); else what is wrong with it."""
    if _FORM_NAME.fullmatch(form_name):
        return None
    return ("the form name must be 1 to 100 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit")


def quarantine_source(form_name: str) -> str:
    """`form:<name>`, made safe to store even when the name itself was refused."""
    shown = _CONTROL.sub("?", form_name).encode("utf-8", "replace").decode("utf-8")[:MAX_FORM_NAME]
    return f"form:{shown}"


def quarantine_text(body: bytes, truncated: bool = False) -> str:
    """A refused body as text to keep: UTF-8 (bytes that are not as U+FFFD), NUL shown as U+2400
    (PostgreSQL stores no NUL in text), at most RAW_CAP characters, marked when cut."""
    text = body[: RAW_CAP * 4].decode("utf-8", errors="replace").replace("\x00", "\u2400")
    if truncated or len(text) > RAW_CAP:
        return text[:RAW_CAP] + " … [truncated]"
    return text


def check_form_post(form_name: str, content_type: str | None, body: bytes, *, signed: bool) -> AcceptedForm | Refusal:
    """The fields of a post that can become a lead, or why it cannot: 415 for a content type other
    than form-encoded, multipart or JSON in UTF-8; 422 for anything else (unreadable body, a filled
    honeypot unless `signed`, a bad submission_id, or a row `normalise_lead` rejects)."""
    try:
        fields = parse_fields(content_type, body)
        trap = fields.pop(HONEYPOT_FIELD, None)
        if not signed and _filled(trap):
            raise _Refuse(HONEYPOT_REASON)
        submission_id = _submission_id(fields.pop(SUBMISSION_ID_FIELD, None))
    except _Refuse as refused:
        return Refusal(refused.status, refused.reason)
    result = normalise_lead(fields, form_name)
    if isinstance(result, Rejected):
        return Refusal(422, result.reason)
    return AcceptedForm({name: value for name, value in fields.items() if value is not None}, submission_id)


def parse_fields(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The post as `field name -> value`: names trimmed and lower-cased like CSV headers, JSON
    numbers as text (a whole number without exponent or '.0'), booleans as 'true'/'false', JSON
    null as None; nested JSON is left for `normalise_lead` to refuse. Raises _Refuse."""
    media, params = _media_type(content_type)
    parser = _PARSERS.get(media)
    if parser is None:
        shown = _CONTROL.sub(" ", media)[:60] or "none"
        raise _Refuse(f"the content type must be {FORM_ENCODED}, {MULTIPART} or {JSON_TYPE}, not '{shown}'", 415)
    charset = params.get("charset", "utf-8").lower()
    if charset not in UTF8_CHARSETS:
        raise _Refuse(f"only UTF-8 text is accepted, not charset '{_CONTROL.sub(' ', charset)[:40]}'", 415)
    pairs = parser(body, content_type or "")
    return _flat_fields(pairs, join_repeats=media != JSON_TYPE)


def _media_type(header: str | None) -> tuple[str, dict[str, str]]:
    media, _, rest = (header or "").partition(";")
    params = {}
    for part in rest.split(";"):
        key, equals, value = part.partition("=")
        if equals:
            params[key.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refuse("the body is not valid UTF-8 text") from None


def _form_encoded_pairs(body: bytes, _content_type: str) -> list[tuple[str, Any]]:
    try:
        return parse_qsl(_utf8(body), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:  # a percent-escape that is not UTF-8, e.g. %FF
        raise _Refuse("the body is not valid UTF-8 text") from None


def _multipart_pairs(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    fields: list[tuple[bytes, bytes | None]] = []
    files: list[Any] = []
    headers = {"Content-Type": content_type.encode("latin-1", "replace"), "Content-Length": str(len(body)).encode()}
    try:
        parse_form(headers, io.BytesIO(body), lambda part: fields.append((part.field_name or b"", part.value)),
                   files.append)
    except ValueError:  # python-multipart's parse errors are ValueErrors
        raise _Refuse("the multipart body is malformed") from None
    for file in files:
        file.close()
    if files:
        raise _Refuse("file uploads are not accepted; send text fields only")
    return [(_utf8(name), None if value is None else _utf8(value)) for name, value in fields]


def _json_pairs(body: bytes, _content_type: str) -> list[tuple[str, Any]]:
    text = _utf8(body).removeprefix("\ufeff")
    try:
        # Numbers become text, like a CSV cell; integers are never converted (no 4,300-digit limit).
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=str, parse_float=_json_float,
                          parse_constant=_no_constant)
    except RecursionError:  # json.loads recurses once per nesting level
        raise _Refuse("the JSON is nested too deeply") from None
    except ValueError:
        raise _Refuse("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _Refuse(f"the body must be a JSON object of field names and values, not {_json_kind(text)}")
    return list(data.items())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise _Refuse(f"the field '{_label(repeated)}' appears more than once")
    return dict(pairs)


def _json_float(text: str) -> str:
    # 1.5e6 and 50000.0 are whole numbers the number fields read; anything else stays as sent.
    value = float(text)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_kind(text: str) -> str:
    first = text.lstrip()[:1]
    return {"[": "an array", '"': "a string", "t": "true", "f": "false", "n": "null"}.get(first, "a number")


_PARSERS: dict[str, Callable[[bytes, str], list[tuple[str, Any]]]] = {
    FORM_ENCODED: _form_encoded_pairs,
    MULTIPART: _multipart_pairs,
    JSON_TYPE: _json_pairs,
}


def _flat_fields(pairs: list[tuple[str, Any]], join_repeats: bool) -> dict[str, Any]:
    if len(pairs) > MAX_FIELDS:
        raise _Refuse(f"the post has {len(pairs)} fields; the limit is {MAX_FIELDS}")
    fields: dict[str, Any] = {}
    for raw_name, raw_value in pairs:
        name = _field_name(raw_name)
        value = _plain(raw_value)
        if isinstance(value, str):
            _require_storable(value, f"the field '{_label(name)}'")
        if name in fields:
            # A checkbox group sends one name several times; JSON has no such excuse.
            if not join_repeats:
                raise _Refuse(f"the field '{_label(name)}' appears more than once")
            value = ", ".join(v for v in (fields[name], value) if v)
        fields[name] = value
    return fields


def _field_name(raw: str) -> str:
    name = raw.strip().lower()
    if not name:
        raise _Refuse("a field has no name")
    if len(name) > MAX_FIELD_NAME:
        raise _Refuse(f"a field name is {len(name)} characters long; the limit is {MAX_FIELD_NAME}")
    _require_storable(name, "a field name")
    if _CONTROL.search(name):
        raise _Refuse(f"the field name '{_label(name)}' contains a control character")
    return name


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _require_storable(text: str, what: str) -> None:
    # PostgreSQL refuses NUL in text and JSON; a lone surrogate cannot be encoded at all.
    if "\x00" in text:
        raise _Refuse(f"{what} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refuse(f"{what} is not valid Unicode text") from None


def _label(name: str) -> str:
    # Names come from the post: keep them short, on one line and storable in messages.
    return _CONTROL.sub(" ", name).encode("utf-8", "replace").decode("utf-8")[:60]


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def _submission_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refuse("the submission_id must be text or a number")
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_SUBMISSION_ID:
        raise _Refuse(f"the submission_id is {len(text)} characters long; the limit is {MAX_SUBMISSION_ID}")
    if _CONTROL.search(text):
        raise _Refuse("the submission_id contains a control character")
    return text
