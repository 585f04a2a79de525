"""How fast the outbox drains to a loopback SendGrid: prints emails/s (not a test).

    python benchmarks/send_throughput.py [--emails 2000] [--database-url URL] [--batch-size N] [--json]

Seeds N pending outbox rows with realistic content (an HTML body and a text part of the sizes the
rendered nurture and rep emails have, headers, categories, custom args) into a fresh database,
starts `tests.support.fake_sendgrid.FakeSendGrid` in a process of its own (it validates every body
against SendGrid's OpenAPI schema; HTTP/1.1 keep-alive like SendGrid; in this process its
validation would hold the sender's interpreter lock, which a real SendGrid does not), and times
`send_due` with the real `SendGridSender` pointed at it. Then checks
that every message was accepted exactly once: no idempotency key received twice, none missing.
`--json` prints the lines to stderr and one JSON line (emails, seconds, emails_per_s, exactly_once,
dialect) to stdout.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

from sqlalchemy import func, insert, select, text  # noqa: E402

from leadrelay.db import engine_for, unit_of_work, upgrade_schema  # noqa: E402
from leadrelay.email.backends import SendGridSender  # noqa: E402
from leadrelay.email.outbox import send_due  # noqa: E402
from leadrelay.models import OutboxEmail  # noqa: E402
from tests.support.fake_sendgrid import FakeSendGrid  # noqa: E402
from pipeline_throughput import settle  # noqa: E402

AS_OF = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
KEY = "SG.bench-key.loopback"


def _serve(pipe) -> None:
    with FakeSendGrid(KEY, keep_alive=True) as server:  # SendGrid keeps connections alive too
        pipe.send(server.url)
        pipe.recv()  # until the sender is done
        pipe.send((server.accepted_idempotency_keys(), server.status_counts()))


@contextmanager
def loopback_sendgrid():
    """(the server's URL, a function returning the keys it accepted and its answers by status),
    with the server in a child process."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(theirs,), daemon=True)
    process.start()
    received = []

    def results() -> tuple[list[str], dict[int, int]]:
        if not received:
            ours.send("stop")
            received.append(ours.recv())
        return received[0]

    try:
        yield ours.recv(), results
    finally:
        results()
        process.join(10)


def content(i: int) -> tuple[str, str]:
    """An HTML and a text body about the size of a rendered, CSS-inlined nurture email."""
    paragraph = ("<p style=\"margin:0 0 16px 0;font-family:Helvetica,Arial,sans-serif;font-size:16px;"
                 "line-height:24px;color:#1f2933\">Teams like yours at company {i} cut their lead response "
                 "time in half by routing hot leads to the right rep within minutes. Here is how.</p>")
    html = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Nurture</title></head>"
            "<body style=\"margin:0;padding:0;background:#f5f7fa\"><table role=\"presentation\" width=\"100%\">"
            "<tr><td style=\"padding:24px\">" + "".join(paragraph.format(i=i) for _ in range(14)) +
            f"<a href=\"https://example.com/guide?utm_source=leadrelay&amp;utm_campaign=edu&amp;lead={i}\" "
            "style=\"display:inline-block;padding:12px 20px;background:#0b69ff;color:#ffffff\">Read the guide</a>"
            f"<p style=\"font-size:12px;color:#7b8794\"><a href=\"https://example.com/u/{i}\">Unsubscribe</a></p>"
            "</td></tr></table></body></html>")
    text_part = "\n\n".join(f"Teams like yours at company {i} cut their lead response time in half." for _ in range(14))
    return html, text_part + f"\n\nRead the guide: https://example.com/guide?lead={i}\nUnsubscribe: https://example.com/u/{i}\n"


def seed(engine, count: int) -> None:
    rows = []
    for i in range(count):
        html, text_part = content(i)
        rows.append({
            "idempotency_key": f"nurture:{i}:0", "kind": "nurture", "lead_id": None,
            "to_email": f"lead{i}@bench{i % 500}.example", "to_name": f"Lead {i}",
            "from_email": "marketing@example.com", "from_name": "Example Marketing",
            "subject": f"How teams like yours answer leads in minutes ({i})", "html": html, "text": text_part,
            "headers": {"List-Unsubscribe": f"<https://example.com/u/{i}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            "categories": ["nurture", "edu"], "custom_args": {"kind": "nurture", "enrollment_id": str(i)},
            "status": "pending", "attempts": 0, "created_at": AS_OF, "next_attempt_at": AS_OF,
        })
    with unit_of_work(engine) as session:
        session.execute(insert(OutboxEmail), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--json", action="store_true", help="lines to stderr, one JSON line to stdout")
    args = parser.parse_args()
    out = sys.stderr if args.json else sys.stdout

    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = engine_for(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # a fresh database each run
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade_schema(engine)
    seed(engine, args.emails)
    settle(engine)

    with loopback_sendgrid() as (url, results):
        sender = SendGridSender(KEY, host=url)
        started = time.perf_counter()
        totals = send_due(engine, sender, AS_OF, args.batch_size, retry_base_seconds=0.05, max_wait_seconds=30)
        elapsed = time.perf_counter() - started
        sender.close()  # lets the server's connection threads end now
        keys, statuses = results()

    with unit_of_work(engine) as session:
        by_status = dict(session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())
    repeated = [key for key, n in Counter(keys).items() if n > 1]
    print(f"database: {engine.dialect.name}  emails: {args.emails}  batch size: {args.batch_size}", file=out)
    print(f"sent {totals['sent']} in {elapsed:.2f} s: {totals['sent'] / elapsed:,.0f} emails/s", file=out)
    print(f"server answers: {statuses}  rows: {by_status}", file=out)
    print(f"keys accepted: {len(keys)}, distinct {len(set(keys))}, received twice: {len(repeated)}", file=out)
    ok = not repeated and len(set(keys)) == args.emails and by_status == {"sent": args.emails}
    print("exactly once: " + ("yes" if ok else "NO"), file=out)
    if args.json:
        print(json.dumps({"emails": totals["sent"], "seconds": round(elapsed, 2),
                          "emails_per_s": round(totals["sent"] / elapsed, 1), "exactly_once": ok,
                          "dialect": engine.dialect.name}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
