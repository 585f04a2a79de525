"""How fast the pipeline flow scores and stages leads: prints leads/s (not a test).

    python benchmarks/pipeline_throughput.py --leads 100000 [--database-url URL] [--batch-size N] [--json]
    python benchmarks/pipeline_throughput.py --naive 300 [--database-url URL] [--json]

Seeds N synthetic leads straight into a fresh database (the import path is not what is measured;
the rows are streamed, with COPY on PostgreSQL, so memory does not grow with N) and, on
PostgreSQL, writes out the dirty pages with a CHECKPOINT (`settle`), then times one `pipeline`
flow run under Prefect's local server, which scores every lead, moves its stage and writes its
history, and routes every MQL to a rep with a rendered notification, batch by batch.
`--naive N` seeds N leads and runs the same flow with batch_size=1: one Prefect task run per lead
per step. `--json` prints one JSON line instead of the sentence: leads (seeded), scored, seconds,
leads_per_s (scored / seconds), cpu_seconds (this process's CPU time during the run: Python's
share, against PostgreSQL's in the rest), handed_off, share_handed_off, history_events, left_unscored,
peak_rss_mb (this process's peak resident memory, seeding included; Prefect's local server runs in
a process of its own and is not counted), dialect and naive.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from leadrelay.config.settings import get_settings  # noqa: E402
from leadrelay.db import unit_of_work, upgrade_schema  # noqa: E402
from leadrelay.demo.data import sample_leads  # noqa: E402
from leadrelay.intake.normalise import LeadInput, normalise_lead  # noqa: E402
from leadrelay.wiring import build_services, use_services  # noqa: E402
from leadrelay.models import Lead, LeadEvent  # noqa: E402

AS_OF = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
LEAD_COLUMNS = [column.name for column in Lead.__table__.columns if column.name != "id"]
CHUNK = 10_000


def lead_rows(count: int) -> Iterator[dict[str, Any]]:
    """`count` new leads, one at a time, each with every column: the fields of 500 demo leads in
    turn, each lead with an email of its own."""
    templates = [normalise_lead(row) for row in sample_leads(500, seed=1)]
    templates = [t for t in templates if isinstance(t, LeadInput)]
    for i in range(count):
        template = templates[i % len(templates)]
        row = dict.fromkeys(LEAD_COLUMNS)
        row.update({k: v for k, v in template.fields.items() if k != "company_domain"})
        row.update(email=f"lead{i}@bench{i % 5000}.example", attributes=template.attributes, list_kind="internal",
                   stage="new", email_status="ok", fit_score=0, engagement_score=0, score_total=0, tier="cold",
                   score_breakdown=[], needs_scoring=True, created_at=AS_OF, updated_at=AS_OF)
        yield row


def copy_value(value: Any) -> Any:
    """A value as COPY takes it: JSON as json text, datetimes as naive UTC (how the columns store them)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def copy_rows(cursor, table: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """COPY `rows` into `table` through a psycopg cursor; psycopg sends them on in chunks as they come."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([copy_value(row[column]) for column in columns])


def seed(engine, count: int) -> None:
    """Insert `count` leads from `lead_rows`, never holding more than one chunk of them: one COPY on
    PostgreSQL (then ANALYZE, as autovacuum would soon after a bulk load), inserts of 10,000 on SQLite."""
    rows = lead_rows(count)
    if engine.dialect.name == "postgresql":
        connection = engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                copy_rows(cursor, "lead", LEAD_COLUMNS, rows)
                cursor.execute("ANALYZE lead")
            connection.commit()
        finally:
            connection.close()
        return
    while chunk := list(islice(rows, CHUNK)):
        with unit_of_work(engine) as session:
            session.execute(insert(Lead), chunk)


def settle(engine) -> None:
    """On PostgreSQL, write out the dirty pages the set-up left (CHECKPOINT) before a measured run
    starts, so the checkpoint they would trigger does not land inside it at a random point.

    Back to back on this machine, 100k pipeline runs read 8.1-11.2 s without it, 7.1-8.1 s with it.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        try:
            connection.execute(text("CHECKPOINT"))
        except DBAPIError as error:  # it needs a superuser or pg_checkpoint: measure without it
            print(f"CHECKPOINT refused ({type(error.orig).__name__}), measuring without it", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--naive", type=int, metavar="N", help="seed N leads and run the flow with batch_size=1")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--json", action="store_true", help="print one JSON line (progress goes to stderr)")
    args = parser.parse_args()
    leads, batch_size = (args.naive, 1) if args.naive else (args.leads, args.batch_size)
    progress = sys.stderr if args.json else sys.stdout

    scratch = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{scratch / 'bench.db'}"
    # Notifications for the MQLs go to a scratch outbox, never the working directory's.
    wired = build_services(get_settings().model_copy(update={"database_url": url, "outbox_dir": scratch / "outbox",
                                                             "email_backend": "outbox"}))
    dialect = wired.engine.dialect.name
    if dialect == "postgresql":
        with wired.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_schema(wired.engine)
    started = time.perf_counter()
    seed(wired.engine, leads)
    print(f"seeded {leads} leads in {time.perf_counter() - started:.1f}s ({dialect})", file=progress, flush=True)

    from prefect import flow

    from leadrelay.flows.pipeline import pipeline

    # Prefect's local server starts with the first flow run: not part of what is measured.
    flow(name="warm-up")(lambda: None)()
    settle(wired.engine)
    with use_services(wired):
        started, cpu_started = time.perf_counter(), time.process_time()
        # The notifications are queued with their content, as the deployment does; sending is
        # the send flow's work (benchmarks/send_throughput.py measures it).
        result = pipeline(as_of=AS_OF, batch_size=batch_size, send=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with unit_of_work(wired.engine) as session:
        events = session.scalar(select(func.count()).select_from(LeadEvent))
        waiting = session.scalar(select(func.count()).select_from(Lead).where(Lead.needs_scoring.is_(True)))
    scored = result["scoring"].get("claimed", 0)
    handed_off = result["handoff"].get("claimed", 0)
    if args.json:
        print(json.dumps({
            "leads": leads, "scored": scored, "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2), "leads_per_s": round(scored / elapsed, 1),
            "handed_off": handed_off, "share_handed_off": round(handed_off / leads, 4), "history_events": events,
            "left_unscored": waiting, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "dialect": dialect, "naive": bool(args.naive),
        }))
        return
    print(f"pipeline flow{' (naive: batch size 1)' if args.naive else ''}: {scored} leads scored and staged, "
          f"{handed_off} handed off with their notifications queued, in {elapsed:.1f}s = "
          f"{scored / elapsed:,.0f} leads/s ({events} history events; {waiting} left unscored)")

if __name__ == "__main__":
    main()
