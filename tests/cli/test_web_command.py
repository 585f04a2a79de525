"""`leadrelay web` says at start-up when the SendGrid webhook takes unsigned posts."""
from __future__ import annotations

from leadrelay.web import server
from tests.cli.test_commands import run, workdir  # noqa: F401  (fixture)


def test_web_warns_at_start_up_when_unsigned_sendgrid_posts_are_allowed(workdir, monkeypatch):  # noqa: F811
    started = []
    monkeypatch.setattr(server, "serve", lambda host, port: started.append((host, port)))
    run("init")

    quiet = run("web", "--port", "8123")
    monkeypatch.setenv("LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED", "1")
    from leadrelay.config.settings import get_settings
    from leadrelay import wiring

    get_settings.cache_clear()
    wiring._from_environment.cache_clear()
    warned = run("web", "--port", "8123")

    assert quiet.exit_code == 0 and "warning" not in quiet.output
    assert warned.exit_code == 0 and "LEADRELAY_SENDGRID_WEBHOOK_ALLOW_UNSIGNED=1" in warned.output
    assert started == [("127.0.0.1", 8123)] * 2
