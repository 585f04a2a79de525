"""The last line of `leadrelay demo`: where the report is and how to open it, without the password."""
from __future__ import annotations

from pydantic import SecretStr

from leadrelay.config.settings import Settings
from leadrelay.demo.run import report_hint

URL = "sqlite:////tmp/demo/leadrelay.db"


def test_the_hint_gives_the_report_address_and_the_command_to_serve_it():
    hint = report_hint(URL, Settings(report_user="boss", report_password=SecretStr("hunter2-secret")))
    assert "http://127.0.0.1:8000/report" in hint
    assert f"LEADRELAY_DATABASE_URL={URL} leadrelay web" in hint
    assert "sign in with LEADRELAY_REPORT_USER / LEADRELAY_REPORT_PASSWORD" in hint
    assert "hunter2-secret" not in hint and "boss" not in hint


def test_without_a_login_the_hint_says_what_to_set():
    hint = report_hint(URL, Settings(report_user=None, report_password=None))
    assert "set LEADRELAY_REPORT_USER and LEADRELAY_REPORT_PASSWORD first" in hint
