"""(a) A SendGrid that fails about 30 % of requests with 500, every 5th with 429 and some with a
timeout: sending drains to the end, every email is accepted exactly once (by its idempotency key,
in the server's log), and none is left `failed` for a transient reason."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.config.rules import load_rules
from leadrelay.email.backends import SendGridSender
from leadrelay.email.retry import MAX_ATTEMPTS
from leadrelay.flows.send import send
from leadrelay.models import OutboxEmail
from leadrelay.wiring import Services, use_services
from tests.conftest import REPO, make_settings
from tests.faults.conftest import FAULTS
from tests.faults.runs import API_KEY, AS_OF, check_invariants, seed_queued_emails
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.recording_sender import RecordingSender

pytestmark = FAULTS
EMAILS = 400


def test_a_faulty_sendgrid_gets_every_email_exactly_once_and_none_fails(pg, tmp_path, prefect_harness,
                                                                        no_proxy_for_loopback):
    seed_queued_emails(pg.engine, EMAILS)
    # 500s and timeouts, at most MAX_ATTEMPTS - 3 per message: enough that 429s counted as
    # attempts would exhaust some messages (as measured before), never enough alone.
    faults = dict(fail_ratio_500=0.3, fail_every_nth_with_429=5, retry_after="1", hang_every_nth=23,
                  hang_seconds=1.5, max_faults_per_key=MAX_ATTEMPTS - 3, seed=12, keep_alive=True)
    with FakeSendGrid(API_KEY, **faults) as server:
        sender = SendGridSender(API_KEY, server.url, timeout=0.5)
        settings = make_settings(tmp_path, str(pg.engine.url), send_retry_base_seconds=0.05,
                                 send_max_wait_seconds=120, batch_size=100)
        wired = Services(settings=settings, engine=pg.engine, rules=load_rules(REPO / "config"),
                         sender=RecordingSender())
        with use_services(replace(wired, sender=sender)):
            result = send(as_of=AS_OF)
        sender.close()
        statuses = server.status_counts()

    assert result == {"email": {"sent": EMAILS, "failed": 0, "still_pending": 0}}
    # the faults really happened, in the measured proportions
    assert statuses[429] >= len(server.requests) // 5 - 8 and statuses[500] > EMAILS // 5 and statuses[503] > 5
    counted = check_invariants(pg, server, duplicates_allowed=0)
    assert counted["emails"] == EMAILS
    with Session(pg.engine) as session:
        most = session.scalar(select(func.max(OutboxEmail.attempts)))
    assert most <= MAX_ATTEMPTS - 2  # 429s never counted: only the capped real failures, plus the success
