"""Every throughput benchmark in one table: what `make bench` runs (not a test).

    python benchmarks/bench.py [--postgres-url URL] [--sizes 10000,100000] [--skip-1m]

Runs each benchmark script with `--json` as a subprocess of its own (so each reports its own peak
RSS) against the PostgreSQL database of --postgres-url (created if missing; the scripts replace its
public schema) or a fresh SQLite file, prints progress to stderr, and prints to stdout the machine
and one markdown table of:
  - import rows/s on PostgreSQL (import_throughput.py --rows R): into an empty table, and R new rows
    into a table already holding R leads;
  - pipeline leads/s (pipeline_throughput.py) on PostgreSQL at each of --sizes and at 1,000,000
    (unless --skip-1m), and on SQLite at R, each with the share of leads handed off and peak RSS;
  - sending emails/s (send_throughput.py, 2,000 emails, PostgreSQL);
  - the naive flow (pipeline_throughput.py --naive 300: batch size 1, PostgreSQL);
  - the COPY floor at R leads (copy_floor.py);
  - pipeline leads/s on PostgreSQL at R over the naive flow's and over the COPY floor's.
R, the reference size, is the largest of --sizes: 100,000 by default. A target is checked only at
the size it is set for (100,000, or 1,000,000 for memory); a missed one is marked MISSED. Peak RSS
is the benchmark process's (seeding and the flow); Prefect's local server runs in a process of its
own and is not counted. On PostgreSQL every measured run starts after a CHECKPOINT (see `settle`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/leadrelay_bench"
TARGET_SIZE = 100_000
ONE_MILLION = 1_000_000
NAIVE_LEADS = 300
MISSED = "**MISSED**"


def ensure_database(url: str) -> str:
    """Create the database `url` names unless it exists; returns the server's PostgreSQL version."""
    parts = make_url(url)
    params = {"host": parts.host, "port": parts.port, "user": parts.username, "password": parts.password}
    with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v is not None}) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parts.database)))
            print(f"[bench] created database {parts.database}", file=sys.stderr)
        return conn.execute("SHOW server_version").fetchone()[0]


def machine(postgres_version: str) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text()
    ram_kb = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal"))
    return [f"- CPU: {os.cpu_count()} x {model}", f"- RAM: {ram_kb / 1024 ** 2:.1f} GiB",
            f"- PostgreSQL: {postgres_version}", f"- Python: {platform.python_version()}"]


def run(label: str, script: str, *args: str) -> dict:
    """Run `script --json` with `args`; its JSON line, or {"failed": why} if it failed."""
    print(f"[bench] {label} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *args, "--json"], cwd=HERE.parent,
                          stdout=subprocess.PIPE, text=True)
    lines = done.stdout.splitlines()
    for line in lines[:-1]:
        print(line, file=sys.stderr)  # anything the script printed besides its JSON line
    print(f"[bench] {label}: done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    if done.returncode or not lines or not lines[-1].startswith("{"):
        return {"failed": f"FAILED (exit code {done.returncode})"}
    return json.loads(lines[-1])


def verdict(ok: bool, size: int, target_size: int) -> str:
    if size != target_size:
        return f"not checked (set for {target_size:,})"
    return "yes" if ok else MISSED


def pipeline_row(name: str, size: int, result: dict, target: str = "", met: str = "") -> list[str]:
    if "failed" in result:
        return [name, f"{size:,}", result["failed"], "", "", target, MISSED if target else ""]
    return [name, f"{size:,}", f"{result['leads_per_s']:,.0f} leads/s", f"{result['share_handed_off']:.1%}",
            f"{result['peak_rss_mb']:,.0f} MB", target, met]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("LEADRELAY_BENCH_POSTGRES_URL", DEFAULT_URL),
                        help="default: $LEADRELAY_BENCH_POSTGRES_URL or " + DEFAULT_URL)
    parser.add_argument("--sizes", default="10000,100000", help="pipeline sizes on PostgreSQL, comma-separated")
    parser.add_argument("--skip-1m", action="store_true", help="leave out the 1,000,000-lead pipeline run")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    reference = sizes[-1]
    url = args.postgres_url
    postgres_version = ensure_database(url)

    imported = run(f"import {reference:,} rows, PostgreSQL", "import_throughput.py", "--rows", str(reference),
                   "--database-url", url)
    sent = run("send 2,000 emails, PostgreSQL", "send_throughput.py", "--database-url", url)
    floor = run(f"COPY floor {reference:,} leads", "copy_floor.py", "--leads", str(reference), "--database-url", url)
    naive = run(f"naive pipeline {NAIVE_LEADS} leads, PostgreSQL", "pipeline_throughput.py",
                "--naive", str(NAIVE_LEADS), "--database-url", url)
    sqlite = run(f"pipeline {reference:,} leads, SQLite", "pipeline_throughput.py", "--leads", str(reference))
    postgres_sizes = sorted(set(sizes) | (set() if args.skip_1m else {ONE_MILLION}))
    postgres = {size: run(f"pipeline {size:,} leads, PostgreSQL", "pipeline_throughput.py", "--leads", str(size),
                          "--database-url", url) for size in postgres_sizes}

    rows = []
    for key, name in (("empty_table", "import into an empty table, PostgreSQL"),
                      ("into_existing", f"import into {reference:,} existing leads, PostgreSQL")):
        if "failed" in imported:
            rows.append([name, f"{reference:,}", imported["failed"], "", "", ">= 10,000 rows/s", MISSED])
            continue
        rate = imported["rows_per_s"][key]
        rows.append([name, f"{reference:,}", f"{rate:,.0f} rows/s", "", "", ">= 10,000 rows/s",
                     verdict(rate >= 10_000, reference, TARGET_SIZE)])
    for size, result in postgres.items():
        if size == ONE_MILLION:
            ok = "failed" not in result and result["peak_rss_mb"] < 300
            rows.append(pipeline_row("pipeline, PostgreSQL", size, result, "peak RSS < 300 MB", "yes" if ok else MISSED))
        else:
            ok = "failed" not in result and result["leads_per_s"] >= 10_000
            rows.append(pipeline_row("pipeline, PostgreSQL", size, result, ">= 10,000 leads/s",
                                     verdict(ok, size, TARGET_SIZE)))
    ok = "failed" not in sqlite and sqlite["leads_per_s"] >= 3_000
    rows.append(pipeline_row("pipeline, SQLite", reference, sqlite, ">= 3,000 leads/s",
                             verdict(ok, reference, TARGET_SIZE)))
    rows.append(pipeline_row("pipeline, naive (batch size 1), PostgreSQL", NAIVE_LEADS, naive))
    if "failed" in sent:
        rows.append(["sending (loopback SendGrid), PostgreSQL", "2,000", sent["failed"], "", "", ">= 500 emails/s",
                     MISSED])
    else:
        rows.append(["sending (loopback SendGrid), PostgreSQL", f"{sent['emails']:,}",
                     f"{sent['emails_per_s']:,.0f} emails/s", "", "", ">= 500 emails/s",
                     "yes" if sent["emails_per_s"] >= 500 else MISSED])
    rows.append(["COPY floor: 1 lead + 1 history row + 1 update, PostgreSQL", f"{reference:,}",
                 floor.get("failed") or f"{floor['leads_per_s']:,.0f} leads/s", "", "", "", ""])
    pipeline = postgres[reference]
    for name, base, target in (("naive", naive, 100), ("COPY floor", floor, 0.15)):
        label = f"pipeline PostgreSQL at {reference:,} / {name}"
        if "failed" in pipeline or "failed" in base:
            rows.append([label, "", "not available (a run failed)", "", "", f">= {target:g}x", MISSED])
            continue
        ratio = pipeline["leads_per_s"] / base["leads_per_s"]
        rows.append([label, "", f"{ratio:.3g}x", "", "", f">= {target:g}x",
                     verdict(ratio >= target, reference, TARGET_SIZE)])

    print("\n".join(["## Machine", "", *machine(postgres_version), "", "## Throughput", "",
                     "Peak RSS: the benchmark process (Prefect's local server runs apart and is not counted).", ""]))
    header = ["measurement", "N", "result", "handed off", "peak RSS", "target", "met"]
    for cells in [header, ["---"] * len(header), *rows]:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
