"""How fast the pipeline flow scores and stages leads: prints leads/s (not a test).

    python benchmarks/pipeline_throughput.py --leads 100000 [--database-url URL] [--batch-size N]

Seeds N synthetic leads straight into a fresh database (the import path is not what is measured),
then times one `pipeline` flow run under Prefect's local server, which scores every lead, moves
its stage and writes its history, and routes every MQL to a rep with a rendered notification,
batch by batch.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from sqlalchemy import func, insert, select, text  # noqa: E402

from leadrelay.config.settings import get_settings  # noqa: E402
from leadrelay.db import unit_of_work, upgrade_schema  # noqa: E402
from leadrelay.demo.data import sample_leads  # noqa: E402
from leadrelay.intake.normalise import LeadInput, normalise_lead  # noqa: E402
from leadrelay.wiring import build_services, use_services  # noqa: E402
from leadrelay.models import Lead, LeadEvent  # noqa: E402

AS_OF = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def seed(engine, count: int) -> None:
    templates = [normalise_lead(row) for row in sample_leads(500, seed=1)]
    templates = [t for t in templates if isinstance(t, LeadInput)]
    rows = []
    for i in range(count):
        template = templates[i % len(templates)]
        fields = {k: v for k, v in template.fields.items() if k != "company_domain"}
        rows.append({"email": f"lead{i}@bench{i % 5000}.example", **fields, "attributes": template.attributes,
                     "needs_scoring": True, "created_at": AS_OF, "updated_at": AS_OF,  # stage: new by default
                     "score_breakdown": [], "list_kind": "internal"})
        if len(rows) == 10_000:
            with unit_of_work(engine) as session:
                session.execute(insert(Lead), rows)
            rows = []
    if rows:
        with unit_of_work(engine) as session:
            session.execute(insert(Lead), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{scratch / 'bench.db'}"
    # Notifications for the MQLs go to a scratch outbox, never the working directory's.
    wired = build_services(get_settings().model_copy(update={"database_url": url, "outbox_dir": scratch / "outbox",
                                                             "email_backend": "outbox"}))
    if wired.engine.dialect.name == "postgresql":
        with wired.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_schema(wired.engine)
    started = time.perf_counter()
    seed(wired.engine, args.leads)
    print(f"seeded {args.leads} leads in {time.perf_counter() - started:.1f}s ({wired.engine.dialect.name})")

    from leadrelay.flows.pipeline import pipeline

    with use_services(wired):
        started = time.perf_counter()
        result = pipeline(as_of=AS_OF, batch_size=args.batch_size)
        elapsed = time.perf_counter() - started
    with unit_of_work(wired.engine) as session:
        events = session.scalar(select(func.count()).select_from(LeadEvent))
        waiting = session.scalar(select(func.count()).select_from(Lead).where(Lead.needs_scoring.is_(True)))
    scored = result["scoring"].get("claimed", 0)
    print(f"pipeline flow: {scored} leads scored and staged, {result['handoff'].get('claimed', 0)} handed off with "
          f"{result['email'].get('sent', 0)} notifications, in {elapsed:.1f}s = {scored / elapsed:,.0f} leads/s "
          f"({events} history events; {waiting} left unscored)")


if __name__ == "__main__":
    main()
