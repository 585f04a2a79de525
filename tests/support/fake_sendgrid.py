"""A loopback stand-in for SendGrid's `POST /v3/mail/send`, for tests that run the real client.

    with FakeSendGrid(api_key="SG.test", fail_every_nth_with_429=5) as server:
        sender = SendGridSender("SG.test", host=server.url)
        ...
        assert len(server.accepted) == 1

It checks `Authorization: Bearer <key>`, validates the JSON body against the request-body schema
of `/v3/mail/send` in SendGrid's published OpenAPI file (plus two documented rules the schema
cannot express), and answers like SendGrid: 202 + `X-Message-Id` when valid, 400/401 with
`{"errors": [{"message", "field", "help"}]}` otherwise. Failures can be injected: every nth
request 429 (with Retry-After), a seeded random share of 500s, and a hang for timeout tests.
Nothing here talks to the network beyond 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_NAME = "sendgrid-mail-v3.openapi.json"
# A vendored copy in the repo wins; the shared reference copy is the fallback on dev machines.
SPEC_CANDIDATES = (
    Path(__file__).with_name(_SPEC_NAME),
    Path("/work/shared/reference") / _SPEC_NAME,
)
_SPEC_URI = "urn:sendgrid:mail-v3"
MAIL_SEND_PATH = "/v3/mail/send"


def find_spec() -> Path:
    """The OpenAPI file: $LEADRELAY_SENDGRID_OPENAPI, else the first existing SPEC_CANDIDATES."""
    env = os.environ.get("LEADRELAY_SENDGRID_OPENAPI")
    for candidate in ([Path(env)] if env else []) + list(SPEC_CANDIDATES):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"SendGrid's OpenAPI file {_SPEC_NAME} not found; set LEADRELAY_SENDGRID_OPENAPI "
        f"or put it at {SPEC_CANDIDATES[0]}"
    )


def mail_send_validator(spec_path: Path | None = None) -> jsonschema.protocols.Validator:
    """A JSON Schema (2020-12, as OpenAPI 3.1 uses) validator for the /v3/mail/send request body,
    with `#/components/...` references resolved inside the OpenAPI document and formats checked."""
    spec = json.loads((spec_path or find_spec()).read_text(encoding="utf-8"))
    operation = spec["paths"][MAIL_SEND_PATH]["post"]
    request_body = operation["requestBody"]
    pointer = "/components/requestBodies/PostMailSend"
    if "$ref" in request_body:  # the body is a reference in the published file; follow it
        pointer = request_body["$ref"].lstrip("#")
    if not pointer.startswith("/components/requestBodies/"):
        raise ValueError(f"unexpected requestBody in {MAIL_SEND_PATH}: {request_body!r}")
    registry = Registry().with_resource(_SPEC_URI, Resource.from_contents(spec, DRAFT202012))
    # "~1" is "/" in a JSON pointer: the media type key is "application/json"
    schema = {"$ref": f"{_SPEC_URI}#{pointer}/content/application~1json/schema"}
    return jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def mail_send_errors(body: Any, validator: jsonschema.protocols.Validator) -> list[dict]:
    """SendGrid-shaped error objects for `body`; empty when SendGrid would accept it.

    Schema errors first (field = dotted path, as SendGrid writes it), then rules the schema
    leaves to prose: content is required unless a template_id is given, and there must be at
    least one personalization.
    """
    errors = [
        {"message": e.message, "field": ".".join(str(p) for p in e.absolute_path) or None,
         "help": None}
        for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if errors or not isinstance(body, dict):
        return errors
    if not body.get("personalizations"):
        errors.append({"message": "The personalizations field is required and must have at "
                       "least one personalization.", "field": "personalizations", "help": None})
    if not body.get("content") and not body.get("template_id"):
        errors.append({"message": "Unless a valid template_id is provided, the content parameter "
                       "is required.", "field": "content", "help": None})
    return errors


@dataclass
class RecordedRequest:
    """One request the fake saw, and how it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    json: Any = None
    # When the request arrived (time.time()), for latency measurements.
    received_at: float = field(default_factory=time.time)


@dataclass
class _Faults:
    fail_every_nth_with_429: int | None = None
    retry_after: str | None = "1"
    fail_ratio_500: float = 0.0
    hang_seconds: float = 0.0
    random: random.Random = field(default_factory=random.Random)
    hang_every_nth: int | None = None
    max_faults_per_key: int | None = None


class FakeSendGrid:
    """The fake server. Start with `with FakeSendGrid(...) as s:` or `start()`/`stop()`.

    Options:
      api_key: the only key accepted (401 otherwise).
      fail_every_nth_with_429: the nth, 2nth, ... request to /v3/mail/send gets 429.
      retry_after: Retry-After value sent with 429 (None: no header).
      fail_ratio_500: share of the other requests answered 500, drawn from Random(seed).
      hang_seconds: every request waits this long before any answer (released early by stop()).
        A valid message is still accepted after the wait, though the client has given up: the
        same "accepted but the sender never heard" window that SendGrid has for real.
      hang_every_nth: with hang_seconds, only the nth, 2nth, ... request hangs; it is then
        answered 503 and not accepted (a server that stalled before taking the message: a
        timeout that sends nothing), unlike hang_seconds alone.
      max_faults_per_key: at most this many 500s and hangs for one message (by its
        `idempotency_key`); later requests for it get no such fault (429s still come). The
        fault rates stay per request; the cap keeps a fault test about the sender's handling of
        them, not about the odds of 8 faults in a row for one message.
      keep_alive: answer HTTP/1.1 and keep connections open between requests, as SendGrid does
        (the benchmark uses it); an idle connection is closed after 2 s. Off by default: HTTP/1.0,
        one request per connection.

    Attributes: `url` ("http://127.0.0.1:PORT"), `accepted` (parsed bodies answered 202, in
    order), `requests` (every RecordedRequest). Both lists are only appended to, under a lock.
    """

    def __init__(
        self,
        api_key: str = "SG.fake-key.for-tests",
        *,
        fail_every_nth_with_429: int | None = None,
        retry_after: str | None = "1",
        fail_ratio_500: float = 0.0,
        seed: int = 0,
        hang_seconds: float = 0.0,
        spec_path: Path | None = None,
        keep_alive: bool = False,
        hang_every_nth: int | None = None,
        max_faults_per_key: int | None = None,
    ):
        self.api_key = api_key
        self.keep_alive = keep_alive
        self.faults = _Faults(
            fail_every_nth_with_429, retry_after, fail_ratio_500, hang_seconds, random.Random(seed),
            hang_every_nth, max_faults_per_key,
        )
        self._faults_by_key: dict[str, int] = {}
        self.validator = mail_send_validator(spec_path)
        self.accepted: list[dict] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._count = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSendGrid is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSendGrid:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # join handler threads on close (they end quickly: hangs wait on _stopping)
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-sendgrid", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung handlers, stop serving, close the socket, join every thread."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers for assertions ----------------------------------------------------------------

    def accepted_idempotency_keys(self) -> list[str]:
        """The `idempotency_key` custom arg of each accepted message, in order."""
        keys = []
        for body in self.accepted:
            top = body.get("custom_args")
            args = dict(top) if isinstance(top, dict) else {}
            for p in body.get("personalizations", []):
                args.update(p.get("custom_args") or {})
            keys.append(args.get("idempotency_key"))
        return keys

    def status_counts(self) -> dict[int, int]:
        """How many requests got each status."""
        counts: dict[int, int] = {}
        for r in self.requests:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    # -- request handling ----------------------------------------------------------------------

    def _answer(self, record: RecordedRequest) -> tuple[int, dict[str, str], dict | None]:
        """Decide the answer to one request: (status, headers, JSON body or None)."""
        if record.path != MAIL_SEND_PATH:
            return 404, {}, _error("not found")
        if record.method != "POST":
            return 405, {}, _error("method not allowed")
        faults = self.faults
        key = _key_of(record.body) if faults.max_faults_per_key is not None else None
        with self._lock:
            self._count += 1
            nth = self._count
            # drawn for every request so the sequence depends only on the seed and request order
            roll = faults.random.random()
            every = faults.fail_every_nth_with_429
            limited = bool(every and nth % every == 0)
            hang_now = bool(faults.hang_seconds) and (faults.hang_every_nth is None
                                                     or (nth % faults.hang_every_nth == 0 and not limited))
            fail_now = not limited and roll < faults.fail_ratio_500
            if faults.max_faults_per_key is not None and (fail_now or (hang_now and faults.hang_every_nth)):
                if self._faults_by_key.get(key, 0) >= faults.max_faults_per_key:
                    fail_now = hang_now = False
                else:
                    self._faults_by_key[key] = self._faults_by_key.get(key, 0) + 1
        if hang_now:
            self._stopping.wait(faults.hang_seconds)
            if faults.hang_every_nth:
                return 503, {}, _error("service unavailable")
        if record.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {}, _error(
                "The provided authorization grant is invalid, expired, or revoked")
        if limited:
            headers = {"Retry-After": faults.retry_after} if faults.retry_after else {}
            return 429, headers, _error("too many requests")
        if fail_now:
            return 500, {}, _error("internal server error")
        try:
            record.json = json.loads(record.body)
        except ValueError:
            return 400, {}, _error("Bad Request", field=None)
        errors = mail_send_errors(record.json, self.validator)
        if errors:
            return 400, {}, {"errors": errors}
        with self._lock:
            self.accepted.append(record.json)
        return 202, {"X-Message-Id": uuid.uuid4().hex[:22]}, None


def _key_of(body: bytes) -> str | None:
    """The message's `idempotency_key` custom arg, or None when the body has none."""
    try:
        parsed = json.loads(body)
        for personalization in parsed.get("personalizations", []):
            key = (personalization.get("custom_args") or {}).get("idempotency_key")
            if key:
                return key
        return (parsed.get("custom_args") or {}).get("idempotency_key")
    except (ValueError, AttributeError, TypeError):
        return None


def _error(message: str, field: str | None = None) -> dict:
    return {"errors": [{"message": message, "field": field, "help": None}]}


def _handler_for(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # a client that connects and sends nothing must not pin a thread forever
        timeout = 2 if fake.keep_alive else 10
        protocol_version = "HTTP/1.1" if fake.keep_alive else "HTTP/1.0"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            record = RecordedRequest(
                method=self.command,
                path=self.path.split("?")[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            status, headers, payload = fake._answer(record)
            record.status = status
            with fake._lock:
                fake.requests.append(record)
            data = json.dumps(payload).encode() if payload is not None else b""
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing to answer

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean; `fake.requests` is the log

    return Handler


@pytest.fixture
def fake_sendgrid():
    """A started FakeSendGrid with no injected failures; stopped after the test.
    For options, use `with FakeSendGrid(...) as server:` in the test instead."""
    with FakeSendGrid() as server:
        yield server
