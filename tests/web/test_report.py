"""`GET /report`: the managers' funnel page behind HTTP Basic from settings, refused when unset,
showing exactly the numbers `leadrelay funnel --json` prints; `GET /` points to it."""
from __future__ import annotations

import json
import re

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from leadrelay import wiring
from leadrelay.cli.app import app as cli_app
from leadrelay.config.settings import get_settings
from leadrelay.db import unit_of_work
from leadrelay.reporting.funnel import funnel_report
from tests.factories import REPO, migrated_engine
from tests.support.funnel_data import seed_funnel
from tests.support.web import web_client

LOGIN = {"report_user": "manager", "report_password": SecretStr("s3cret pass:word")}
AUTH = ("manager", "s3cret pass:word")


@pytest.fixture
def seeded(engine, tmp_path):
    seed_funnel(engine, tmp_path)
    return engine


def numbers_on(page: str) -> dict:
    """What the page shows, read back from its tables and charts."""
    stages = dict(re.findall(r'<tr data-stage="([^"]+)"><td>[^<]*</td><td class="n count">(\d+)</td>', page))
    reps = {rep: [int(n) for n in re.findall(r'<td class="n">(\d+)</td>', cells)]
            for rep, cells in re.findall(r'<tr data-rep="([^"]+)">(.*?)</tr>', page, re.S)}
    rejections = re.search(r'<svg id="rejection-chart".*?</svg>', page, re.S).group(0)
    weekly = re.search(r'<table id="weekly">(.*?)</table>', page, re.S).group(1)
    return {
        "stages": {stage: int(n) for stage, n in stages.items()},
        "sla": {key: int(re.search(rf'<span id="sla-{key}">(\d+)</span>', page).group(1))
                for key in ("met", "breached", "open")},
        "by_rep": reps,
        "rejections": {label: int(value) for label, value in
                       re.findall(r'data-label="([^"]+)" data-value="(\d+)"', rejections)},
        "weekly": [[cell for cell in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
                   for row in re.findall(r"<tr>(<td>.*?)</tr>", weekly, re.S)],
    }


def expected_from(report: dict) -> dict:
    report = json.loads(json.dumps(report, default=str))  # as `funnel --json` prints it
    columns = ("handoffs", "accepted", "rejected", "open", "passed_on", "sla_met", "sla_breached")
    series = ("contacts", "mql", "sal", "sql", "won")
    return {
        "stages": report["stages"], "sla": report["sla"], "rejections": report["rejections"],
        "by_rep": {rep: [row[c] for c in columns] for rep, row in report["by_rep"].items()},
        "weekly": [[week["week"], *(str(week[s]) for s in series)] for week in reversed(report["weekly"])],
    }


def test_the_index_points_to_the_report(engine):
    page = web_client(engine).get("/")
    assert page.status_code == 200 and 'href="/report"' in page.text


def test_the_report_is_refused_to_everyone_while_no_login_is_configured(engine):
    client = web_client(engine)
    for reply in (client.get("/report"), client.get("/report", auth=AUTH)):
        assert reply.status_code == 403
        assert "LEADRELAY_REPORT_USER and LEADRELAY_REPORT_PASSWORD" in reply.text


@pytest.mark.parametrize("auth, header", [
    (None, None), (("manager", "wrong"), None), (("boss", "s3cret pass:word"), None), (("manager", ""), None),
    (None, "Basic !!!not-base64"), (None, "Bearer abc"), (None, "Basic "),
])
def test_a_missing_or_wrong_login_gets_401_with_a_challenge_and_no_numbers(seeded, auth, header):
    client = web_client(seeded, **LOGIN)
    reply = client.get("/report", auth=auth, headers={"Authorization": header} if header else None)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Basic realm=")
    assert 'id="funnel-chart"' not in reply.text and "Traceback" not in reply.text


def test_the_page_shows_the_numbers_of_the_funnel_report(seeded):
    with unit_of_work(seeded) as session:
        report = funnel_report(session)

    reply = web_client(seeded, **LOGIN).get("/report", auth=AUTH)

    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    shown = numbers_on(reply.text)
    assert shown == expected_from(report)
    assert shown["stages"]["mql"] == 9 and shown["rejections"] == {"bad-timing": 2, "no-budget": 1}
    for chart in ("funnel-chart", "weekly-chart", "sla-chart", "rep-chart", "rejection-chart", "track-chart"):
        assert f'<svg id="{chart}"' in reply.text
    assert "http://" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", reply.text)  # nothing fetched from outside


def test_since_and_until_narrow_the_cohort_and_a_bad_date_is_a_422(seeded):
    client = web_client(seeded, **LOGIN)
    narrowed = numbers_on(client.get("/report", auth=AUTH, params={"since": "2026-11-09"}).text)
    assert narrowed["stages"]["contacts"] == 3
    bad = client.get("/report", auth=AUTH, params={"until": "next tuesday-ish"})
    assert bad.status_code == 422 and "until" in bad.json()["error"]


def test_the_page_matches_the_funnel_command_line(tmp_path, monkeypatch):
    engine = migrated_engine(tmp_path)
    seed_funnel(engine, tmp_path)
    monkeypatch.setenv("LEADRELAY_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("LEADRELAY_CONFIG_DIR", str(REPO / "config"))
    get_settings.cache_clear()
    wiring._from_environment.cache_clear()
    try:
        printed = CliRunner().invoke(cli_app, ["funnel", "--json"])
    finally:
        get_settings.cache_clear()
        wiring._from_environment.cache_clear()
    assert printed.exit_code == 0, printed.output

    shown = numbers_on(web_client(engine, **LOGIN).get("/report", auth=AUTH).text)

    assert shown == expected_from(json.loads(printed.stdout))
