"""`simulate` over stored leads on SQLite and PostgreSQL: the same answer in any batch size, and
nothing written (row counts, scores, history and update times identical before and after)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, inspect, select, text

from leadrelay.config.rules import load_rules
from leadrelay.db import unit_of_work
from leadrelay.models import Lead
from leadrelay.scoring.simulate import simulate
from tests.factories import REPO, T0, add_handoff
from tests.support.scored_leads import scored_lead

LIVE = load_rules(REPO / "config")
THEN = T0 - timedelta(days=60)


def seed(engine) -> None:
    with unit_of_work(engine) as session:
        for n in range(7):
            scored_lead(session, f"n{n}@x.example", "nurturing", LIVE.scoring, THEN, [("email_click", n)],
                        title="VP Sales", budget_usd=60000, country=["DE", "US", "BR"][n % 3])
        held = scored_lead(session, "held@x.example", "mql", LIVE.scoring, THEN, [("demo_request", 0)],
                           title="VP Sales", budget_usd=60000)
        add_handoff(session, held, created_at=THEN)
        scored_lead(session, "won@x.example", "won", LIVE.scoring, THEN, [("demo_request", 0)], title="CEO")


def snapshot(engine) -> dict:
    with engine.connect() as connection:
        counts = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
                  for name in inspect(engine).get_table_names()}
        counts["leads"] = connection.execute(select(Lead.id, Lead.stage, Lead.score_total, Lead.tier, Lead.updated_at,
                                                    Lead.score_breakdown).order_by(Lead.id)).all()
        counts["latest update"] = connection.execute(select(func.max(Lead.updated_at))).scalar()
    return counts


def test_simulate_writes_nothing_and_answers_the_same_in_any_batch_size(engine):
    seed(engine)
    other = replace(LIVE, scoring=LIVE.scoring.model_copy(update={"mql_threshold": 38}))
    before = snapshot(engine)
    small = simulate(engine, LIVE, other, T0, batch_size=2, config_dir="other")
    big = simulate(engine, LIVE, other, T0, batch_size=1000, config_dir="other")
    assert snapshot(engine) == before
    assert small == big
    assert small["leads"] == 8  # the won lead keeps the score it was won with
    assert small["mql"]["became"] == 7 and small["handoffs"]["total"] == 7
    assert small["mql"]["threshold"] == {"live": 60, "simulated": 38}
    assert sum(small["handoffs"]["by_rep"].values()) + small["handoffs"]["unassigned"] == 7
