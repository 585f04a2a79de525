"""How fast `leadrelay import` takes a CSV: prints rows/s (not a test).

    python benchmarks/import_throughput.py --rows 100000 [--database-url URL] [--json]

Writes two synthetic CSVs of N rows each (companies of about four leads, so accounts are shared;
one row in 500 is bad, so quarantine is exercised; one in 1,000 repeats an earlier email of the same
file, so in-file merges are exercised), then times `import_csv` three times on a fresh database:
the first file into an empty table, the second (other emails) into a table that already holds N
leads, and the first file again (every row merges into an existing lead). On PostgreSQL the run
uses a fresh schema that is dropped afterwards, and each import starts after a CHECKPOINT; the default
is a fresh SQLite file in a temp dir.
`--json` prints the lines to stderr and one JSON line of rows/s per import to stdout.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import create_engine

from leadrelay.db import upgrade_schema
from leadrelay.intake.importer import import_csv
from leadrelay.models import Lead, LeadEvent, QuarantineEntry
from pipeline_throughput import settle

AS_OF = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
COLUMNS = ["email", "first_name", "last_name", "title", "company", "company_domain", "industry", "company_size",
           "country", "budget_usd", "timeframe_months", "need", "source", "consent", "demo_request"]
TITLES = ["CEO", "VP Sales", "Head of Marketing", "Marketing Ops Manager", "Sales Rep", "CTO"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Finance", "Healthcare"]
COUNTRIES = ["DE", "US", "GB", "FR", "NL"]


def write_csv(path: Path, rows: int, prefix: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            company = i // 4
            email = f"{prefix}.{i}@company{company}.example"
            if i % 1000 == 999:
                email = f"{prefix}.{i - 7}@COMPANY{(i - 7) // 4}.example"  # an in-file duplicate, other case
            if i % 500 == 250:
                email = f"not-an-email-{i}"  # quarantined
            writer.writerow([
                email, f"First{i}", f"Last{i}", TITLES[i % len(TITLES)], f"Company {company}",
                f"company{company}.example", INDUSTRIES[company % len(INDUSTRIES)], [12, 120, 800, 5000][company % 4],
                COUNTRIES[company % len(COUNTRIES)], f"${(i % 50) * 1000}", i % 12, "Faster handoff" if i % 3 else "",
                "bench", "yes" if i % 4 else "no", "yes" if i % 7 == 0 else "",
            ])


def fresh_engine(url: str | None, scratch: Path):
    if not url:
        engine = create_engine(f"sqlite:///{scratch / 'bench.db'}")
        return engine, engine.dispose
    admin = create_engine(url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})

    def cleanup():
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return engine, cleanup


def timed_import(label: str, path: Path, engine, rows: int, out=sys.stdout) -> float:
    settle(engine)
    start = time.perf_counter()
    counts = import_csv(path, AS_OF, engine=engine)
    elapsed = time.perf_counter() - start
    print(f"{label:<38} {rows:>8} rows {elapsed:8.2f} s {rows / elapsed:>10,.0f} rows/s   "
          f"({counts.created} created, {counts.merged} merged, {counts.quarantined} quarantined)", file=out, flush=True)
    return round(rows / elapsed, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--json", action="store_true", help="lines to stderr, one JSON line to stdout")
    args = parser.parse_args()
    out = sys.stderr if args.json else sys.stdout

    scratch = Path(tempfile.mkdtemp())
    first, second = scratch / "first.csv", scratch / "second.csv"
    write_csv(first, args.rows, "a")
    write_csv(second, args.rows, "b")
    engine, cleanup = fresh_engine(args.database_url, scratch)
    try:
        upgrade_schema(engine)
        print(f"database: {engine.dialect.name}", file=out)
        rates = {"empty_table": timed_import("into an empty table", first, engine, args.rows, out),
                 "into_existing": timed_import("new rows into a table of N leads", second, engine, args.rows, out),
                 "all_merges": timed_import("the first file again (all merges)", first, engine, args.rows, out)}
        with engine.connect() as connection:
            leads = connection.scalar(select(func.count()).select_from(Lead))
            events = connection.scalar(select(func.count()).select_from(LeadEvent))
            quarantined = connection.scalar(select(func.count()).select_from(QuarantineEntry))
        print(f"leads {leads}, history events {events}, quarantine {quarantined}", file=out)
        if args.json:
            print(json.dumps({"rows": args.rows, "dialect": engine.dialect.name, "rows_per_s": rates}))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
