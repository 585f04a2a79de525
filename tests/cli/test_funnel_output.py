"""`leadrelay funnel` as a manager reads it: every step with its conversion, and the breakdowns
by rep, SLA by rep and tier, track, rejection reason, time in stage and week over week."""
from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlmodel import create_engine

from leadrelay.models import Handoff, Lead
from tests.cli.test_commands import run, workdir  # noqa: F401  (the fixture)
from tests.support.funnel_data import seed_funnel


def closed_funnel(directory) -> str:
    """The report tests' funnel, plus one accepted lead qualified (day 3) and won (day 5)."""
    assert run("init").exit_code == 0
    engine = create_engine(f"sqlite:///{directory / 'leadrelay.db'}")
    seed_funnel(engine, directory)
    with engine.connect() as connection:
        email = connection.execute(select(Lead.email).join(Handoff, Handoff.lead_id == Lead.id)
                                   .where(Handoff.status == "accepted").order_by(Lead.id)).scalars().first()
    engine.dispose()
    for outcome, at in (("sql", "2026-11-05T10:00:00Z"), ("won", "2026-11-07T10:00:00Z")):
        result = run("outcome", outcome, email, "--as-of", at, "--amount", "1000")
        assert result.exit_code == 0, result.output
    return email


def row(output: str, first: str) -> list[str]:
    """The cells of the first table row whose first cell is `first`."""
    rows = ([cell for cell in re.split(r"[\s│]+", line) if cell] for line in output.splitlines())
    return next(cells for cells in rows if cells and cells[0] == first)


def test_the_funnel_shows_every_step_with_its_conversion_and_the_managers_breakdowns(workdir):  # noqa: F811
    closed_funnel(workdir)
    result = run("funnel", "--as-of", "2026-11-17T08:00:00Z")  # the last whole week: 9 November
    assert result.exit_code == 0, result.output
    out = result.output
    report = json.loads(run("funnel", "--json", "--as-of", "2026-11-17T08:00:00Z").stdout)

    assert report["stages"]["sql"] == 1 and report["stages"]["won"] == 1
    assert report["conversion_overall"]["contacts->won"] == round(1 / 13, 4)
    # stage, reached, conversion from the stage before, from contacts
    assert row(out, "sql") == ["sql", "1", "50%", "7.7%"]
    assert row(out, "won") == ["won", "1", "100%", "7.7%"]
    for title in ("by rep", "SLA by rep and tier (met/breached/open)", "by nurture track", "weekly (week of Monday, UTC)"):
        assert title in out
    rep, tiers = next(iter(report["sla_by_rep_and_tier"].items()))
    hot = tiers["hot"]
    assert row(out, rep)[:2] == [rep, str(report["by_rep"][rep]["handoffs"])]
    assert f"{hot['met']}/{hot['breached']}/{hot['open']}" in out
    assert "rejection reasons: bad-timing 2, no-budget 1" in out
    # accepted at 10:00 on day 0, qualified day 3 at 10:00, won day 5: 3 days in sal, 2 in sql
    assert "sal 3, sql 2" in out
    assert "week over week (2026-11-09 vs 2026-11-02): contacts 3 (-7, -70%)" in out.replace("\n", " ")
    assert report["week_over_week"]["stages"]["contacts"] == {"count": 3, "previous": 10, "change": -7,
                                                              "change_pct": -0.7}


def test_an_empty_funnel_prints_its_table_without_breakdowns(workdir):  # noqa: F811
    assert run("init").exit_code == 0
    result = run("funnel")
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "rejection reasons: none" in result.output and "no stage left yet" in result.output
    assert "week over week" not in result.output


def test_a_bad_as_of_is_a_usage_error(workdir):  # noqa: F811
    assert run("init").exit_code == 0
    result = run("funnel", "--as-of", "last tuesday-ish")
    assert result.exit_code == 2 and "is not an ISO 8601 date" in result.output
