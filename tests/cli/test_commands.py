"""The command line as a user meets it: output, exit codes, one-sentence errors."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from leadrelay.config.settings import get_settings
from leadrelay import wiring
from leadrelay.cli.app import app
from tests.conftest import REPO

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A user's working directory with its own database and outbox, settings from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADRELAY_DATABASE_URL", f"sqlite:///{tmp_path / 'leadrelay.db'}")
    monkeypatch.setenv("LEADRELAY_CONFIG_DIR", str(tmp_path / "config"))
    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    get_settings.cache_clear()
    wiring._from_environment.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    wiring._from_environment.cache_clear()


def run(*args):
    return runner.invoke(app, list(args))


def test_import_then_lead_show_json_has_the_promised_shape(workdir):
    (workdir / "leads.csv").write_text("email,first_name,title,team\nCarla@Acme.com,Carla,CEO,Blue\nbad,x,y,z\n")
    assert run("init").exit_code == 0
    result = run("import", "leads.csv", "--source", "fair")
    assert result.exit_code == 0, result.output
    assert "1 created, 0 merged into existing leads, 1 quarantined." in result.output

    shown = run("lead", "show", "CARLA@acme.com", "--json")
    assert shown.exit_code == 0
    profile = json.loads(shown.stdout)
    for key in ("email", "first_name", "last_name", "title", "company", "source", "attributes", "stage", "score",
                "owner", "email_status", "handoff", "history"):
        assert key in profile
    assert profile["attributes"] == {"team": "Blue"} and profile["source"] == "fair"
    assert set(profile["score"]) >= {"total", "fit", "engagement", "tier", "breakdown"}
    assert set(profile["history"][0]) == {"at", "kind", "actor", "detail"}

    quarantined = json.loads(run("quarantine", "--json").stdout)
    assert quarantined[0]["raw"] == "bad,x,y,z" and "not valid" in quarantined[0]["reason"]


def test_lead_show_has_the_email_status_apart_from_the_stage(workdir):
    from datetime import datetime, timezone

    from leadrelay.db import engine_for, unit_of_work
    from leadrelay.nurture.suppression import suppress

    (workdir / "leads.csv").write_text("email,first_name\ncarla@acme.com,Carla\n")
    run("init")
    run("import", "leads.csv")
    before = json.loads(run("lead", "show", "carla@acme.com", "--json").stdout)
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        suppress(session, "carla@acme.com", "bounce", "sendgrid", datetime(2026, 11, 3, 9, tzinfo=timezone.utc), "test")

    after = json.loads(run("lead", "show", "carla@acme.com", "--json").stdout)
    assert (before["email_status"], before["email_status_at"]) == ("ok", None)
    assert (after["email_status"], after["email_status_at"], after["email_status_reason"]) == (
        "bounced", "2026-11-03T09:00:00Z", "bounce")
    assert after["stage"] == before["stage"] == "new"
    assert "bounced" in run("lead", "show", "carla@acme.com").stdout


def test_funnel_json_has_stages_conversion_sla_and_sources(workdir):
    run("init")
    report = json.loads(run("funnel", "--json").stdout)
    assert set(report) >= {"stages", "conversion", "sla", "by_source"}
    assert set(report["sla"]) == {"met", "breached", "open"}


@pytest.mark.parametrize("args, code, sentence", [
    (("lead", "show", "nobody@example.com"), 1, "error: no lead has that email address."),
    (("import", "missing.csv"), 1, "error: cannot read missing.csv"),
    (("run", "nonsense"), 2, "error: unknown flow 'nonsense'"),
    (("run", "pipeline", "--as-of", "yesterday-ish"), 2, "error: 'yesterday-ish' is not an ISO 8601 date"),
    (("import", "leads.csv", "--list", "purchased"), 2, "error: --list must be internal or external"),
])
def test_mistakes_get_one_sentence_and_the_right_exit_code(workdir, args, code, sentence):
    run("init")
    (workdir / "leads.csv").write_text("email\na@b.com\n")
    result = run(*args)
    assert result.exit_code == code
    assert sentence in result.output
    assert "Traceback" not in result.output


def test_a_broken_config_file_exits_2_naming_file_and_key(workdir):
    path = workdir / "config" / "sla.yaml"
    path.write_text(path.read_text().replace("hours_to_accept: 4", "hours_to_accept: soon", 1))
    result = run("init")
    assert result.exit_code == 2
    assert "sla.yaml: tiers.hot.hours_to_accept:" in result.output and "Traceback" not in result.output


def test_commands_before_init_say_what_to_do(workdir):
    result = run("lead", "show", "a@b.com")
    assert result.exit_code == 1
    assert "run `leadrelay init` first" in result.output


def test_erase_removes_the_person_and_says_what_it_did(workdir):
    (workdir / "leads.csv").write_text("email,first_name,last_name\ncarla@acme.com,Carla,Boss\n")
    run("init")
    run("import", "leads.csv")

    result = run("erase", "Carla@Acme.com")

    assert result.exit_code == 0, result.output
    assert "erased: lead 1 is now the anonymised tombstone erased-1@invalid" in result.output
    assert "carla" not in result.output.lower()
    assert run("lead", "show", "carla@acme.com").exit_code == 1
    tomb = json.loads(run("lead", "show", "erased-1@invalid", "--json").stdout)
    assert (tomb["first_name"], tomb["email_status"], tomb["source"]) == (None, "erased", "leads")
    assert json.loads(run("funnel", "--json").stdout)["stages"]["contacts"] == 1


@pytest.mark.parametrize("address, code, sentence", [
    ("nobody@example.com", 1, "error: no lead or stored input has that email address; nothing was erased."),
    ("not-an-address", 2, "error: that is not an email address."),
    ("erased-1@invalid", 2, "error: that address is an erased lead's placeholder"),
])
def test_erase_mistakes_get_one_sentence_and_the_right_exit_code(workdir, address, code, sentence):
    run("init")
    result = run("erase", address)
    assert result.exit_code == code
    assert sentence in result.output and "Traceback" not in result.output


def test_erase_before_init_says_what_to_do(workdir):
    result = run("erase", "a@b.com")
    assert result.exit_code == 1 and "run `leadrelay init` first" in result.output


def test_erase_deletes_the_outbox_backend_s_copies_of_the_person_s_emails(workdir):
    from datetime import datetime, timezone

    from leadrelay.db import engine_for, unit_of_work
    from leadrelay.email.backends import outbox_filename
    from leadrelay.models import OutboxEmail

    (workdir / "leads.csv").write_text("email,first_name\ncarla@acme.com,Carla\notto@acme.com,Otto\n")
    run("init")
    run("import", "leads.csv")
    at = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    with unit_of_work(engine_for(get_settings().database_url)) as session:
        for lead_id, key in ((1, "nurture:1:0"), (2, "nurture:2:0")):
            session.add(OutboxEmail(idempotency_key=key, kind="nurture", lead_id=lead_id, to_email="x@acme.com",
                                    from_email="m@example.com", subject="Hi", html="<p>Hi</p>", text="Hi",
                                    status="sent", created_at=at, next_attempt_at=at, sent_at=at))
    (workdir / "outbox").mkdir()
    carla_copy, otto_copy = (workdir / "outbox" / outbox_filename(k) for k in ("nurture:1:0", "nurture:2:0"))
    carla_copy.write_text("Hi Carla")
    otto_copy.write_text("Hi Otto")

    result = run("erase", "carla@acme.com")

    assert result.exit_code == 0 and "(1 .eml copies deleted)" in result.output
    assert not carla_copy.exists() and otto_copy.exists()
