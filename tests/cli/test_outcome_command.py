"""`leadrelay outcome` and `leadrelay import --outcomes` as a user meets them: output, exit
codes, one-sentence errors."""
from __future__ import annotations

import json

import pytest

from leadrelay.config.settings import get_settings
from leadrelay.db import engine_for, unit_of_work
from tests.cli.test_commands import run, workdir  # noqa: F401  (the fixture)
from tests.factories import add_scored_lead

CARLA = "carla@acme-buyer.com"


@pytest.fixture
def accepted_lead(workdir):  # noqa: F811
    """An initialised database with one lead a rep accepted (stage sal)."""
    assert run("init").exit_code == 0
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        add_scored_lead(session, CARLA, stage="sal", owner_rep="rita@seller.example")
    return workdir


def stages(email=CARLA):
    return json.loads(run("lead", "show", email, "--json").stdout)


def test_sql_then_won_with_an_amount_and_the_funnel_shows_them(accepted_lead):
    result = run("outcome", "sql", CARLA, "--rep", "Rita@Seller.example", "--as-of", "2026-11-10T09:00:00Z")
    assert result.exit_code == 0, result.output
    assert "carla@acme-buyer.com: sql recorded; the lead is now sql." in result.output

    result = run("outcome", "WON", CARLA, "--amount", "12500.50", "--reason", "signed", "--as-of", "2026-11-12")
    assert result.exit_code == 0, result.output

    profile = stages()
    assert profile["stage"] == "won"
    outcomes = [e for e in profile["history"] if e["kind"] == "outcome_recorded"]
    assert [(e["actor"], e["detail"]["outcome"]) for e in outcomes] == [
        ("rep:rita@seller.example (command line)", "sql"), ("cli", "won")]
    assert outcomes[1]["detail"]["amount"] == "12500.50" and outcomes[1]["at"] == "2026-11-12T00:00:00Z"
    report = json.loads(run("funnel", "--json").stdout)
    assert (report["stages"]["sql"], report["stages"]["won"], report["won_amount"]) == (1, 1, 12500.5)


def test_lost_recycles_the_lead_to_nurturing(accepted_lead):
    assert run("outcome", "lost", CARLA, "--reason", "price").exit_code == 0
    assert stages()["stage"] == "nurturing"


@pytest.mark.parametrize("args, code, sentence", [
    (("outcome", "closed", CARLA), 2, "error: 'closed' is not an outcome; use one of sql, won, lost, disqualified."),
    (("outcome", "won", CARLA, "--amount", "$5"), 2, "error: amount must be a number"),
    (("outcome", "won", CARLA, "--as-of", "soon"), 2, "error: 'soon' is not an ISO 8601 date"),
    (("outcome", "won", CARLA, "--rep", "rita"), 2, "error: --rep must be the rep's email address."),
    (("outcome", "won", "nobody@example.org"), 1, "error: no lead has this email address."),
    (("outcome", "disqualified", CARLA, "--reason", "spam"), 0, "the lead is now disqualified."),
])
def test_mistakes_get_one_sentence_and_the_right_exit_code(accepted_lead, args, code, sentence):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert sentence in result.output and "Traceback" not in result.output


def test_a_move_the_lifecycle_refuses_exits_1_and_changes_nothing(accepted_lead):
    assert run("outcome", "won", CARLA).exit_code == 0
    result = run("outcome", "lost", CARLA)
    assert result.exit_code == 1
    assert "error: a lead in stage won cannot be marked lost; lost is recorded for a lead in sal or sql." in result.output
    assert stages()["stage"] == "won"


def test_import_outcomes_counts_quarantines_and_is_idempotent(accepted_lead):
    (accepted_lead / "crm.csv").write_text("email,outcome,occurred_at,amount,reason,external_id\n"
                                           f"{CARLA},won,2026-11-12,900,,opp-1\n"
                                           "nobody@example.org,won,2026-11-12,,,opp-2\n")
    result = run("import", "crm.csv", "--outcomes")
    assert result.exit_code == 0, result.output
    assert "1 outcomes recorded, 0 duplicates skipped, 1 quarantined" in result.output
    assert "0 outcomes recorded, 1 duplicates skipped, 1 quarantined" in run("import", "crm.csv", "--outcomes").output
    assert stages()["stage"] == "won"
    quarantined = json.loads(run("quarantine", "--json").stdout)
    assert quarantined[0]["source"] == "crm.csv line 3" and quarantined[0]["reason"] == "no lead has this email address"
    both = run("import", "crm.csv", "--outcomes", "--activity")
    assert both.exit_code == 2 and "cannot be used together" in both.output
