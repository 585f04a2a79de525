"""`leadrelay web` says at start-up when the SendGrid webhook takes unsigned posts, and will not
start with a verification key it cannot read."""
from __future__ import annotations

import pytest

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


def test_web_will_not_start_with_a_webhook_key_it_cannot_read(workdir, monkeypatch):  # noqa: F811
    from leadrelay import wiring
    from leadrelay.config.settings import get_settings

    monkeypatch.setattr(server, "serve", lambda host, port: pytest.fail("served with a broken key"))
    run("init")
    monkeypatch.setenv("LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY", "not-a-key")
    get_settings.cache_clear()
    wiring._from_environment.cache_clear()

    result = run("web")

    assert result.exit_code == 2
    assert "LEADRELAY_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 ECDSA public key." in result.output
