"""`GET /report` shows the funnel's closing breakdowns with the numbers of `funnel_report`:
conversion from contacts, week over week, median days in stage, and SLA by rep and tier."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from pydantic import SecretStr

from leadrelay.db import unit_of_work
from leadrelay.reporting.funnel import funnel_report
from leadrelay.web import report_routes
from tests.support.funnel_data import seed_funnel
from tests.support.web import web_client

LOGIN = {"report_user": "manager", "report_password": SecretStr("s3cret")}
AUTH = ("manager", "s3cret")


AS_OF = datetime(2026, 11, 17, 8, tzinfo=timezone.utc)  # the last whole week: 9 November


@pytest.fixture
def page_and_report(engine, tmp_path, monkeypatch):
    seed_funnel(engine, tmp_path)
    monkeypatch.setattr(report_routes, "now", lambda: AS_OF)
    with unit_of_work(engine) as session:
        report = funnel_report(session, as_of=AS_OF)
    reply = web_client(engine, **LOGIN).get("/report", auth=AUTH)
    assert reply.status_code == 200
    return reply.text, report


def cells(page: str, attribute: str) -> dict[str, list[str]]:
    """Rows marked `data-<attribute>="key"`: key -> the text of their cells after the first."""
    return {key: [cell.strip() for cell in re.findall(r"<td[^>]*>([^<]*)</td>", row)][1:]
            for key, row in re.findall(rf'<tr data-{attribute}="([^"]+)">(.*?)</tr>', page, re.S)}


def test_the_stages_table_has_the_conversion_from_contacts(page_and_report):
    page, report = page_and_report
    overall = {stage: re.search(rf'<tr data-stage="{stage}">.*?<td class="n overall">([^<]*)</td>', page).group(1)
               for stage in ("mql", "sal", "won")}
    assert overall == {"mql": "69%", "sal": "15%", "won": "0%"}
    assert report["conversion_overall"]["contacts->sal"] == round(2 / 13, 4)


def test_the_page_shows_median_days_in_stage(page_and_report):
    page, report = page_and_report
    shown = cells(page, "median-stage")
    assert {stage: days for stage, (days,) in shown.items()} == {
        stage: "–" if days is None else str(days) for stage, days in report["median_days_in_stage"].items()}
    assert shown["mql"] == ["0.04"]  # MQL at import, accepted an hour later: 1/24 day


def test_the_page_shows_sla_by_rep_and_tier(page_and_report):
    page, report = page_and_report
    shown = cells(page, "sla-rep")
    expected = {rep: [f"{c['met']}/{c['breached']}/{c['open']}" for c in (tiers["hot"], tiers["warm"], tiers["cold"])]
                for rep, tiers in report["sla_by_rep_and_tier"].items()}
    assert shown == expected and len(shown) == 2
    hot = [c["hot"] for c in report["sla_by_rep_and_tier"].values()]
    assert [sum(c[key] for c in hot) for key in ("met", "breached", "open")] == [report["sla"][key] for key in
                                                                                  ("met", "breached", "open")]


def test_the_page_shows_week_over_week(page_and_report):
    page, _ = page_and_report
    shown = cells(page, "wow-stage")
    assert shown["contacts"] == ["3", "10", "-7 (-70%)"]
    assert shown["won"] == ["0", "0", "+0"]
    assert "The week of 2026-11-09, the last whole week, against the week of 2026-11-02" in page


def test_an_empty_report_has_the_tables_and_no_week_over_week(engine):
    page = web_client(engine, **LOGIN).get("/report", auth=AUTH).text
    assert 'id="median-days"' in page and "No handoffs yet." in page
    assert 'id="week-over-week"' not in page
