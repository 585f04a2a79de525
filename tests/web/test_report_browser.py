"""A manager opens /report in a real headless Chromium, signs in with HTTP Basic, and sees the
funnel drawn: every stage's bar, the weekly trend lines, the SLA and rep charts.

Needs /usr/bin/chromium (see tests/web/test_handoff_browser.py for the skip rules).
"""
from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from pydantic import SecretStr

from leadrelay.web import create_app
from tests.factories import migrated_engine, services_for
from tests.support.funnel_data import seed_funnel
from tests.web.test_handoff_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture
def report_server(tmp_path):
    """The web app with a report login, over a SQLite file holding a seeded funnel."""
    require_chromium()
    engine = migrated_engine(tmp_path)
    seed_funnel(engine, tmp_path)
    services = services_for(engine)
    services = replace(services, settings=services.settings.model_copy(
        update={"report_user": "manager", "report_password": SecretStr("pw-for-report")}))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    running = serve_in_thread(create_app(services), sock)
    next(running)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        running.close()
        sock.close()
        engine.dispose()


def test_the_report_renders_its_charts_after_signing_in(report_server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # Chromium turns a challenge it cannot answer into a net error, so ask without a page.
            refused = playwright.request.new_context().get(f"{report_server}/report")
            assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Basic")

            context = browser.new_context(http_credentials={"username": "manager", "password": "pw-for-report"},
                                          viewport={"width": 1100, "height": 1400})
            page = context.new_page()
            answer = page.goto(f"{report_server}/report")
            assert answer.status == 200
            funnel = page.locator("#funnel-chart")
            funnel.wait_for()
            labels = funnel.locator("g.bar text.label").all_text_contents()
            assert labels == ["contacts", "leads", "mql", "sal", "sql", "won"]
            # Drawn, not just present: the contacts bar has a real on-screen width, wider than sal's.
            widths = [box["width"] for box in (bar.bounding_box() for bar in funnel.locator("rect").all())]
            assert widths[0] > widths[3] > 0
            assert page.locator("#weekly-chart polyline").count() == 5
            assert page.locator("#weekly-chart g.series[data-series='contacts'] circle").count() == 2
            assert page.locator("#sla-chart g.bar").count() == 3 and page.locator("#rep-chart g.bar").count() == 2
            assert page.locator("#rejection-chart g.bar[data-label='bad-timing']").get_attribute("data-value") == "2"
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert (tmp_path / "report.png").stat().st_size > 10_000
        finally:
            browser.close()
