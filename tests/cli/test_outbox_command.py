"""`leadrelay outbox retry` and the outbox's counts in `leadrelay funnel`, as a user runs them."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlmodel import Session

from leadrelay.config.settings import get_settings
from leadrelay.db import engine_for
from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage, SendResult
from leadrelay.email.outbox import drain_outbox, enqueue
from tests.cli.test_commands import run, workdir  # noqa: F401  (fixture)
from tests.support.recording_sender import RecordingSender

AT = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def two_failed_emails() -> None:
    engine = engine_for(get_settings().database_url)
    with Session(engine) as session:
        for n in (1, 2):
            enqueue(session, EmailMessage(f"nurture:{n}", f"lead{n}@example.org", "", "m@example.com", "", "Hi",
                                          "<p>hi</p>", "hi"), NURTURE, None, AT)
        session.commit()
    drain_outbox(engine, RecordingSender([SendResult("failed", error="SendGrid 400: bad")] * 2), AT, 10,
                 clock=lambda: AT)


def test_failed_emails_show_in_the_funnel_and_retry_queues_them_again(workdir):  # noqa: F811
    assert run("init").exit_code == 0
    two_failed_emails()

    report = json.loads(run("funnel", "--json").stdout)
    text = run("funnel").output
    later = run("outbox", "retry", "--since", "2026-11-25T00:00:00Z")
    retried = run("outbox", "retry")
    again = run("outbox", "retry")
    after = json.loads(run("funnel", "--json").stdout)

    assert report["email"] == {"queued": 0, "sending": 0, "sent": 0, "failed": 2}
    assert "email: 0 queued, 0 sending, 0 sent, 2 failed" in text and "outbox retry" in text
    assert later.exit_code == 0 and later.output.strip() == "0 failed emails queued again."
    assert retried.exit_code == 0
    assert retried.output.strip() == "2 failed emails queued again; the next send run sends them."
    assert again.output.strip() == "0 failed emails queued again."
    assert after["email"] == {"queued": 2, "sending": 0, "sent": 0, "failed": 0}


def test_retry_with_a_bad_since_is_one_sentence_and_exit_2(workdir):  # noqa: F811
    run("init")
    result = run("outbox", "retry", "--since", "yesterday-ish")
    assert result.exit_code == 2
    assert "is not an ISO 8601 date or time" in result.output and "Traceback" not in result.output


def test_retry_before_init_says_what_to_do(workdir):  # noqa: F811
    result = run("outbox", "retry")
    assert result.exit_code != 0 and "leadrelay init" in result.output
