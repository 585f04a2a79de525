"""A manager opens the escalation email's reassign link in a real headless Chromium, picks a rep
and submits; the handoff moves. Same browser set-up as test_handoff_browser."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from leadrelay.db import unit_of_work
from leadrelay.links.secret import reassign_link
from leadrelay.models import Handoff
from tests.factories import SECRET, add_handoff, add_scored_lead
from tests.web.test_handoff_browser import browser, live_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
ANNA, LUKAS = "anna.schmidt@example.com", "lukas.bauer@example.com"


def test_a_manager_reassigns_an_escalated_lead_from_the_signed_link(live_server, browser, tmp_path):  # noqa: F811
    base_url, engine = live_server
    now = datetime.now(timezone.utc)
    with unit_of_work(engine) as session:
        handoff = add_handoff(session, add_scored_lead(session, country="DE"), rep_email=ANNA,
                              created_at=now - timedelta(days=2), due_at=now - timedelta(days=1))
        handoff.sla_breached = True
        handoff_id = handoff.id
    page = browser.new_page()

    page.goto(reassign_link(handoff_id, "emea.manager@example.com", SECRET, base_url, now + timedelta(days=7)))
    assert page.locator("#lead-name").inner_text() == "Carla Boss"
    assert "has not come" in page.locator("#current").inner_text()
    page.locator("#to").select_option(LUKAS)
    page.screenshot(path=str(tmp_path / "reassign.png"), full_page=True)
    page.locator("#submit").click()
    page.locator("#message").wait_for()

    assert page.locator("h1").inner_text() == "Reassigned"
    assert "Lukas Bauer" in page.locator("#message").inner_text()
    with unit_of_work(engine) as session:
        assert [(h.rep_email, h.status) for h in session.scalars(select(Handoff).order_by(Handoff.id))] == [
            (ANNA, "reassigned"), (LUKAS, "open")]
