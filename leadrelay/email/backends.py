"""Email backends: where an `EmailMessage` goes, and what came of one attempt (`SendResult`).

- `OutboxDirSender`: the default (principle 6); writes RFC 5322 .eml files into a folder.
- `SendGridSender`: the official `sendgrid` client against SendGrid's v3 Mail Send API, over
  pooled keep-alive connections (`KeepAliveClient`), safe to call from several threads.
- `SecretBlockSendGrid`: the same, with its API key from a Prefect Secret block.
(The recording fake the tests use is `tests.support.recording_sender.RecordingSender`.)

A backend makes exactly one attempt per `send` call and never raises for a delivery problem: it
answers "sent", "retry" (transient: 429, 5xx, timeout, connection error; a 429 is marked
`rate_limited`, the server asking to wait) or "failed" (permanent, with a reason that never holds
the API key or the recipient's address). Retries, backoff and
marking rows are the outbox drainer's job (see `leadrelay.email.retry`). `max_in_flight` says how
many `send` calls the drainer may make at once from its threads (1: one at a time).
"""
from __future__ import annotations

import abc
import hashlib
import http.client
import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any

import sendgrid
from python_http_client.exceptions import HTTPError
from sendgrid.helpers.mail import (
    Category,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    MimeType,
    ReplyTo,
    To,
)
from sendgrid.helpers.mail.exceptions import ApiKeyIncludedException

from leadrelay.email.keepalive import KeepAliveClient
from leadrelay.email.list_headers import mime_header_value
from leadrelay.email.message import EmailMessage, SendResult, header_safe

IDEMPOTENCY_HEADER = "X-Leadrelay-Idempotency-Key"
IDEMPOTENCY_ARG = "idempotency_key"

# Headers a backend derives from the message's own fields; SendGrid refuses to let callers set
# them (see the `headers` description in its OpenAPI file), and in an .eml they would duplicate.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
        "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc",
        "date", "message-id", "mime-version",
    )
)

# RFC 5322 field-name: printable US-ASCII except ":" (so no CR/LF/space can sneak in a name)
_FIELD_NAME = re.compile(r"[!-9;-~]+")


class EmailSender(abc.ABC):
    """Something that makes one delivery attempt for a message."""

    max_in_flight: int = 1
    """How many `send` calls may run at once (from the drainer's threads); 1: one at a time."""

    @abc.abstractmethod
    def send(self, message: EmailMessage) -> SendResult:
        """One attempt; never raises for delivery problems: the result says what happened."""


class InvalidHeaderError(ValueError):
    """`message.headers` holds a name that cannot be a header (a template/config bug)."""


def extra_headers(message: EmailMessage) -> tuple[dict[str, str], str | None]:
    """The caller's headers that a backend may pass on, made single-line, and any Reply-To.

    Reserved headers (To, Subject, ...) are left out because backends set them from the
    message's fields; Reply-To is returned separately because SendGrid wants it as a field.
    Raises InvalidHeaderError for a name that is not an RFC 5322 field-name.
    """
    headers: dict[str, str] = {}
    reply_to = None
    for name, value in message.headers.items():
        if not _FIELD_NAME.fullmatch(name):  # fullmatch: "$" would let a trailing "\n" through
            raise InvalidHeaderError(f"invalid header name {name!r}")
        if name.lower() == "reply-to":
            reply_to = header_safe(value)
        elif name.lower() not in RESERVED_HEADERS:
            # the caller already applied header_safe; doing it again costs nothing and means a
            # value with CR/LF can never add a header of its own
            headers[name] = header_safe(value)
    return headers, reply_to


# ---------------------------------------------------------------------------------------------
# Outbox folder


def outbox_filename(idempotency_key: str) -> str:
    """A file name that is the same for the same key, safe on any filesystem, and distinct for
    distinct keys (a readable prefix plus a hash of the exact key, so "a/b" and "a_b" differ)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", idempotency_key).lstrip(".")[:80]
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}.eml" if readable else f"{digest}.eml"


def build_mime_message(message: EmailMessage) -> MimeMessage:
    """The message as a stdlib MIME message: multipart/alternative (text, then HTML), with the
    caller's headers and `X-Leadrelay-Idempotency-Key`. CR/LF in subject, names or header values
    are flattened to spaces rather than refused. Raises InvalidHeaderError (see extra_headers)."""
    headers, reply_to = extra_headers(message)
    mime = MimeMessage()
    mime["From"] = formataddr((header_safe(message.from_name), header_safe(message.from_email)))
    mime["To"] = formataddr((header_safe(message.to_name), header_safe(message.to_email)))
    mime["Subject"] = header_safe(message.subject)
    mime["Date"] = formatdate(usegmt=True)
    # derived from the key, so a rewrite of the same message keeps the same Message-ID
    digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
    domain = message.from_email.rpartition("@")[2] or "leadrelay.invalid"
    mime["Message-ID"] = f"<{digest}@{header_safe(domain).replace(' ', '')}>"
    if reply_to:
        mime["Reply-To"] = reply_to
    for name, value in headers.items():
        mime[name] = mime_header_value(name, value)  # List-Unsubscribe stays plain, never RFC 2047
    mime[IDEMPOTENCY_HEADER] = header_safe(message.idempotency_key)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class OutboxDirSender(EmailSender):
    """Writes each message to `directory/<key>.eml`: the default backend (what `make demo` uses).

    Sending the same idempotency key again replaces the same file, so a retried flow run leaves
    one file per message. Writes are atomic (temp file + rename): a reader never sees half a file.
    """

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)

    def path_for(self, message: EmailMessage) -> Path:
        """Where `message` is (or will be) written."""
        return self.directory / outbox_filename(message.idempotency_key)

    def send(self, message: EmailMessage) -> SendResult:
        """Write the .eml; "sent" with the file name as provider_id, "failed" on a bad header
        name, "retry" when the disk says no (full, permissions) since that can be fixed."""
        try:
            data = build_mime_message(message).as_bytes(policy=SMTP)
        except InvalidHeaderError as exc:
            return SendResult("failed", error=str(exc))
        target = self.path_for(message)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            return SendResult("retry", error=f"outbox write failed: {exc.strerror or exc}")
        return SendResult("sent", provider_id=target.name)


# ---------------------------------------------------------------------------------------------
# SendGrid


def _address(cls: type, email: str, name: str) -> Any:
    """A sendgrid From/To/ReplyTo holding exactly `email` (and `name` when non-empty).

    Set attribute by attribute because `To(email)` without a name runs the address through
    `parseaddr`, which can quietly rewrite it (e.g. keep only the first of "a@x, b@y").
    """
    address = cls()
    address.email = email
    if header_safe(name):
        address.name = header_safe(name)
    return address


def build_sendgrid_body(message: EmailMessage) -> dict[str, Any]:
    """The v3 /mail/send JSON body for `message`, built with the official `sendgrid` helpers.

    One personalization (the recipient); text/plain before text/html, each only when non-empty
    (SendGrid refuses an empty content value); categories in order, without repeats; the
    caller's headers (Reply-To as `reply_to`); custom_args = message.custom_args plus
    `idempotency_key` (ours wins a clash: it is how a duplicate send is traced).
    custom_args go on the personalization: the published schema types the top-level
    `custom_args` as a string, the per-personalization one as an object, and for one recipient
    they mean the same. Pure; raises InvalidHeaderError, and the client's ApiKeyIncludedException
    when a content part starts with something shaped like a SendGrid API key.
    """
    headers, reply_to = extra_headers(message)
    mail = Mail(
        from_email=_address(From, message.from_email, message.from_name),
        to_emails=_address(To, message.to_email, message.to_name),
        # header_safe may leave "": kept, so SendGrid answers 400 instead of us guessing a subject
        subject=header_safe(message.subject),
    )
    if message.text:
        mail.add_content(Content(MimeType.text, message.text))
    if message.html:
        mail.add_content(Content(MimeType.html, message.html))
    # add_category inserts at the front, so feed it reversed; dict.fromkeys drops repeats,
    # which SendGrid refuses (categories must be unique)
    for category in reversed(list(dict.fromkeys(message.categories))):
        mail.add_category(Category(category))
    for name, value in headers.items():
        mail.add_header(Header(name, value))
    if reply_to:
        name, address = parseaddr(reply_to)
        mail.reply_to = _address(ReplyTo, address or reply_to, name)
    args = {**message.custom_args, IDEMPOTENCY_ARG: message.idempotency_key}
    for key, value in args.items():
        mail.add_custom_arg(CustomArg(key, str(value), p=0))
    return mail.get()


def _header(headers: Any, name: str) -> str | None:
    """A response header, case-insensitively, from an HTTPMessage or a plain dict (or None)."""
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in its delay-seconds form; None when absent or in any
    other form (the HTTP-date form would need a clock; the caller's backoff covers it)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class SendGridSender(EmailSender):
    """Sends through SendGrid's v3 Mail Send API with the official `sendgrid` client.

    `host` is the API base URL (`LEADRELAY_SENDGRID_HOST`; tests point it at a loopback fake).
    `timeout` (seconds) bounds every socket operation of the request (connect, each read): the
    client's own default is no timeout at all, so a hung server would block forever.
    `max_in_flight` is how many requests the drainer runs at once from its threads. The client
    sends over keep-alive connections (`KeepAliveClient`), one per request under way, taken from
    and given back to a pool, so `send` is safe to call from several threads.
    """

    def __init__(self, api_key: str, host: str = "https://api.sendgrid.com", timeout: float = 10,
                 max_in_flight: int = 8):
        if not api_key:
            # SendGridAPIClient silently falls back to $SENDGRID_API_KEY when given a falsy key
            raise ValueError("SendGridSender needs a non-empty API key")
        if not host.startswith(("https://", "http://")):
            raise ValueError("SendGrid host must be an http(s) URL, e.g. https://api.sendgrid.com")
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._api_key = api_key
        self.host = host.rstrip("/")  # the client joins host + "/v3/..." without normalising
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._client = sendgrid.SendGridAPIClient(api_key=api_key, host=self.host)
        official = self._client.client
        # the official client's host, version and headers (auth, user agent), over keep-alive
        self._client.client = KeepAliveClient(host=official.host, request_headers=official.request_headers,
                                              version=official._version)

    def close(self) -> None:
        """Close the idle keep-alive connections (a later send opens a new one)."""
        self._client.client.close()

    def __repr__(self) -> str:
        return f"SendGridSender(host={self.host!r}, timeout={self.timeout!r})"  # never the key

    def send(self, message: EmailMessage) -> SendResult:
        """One POST /v3/mail/send. 2xx -> sent (provider_id = X-Message-Id); 429 -> retry with
        Retry-After; 5xx, timeout, connection trouble -> retry; other 4xx -> failed with
        SendGrid's errors[].message text."""
        try:
            body = build_sendgrid_body(message)
        except InvalidHeaderError as exc:
            return SendResult("failed", error=str(exc))
        except ApiKeyIncludedException:
            # the client's guard: a body starting with an "SG.x.y" token is refused before sending
            return SendResult("failed", error="content looks like it contains a SendGrid API key")
        try:
            # not SendGridAPIClient.send(): it cannot pass a timeout, and urllib's is None (forever)
            response = self._client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except HTTPError as exc:
            return self._result_for_status(exc.status_code, exc.headers, exc.body, message)
        except (OSError, http.client.HTTPException) as exc:
            # URLError (refused, DNS, connect timeout), TimeoutError on read, resets, bad status
            return SendResult("retry", error=f"SendGrid unreachable: {type(exc).__name__}")
        return SendResult("sent", provider_id=_header(response.headers, "X-Message-Id"))

    def _result_for_status(
        self, status: int, headers: Any, body: bytes | None, message: EmailMessage
    ) -> SendResult:
        """Map a non-2xx answer to a SendResult."""
        if status == 429:
            return SendResult(
                "retry",
                retry_after=parse_retry_after(_header(headers, "Retry-After")),
                error="SendGrid 429: rate limited",
                rate_limited=True,
            )
        if 500 <= status <= 599:
            return SendResult("retry", error=f"SendGrid {status}: {self._errors(body, message)}")
        return SendResult("failed", error=f"SendGrid {status}: {self._errors(body, message)}")

    def _errors(self, body: bytes | None, message: EmailMessage) -> str:
        """SendGrid's errors[].message (with the field when given), joined; scrubbed of the API
        key and the recipient's address, which must not end up in logs or the outbox row."""
        try:
            errors = json.loads(body or b"")["errors"]
            parts = [
                f"{e['message']} (field: {e['field']})" if e.get("field") else str(e["message"])
                for e in errors
                if isinstance(e, dict) and e.get("message")
            ]
            text = "; ".join(parts) or "no error message"
        except (ValueError, KeyError, TypeError):
            text = "no JSON error body"
        text = text.replace(self._api_key, "<api-key>")
        if message.to_email:
            text = re.sub(re.escape(message.to_email), "<recipient>", text, flags=re.IGNORECASE)
        return text[:1000]


class SecretBlockSendGrid(EmailSender):
    """`SendGridSender` with its API key read from a Prefect Secret block on the first send
    (`LEADRELAY_SENDGRID_SECRET_BLOCK`), so the key never sits in the environment; needs the
    Prefect API then. Later sends reuse the same client (made once, even when threads race)."""

    max_in_flight = 8

    def __init__(self, block_name: str, host: str):
        self.block_name, self.host, self._sender = block_name, host, None
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> SendResult:
        if self._sender is None:
            with self._lock:
                if self._sender is None:
                    from prefect.blocks.system import Secret  # imported late: Prefect is heavy and only this needs it

                    self._sender = SendGridSender(Secret.load(self.block_name).get(), self.host,
                                                  max_in_flight=self.max_in_flight)
        return self._sender.send(message)

    def close(self) -> None:
        """Close the idle keep-alive connections, if a send made the client."""
        if self._sender is not None:
            self._sender.close()
