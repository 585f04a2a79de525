"""Chart geometry and the report login, as plain functions."""
from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from leadrelay.config.settings import Settings
from leadrelay.reporting.charts import horizontal_bars, weekly_lines
from leadrelay.web.report_view import Access, report_access


def test_bars_are_proportional_and_a_zero_keeps_its_row():
    chart = horizontal_bars([("contacts", 200), ("mql", 50), ("won", 0)], width=540, label_width=140)
    widths = [bar.width for bar in chart["bars"]]
    assert widths[0] == 330 and widths[1] == 82.5 and widths[2] == 0
    assert [bar.y for bar in chart["bars"]] == [0, 30, 60]
    assert horizontal_bars([])["bars"] == []


def test_weekly_lines_put_zero_at_the_bottom_and_the_largest_at_the_top():
    weeks = [{"week": "2026-11-02", "contacts": 10, "mql": 0}, {"week": "2026-11-09", "contacts": 5, "mql": 10}]
    chart = weekly_lines(weeks, ["contacts", "mql"], width=640, height=220)
    plot = chart["plot"]
    (contacts, mql) = chart["lines"]
    assert contacts["dots"] == [(plot["left"], plot["top"]), (plot["right"], (plot["top"] + plot["bottom"]) / 2)]
    assert mql["dots"][0] == (plot["left"], plot["bottom"])
    assert [tick["label"] for tick in chart["ticks"]] == ["11-02", "11-09"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("settings, header, access", [
    ({}, basic("a", "b"), Access.off),
    ({"report_user": "a"}, basic("a", ""), Access.off),
    ({"report_user": "a", "report_password": SecretStr("")}, basic("a", ""), Access.off),
    ({"report_user": "a", "report_password": SecretStr("b:c")}, basic("a", "b:c"), Access.granted),
    ({"report_user": "a", "report_password": SecretStr("b")}, basic("a", "B"), Access.denied),
    ({"report_user": "a", "report_password": SecretStr("b")}, None, Access.denied),
    ({"report_user": "a", "report_password": SecretStr("b")}, "Basic %%%", Access.denied),
    ({"report_user": "a", "report_password": SecretStr("b")}, "Basic " + base64.b64encode(b"\xff\xfe").decode(),
     Access.denied),
])
def test_the_report_login(settings, header, access):
    assert report_access(Settings(**settings), header) is access


def test_the_password_setting_is_secret():
    settings = Settings(report_user="a", report_password="hunter2")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
