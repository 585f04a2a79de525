"""The floor under the pipeline on PostgreSQL: leads/s with nothing but COPY and one UPDATE (not a test).

    python benchmarks/copy_floor.py --database-url postgresql+psycopg://... [--leads 100000] [--json]

Sets up a fresh schema the way pipeline_throughput.py does (DROP SCHEMA public CASCADE, CREATE SCHEMA
public, the project's migrations, then a CHECKPOINT; not timed), then times, on one psycopg
connection and in one transaction, from the first COPY to the commit:
  1. COPY of N lead rows: the synthetic leads pipeline_throughput.py seeds, built in Python as they stream;
  2. reading the N new lead ids back (SELECT id FROM lead ORDER BY id);
  3. COPY of N history rows into lead_event: a `scored` event per lead with the JSON detail the flow writes;
  4. one update of every lead: COPY of N (id, scores) rows into a temporary table, then one
     UPDATE lead ... FROM it setting fit_score, engagement_score, score_total, tier, score_breakdown,
     scored_at, stage, needs_scoring and updated_at;
  5. the commit.
leads_per_s is N over that time: what "1 lead + 1 history row + 1 update" costs at the least.
`--json` prints one JSON line: leads, seconds, leads_per_s and the seconds of each step.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any, Iterator

from sqlalchemy import text

from leadrelay.db import engine_for, upgrade_schema
from pipeline_throughput import AS_OF, LEAD_COLUMNS, copy_rows, lead_rows, settle

HISTORY_COLUMNS = ["lead_id", "at", "kind", "actor", "to_stage", "detail", "flow_run_id"]
SCORE_COLUMNS = ["id", "fit_score", "engagement_score", "score_total", "tier", "score_breakdown", "scored_at", "stage"]
FLOW_RUN_ID = str(uuid.uuid4())


def scores(lead_id: int) -> dict[str, Any]:
    """Scores of the size and shape the pipeline writes, varied by lead."""
    fit = lead_id % 60 - 10
    return {"id": lead_id, "fit_score": fit, "engagement_score": 0, "score_total": fit,
            "tier": "warm" if fit >= 40 else "cold", "scored_at": AS_OF, "stage": "nurturing",
            "score_breakdown": [{"rule": "Stated a need", "points": 5},
                                {"rule": "Mid-market (100-999 employees)", "points": 6},
                                {"rule": "Target industry", "points": fit - 11}]}


def history_rows(ids: list[int]) -> Iterator[dict[str, Any]]:
    for lead_id in ids:
        row = scores(lead_id)
        yield {"lead_id": lead_id, "at": AS_OF, "kind": "scored", "actor": "flow:pipeline", "to_stage": None,
               "detail": {"fit": row["fit_score"], "tier": row["tier"], "total": row["score_total"], "engagement": 0,
                          "previous_total": 0},
               "flow_run_id": FLOW_RUN_ID}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL URL; its public schema is replaced")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    engine = engine_for(args.database_url)
    if engine.dialect.name != "postgresql":
        parser.error("the COPY floor needs PostgreSQL")
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_schema(engine)
    settle(engine)

    steps: dict[str, float] = {}
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            started = mark = time.perf_counter()

            def step(name: str) -> None:
                nonlocal mark
                steps[name] = round(time.perf_counter() - mark, 3)
                mark = time.perf_counter()

            copy_rows(cursor, "lead", LEAD_COLUMNS, lead_rows(args.leads))
            step("copy_leads")
            ids = [lead_id for (lead_id,) in cursor.execute("SELECT id FROM lead ORDER BY id")]
            step("read_ids")
            copy_rows(cursor, "lead_event", HISTORY_COLUMNS, history_rows(ids))
            step("copy_history")
            cursor.execute("CREATE TEMPORARY TABLE lead_scores (id integer, fit_score integer, engagement_score integer,"
                           " score_total integer, tier varchar(8), score_breakdown jsonb, scored_at timestamp,"
                           " stage varchar(16)) ON COMMIT DROP")
            copy_rows(cursor, "lead_scores", SCORE_COLUMNS, map(scores, ids))
            cursor.execute("UPDATE lead SET fit_score = s.fit_score, engagement_score = s.engagement_score,"
                           " score_total = s.score_total, tier = s.tier, score_breakdown = s.score_breakdown,"
                           " scored_at = s.scored_at, stage = s.stage, needs_scoring = false,"
                           " updated_at = s.scored_at FROM lead_scores AS s WHERE lead.id = s.id")
            updated = cursor.rowcount
            step("update")
        connection.commit()
        step("commit")
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if updated != args.leads:
        raise SystemExit(f"updated {updated} leads, expected {args.leads}")

    if args.json:
        print(json.dumps({"leads": args.leads, "seconds": round(elapsed, 2),
                          "leads_per_s": round(args.leads / elapsed, 1), "steps": steps}))
    else:
        print(f"COPY floor: {args.leads} leads + {args.leads} history rows + one update of every lead in "
              f"{elapsed:.2f}s = {args.leads / elapsed:,.0f} leads/s ({steps})")


if __name__ == "__main__":
    main()
