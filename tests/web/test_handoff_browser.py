"""A rep opens the signed link in a real headless Chromium and accepts the lead.

Needs /usr/bin/chromium (Debian package `chromium`; Playwright's own download cannot run here).
Skipped without it, unless LEADRELAY_REQUIRE_BROWSER=1, which makes a missing browser a failure.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from leadrelay.web import create_app
from tests.factories import lead_by_email, links_for, migrated_engine, seed_handoff, services_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.browser


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`"
    if os.environ.get("LEADRELAY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LEADRELAY_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(f"browser test skipped: {message} (set LEADRELAY_REQUIRE_BROWSER=1 to make this a failure)")


def serve_in_thread(app, sock: socket.socket) -> Iterator[None]:
    """Run uvicorn on an already bound socket (no free-port race) until the generator is closed."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path):
    """(base_url, engine): the web app on 127.0.0.1 and a free port, over a SQLite file database."""
    require_chromium()
    engine = migrated_engine(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    running = serve_in_thread(create_app(services_for(engine, base_url=base_url)), sock)
    next(running)
    try:
        yield base_url, engine
    finally:
        running.close()
        sock.close()
        engine.dispose()


@pytest.fixture
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_rep_accepts_a_lead_from_the_signed_link(live_server, browser):
    base_url, engine = live_server
    _, handoff_id = seed_handoff(engine)
    accept_url, _ = links_for(handoff_id, base_url=base_url)
    page = browser.new_page()

    page.goto(accept_url)
    assert page.locator("#lead-name").inner_text() == "Carla Boss"
    assert "title is C-level" in page.locator("#breakdown").inner_text()
    page.locator("#accept").click()
    page.locator("#confirmation").wait_for()

    assert "Answer recorded" in page.locator("h1").inner_text()
    assert page.locator("#stage").inner_text() == "sal"
    assert lead_by_email(engine).stage == "sal"


def test_a_rep_rejects_a_lead_with_a_reason(live_server, browser):
    base_url, engine = live_server
    _, handoff_id = seed_handoff(engine)
    _, reject_url = links_for(handoff_id, base_url=base_url)
    page = browser.new_page()

    page.goto(reject_url)
    page.locator("#reason").select_option("no-budget")
    page.locator("#note").fill("Budget frozen until Q3")
    page.locator("#reject").click()
    page.locator("#confirmation").wait_for()

    assert page.locator("#stage").inner_text() == "nurturing"
    assert lead_by_email(engine).stage == "nurturing"


def test_after_accepting_a_rep_records_qualified_then_won_from_the_same_link(live_server, browser):
    base_url, engine = live_server
    _, handoff_id = seed_handoff(engine)
    accept_url, _ = links_for(handoff_id, base_url=base_url)
    page = browser.new_page()
    page.goto(accept_url)
    page.locator("#accept").click()
    page.locator("#record-outcome").click()  # the confirmation's link to the outcome forms

    page.locator("#sql").click()
    page.locator("#confirmation").wait_for()
    assert page.locator("#stage").inner_text() == "sql"

    page.goto(accept_url)  # days later, from the email: the link now opens the outcome forms
    page.locator("#amount").fill("48000")
    page.locator("#won").click()
    page.locator("#confirmation").wait_for()

    assert page.locator("#stage").inner_text() == "won"
    assert page.locator("#no-choices").is_visible()
    assert lead_by_email(engine).stage == "won"


def test_lost_asks_for_a_reason_in_the_browser_before_posting(live_server, browser):
    base_url, engine = live_server
    _, handoff_id = seed_handoff(engine)
    accept_url, _ = links_for(handoff_id, base_url=base_url)
    page = browser.new_page()
    page.goto(accept_url)
    page.locator("#accept").click()
    page.goto(accept_url)

    page.locator("#lost").click()  # the reason field is required: nothing is posted
    assert lead_by_email(engine).stage == "sal"
    page.locator("#lost-reason").fill("went with a competitor")
    page.locator("#lost").click()
    page.locator("#confirmation").wait_for()

    assert page.locator("#stage").inner_text() == "nurturing"
