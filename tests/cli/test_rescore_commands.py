"""`leadrelay rescore` and `leadrelay simulate` as a user meets them, and config typos caught
before they silently never match."""
from __future__ import annotations

import json
import shutil
from datetime import timedelta

from sqlalchemy import func, inspect, select, text

from leadrelay import wiring
from leadrelay.config.rules import load_rules
from leadrelay.db import engine_for, unit_of_work
from leadrelay.models import Lead
from tests.cli.test_commands import run, workdir  # noqa: F401  (the fixture)
from tests.conftest import REPO
from tests.factories import T0, add_handoff
from tests.support.scored_leads import scored_lead

RULES = load_rules(REPO / "config").scoring
THEN = T0 - timedelta(days=60)
AS_OF = T0.isoformat()


def seed(workdir) -> None:
    """Three leads scored 60 days ago: one hot then (accepted by a rep), one nurtured, one an MQL
    a rep holds."""
    assert run("init").exit_code == 0
    engine = engine_for(f"sqlite:///{workdir / 'leadrelay.db'}")
    with unit_of_work(engine) as session:
        scored_lead(session, "hana@hotco.example", "sal", RULES, THEN, [("demo_request", 0)],
                    title="VP Sales", budget_usd=60000)
        scored_lead(session, "nina@x.example", "nurturing", RULES, THEN, [("email_click", 0)],
                    title="VP Sales", budget_usd=60000, country="DE")
        held = scored_lead(session, "held@x.example", "mql", RULES, THEN, [("demo_request", 0)],
                           title="VP Sales", budget_usd=60000)
        add_handoff(session, held, created_at=THEN)


def snapshot(workdir) -> dict:
    """Every table's row count and the leads' latest update: what "writes nothing" compares."""
    engine = engine_for(f"sqlite:///{workdir / 'leadrelay.db'}")
    with engine.connect() as connection:
        counts = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
                  for name in inspect(engine).get_table_names()}
        counts["lead.updated_at"] = connection.execute(select(func.max(Lead.updated_at))).scalar()
        counts["lead.scores"] = connection.execute(select(Lead.score_total, Lead.tier).order_by(Lead.id)).all()
    return counts


def other_config(workdir, **replacements: str):
    other = workdir / "other"
    shutil.copytree(workdir / "config", other)
    path = other / "scoring.yaml"
    content = path.read_text()
    for old, new in replacements.items():
        assert old in content
        content = content.replace(old, new, 1)
    path.write_text(content)
    return other


def test_simulate_json_lists_what_would_change_and_writes_nothing(workdir):
    seed(workdir)
    other = other_config(workdir, **{"mql_threshold: 60": "mql_threshold: 40"})
    before = snapshot(workdir)
    result = run("simulate", "--config", str(other), "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert snapshot(workdir) == before

    assert set(report) == {"as_of", "config_dir", "leads", "score_changed", "tiers", "mql", "stage_moves",
                           "handoffs", "biggest_movers"}
    assert report["leads"] == 3 and report["as_of"] == "2026-11-02T09:00:00Z"
    assert report["tiers"] == {"moved": 2, "moves": {"hot->warm": 2}}
    # 40 today: the nurtured lead (39 after decay) stays below it; the held MQL (42) stays over it
    assert report["mql"] == {"threshold": {"live": 60, "simulated": 40}, "became": 0, "stopped": 0,
                             "kept_by_open_handoff": 0}
    movers = report["biggest_movers"]
    assert [m["change"] for m in movers] == [-26, -26, -3]
    assert set(movers[0]) == {"id", "email", "stage", "change", "old", "new"}
    assert movers[0]["old"]["tier"] == "hot" and movers[0]["new"]["tier"] == "warm"
    assert {"rule": "engagement: demo request", "points": 30} in movers[0]["old"]["breakdown"]


def test_simulate_routes_the_leads_that_would_become_mqls_to_reps(workdir):
    seed(workdir)
    other = other_config(workdir, **{"mql_threshold: 60": "mql_threshold: 39"})
    report = json.loads(run("simulate", "--config", str(other), "--as-of", AS_OF, "--json").stdout)
    assert report["mql"]["became"] == 1 and report["stage_moves"] == {"nurturing->mql": 1}
    # a lead from Germany: the dach pool
    [(rep, count)] = report["handoffs"]["by_rep"].items()
    assert rep in ("anna.schmidt@example.com", "lukas.bauer@example.com") and count == 1
    assert report["handoffs"]["total"] == 1 and report["handoffs"]["unassigned"] == 0

    human = run("simulate", "--config", str(other), "--as-of", AS_OF)
    assert human.exit_code == 0
    assert "1 would become MQLs" in human.output and "nurturing->mql 1" in human.output
    assert "hana@hotco.example (sal): 68 hot -> 42 warm" in human.output


def test_a_typo_in_a_scoring_rule_field_fails_simulate_and_init_naming_file_rule_and_field(workdir):
    seed(workdir)
    other = other_config(workdir, **{"field: title": "field: titel"})
    result = run("simulate", "--config", str(other))
    assert result.exit_code == 2
    assert "scoring.yaml: fit[0]: rule 'C-level or founder': unknown field 'titel'" in result.output
    assert "known fields are budget_usd, company" in result.output and "attributes.<column>" in result.output
    assert "Traceback" not in result.output

    live = workdir / "config" / "scoring.yaml"
    live.write_text((other / "scoring.yaml").read_text())
    wiring._from_environment.cache_clear()  # a new command, as a user's next one would be
    result = run("init")
    assert result.exit_code == 2 and "unknown field 'titel'" in result.output


def test_a_typo_in_a_routing_rule_field_fails_init(workdir):
    path = workdir / "config" / "routing.yaml"
    path.write_text(path.read_text().replace("      country: [DE, AT, CH]", "      contry: [DE, AT, CH]", 1))
    result = run("init")
    assert result.exit_code == 2
    assert "routing.yaml: rules[2].when: unknown lead field 'contry'" in result.output and "country" in result.output


def test_simulate_without_a_config_directory_is_a_usage_error(workdir):
    seed(workdir)
    result = run("simulate", "--config", str(workdir / "nowhere"))
    assert result.exit_code == 2 and "not a directory of config files" in result.output


def test_rescore_applies_decay_and_a_second_run_changes_nothing(workdir):
    seed(workdir)
    result = run("rescore", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "rescored 3 leads as of 2026-11-02T09:00:00Z: 3 changed (2 changed tier), 0 became MQLs" in result.output
    assert "1 below the MQL threshold stay MQLs because a rep holds their open handoff" in result.output
    shown = json.loads(run("lead", "show", "hana@hotco.example", "--json").stdout)
    assert (shown["score"]["tier"], shown["score"]["total"], shown["stage"]) == ("warm", 42, "sal")
    assert [e["kind"] for e in shown["history"]] == ["rescored"]

    again = run("rescore", "--as-of", AS_OF)
    assert again.exit_code == 0 and ": 0 changed" in again.output


def test_rescore_after_a_crash_says_it_resumed_and_finishes_the_run(workdir):
    from leadrelay.scoring.rescore import rescore_next_batch, start_or_resume

    seed(workdir)
    engine = engine_for(f"sqlite:///{workdir / 'leadrelay.db'}")
    with unit_of_work(engine) as session:  # the first batch of a run that then died
        run_id = start_or_resume(session, "full", RULES, T0, T0)[0].id
    with unit_of_work(engine) as session:
        first = rescore_next_batch(session, run_id, RULES, 1, "cli:rescore")
    result = run("rescore", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert f"resumed the unfinished rescore at 2026-11-02T09:00:00Z after lead id {first.lead_ids[0]} " \
           "(3 leads in all, 3 changed)." in result.output
    assert "rescored 2 leads as of" in result.output
