"""Sending what the outbox holds: the only task that talks to the email backend."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from leadrelay.orchestration.events import EMAIL_FAILED, emit_for_leads
from leadrelay.email.outbox import DrainOutcome, FailedEmail, send_due
from leadrelay.wiring import services
from leadrelay.tasks.run_log import log_batch, run_logger


@task(name="send-outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def send_outbox(as_of: datetime, batch_size: int) -> dict[str, int]:
    """Send every due message; wait briefly for retries that fall due soon, leave later ones for the
    next run (`leadrelay.email.outbox.send_due`). Logs each pass and tells Prefect about every
    message that failed for good (its row is committed)."""
    found = services()
    settings = found.settings

    def report(outcome: DrainOutcome) -> None:
        emit_for_leads(EMAIL_FAILED, email_failed_payloads(outcome.failures))
        log_batch("send pass", {"sent": outcome.sent, "retrying": outcome.retrying, "failed": outcome.failed},
                  outcome.lead_ids)

    totals = send_due(found.engine, found.sender, as_of, batch_size, settings.send_retry_base_seconds,
                      settings.send_max_wait_seconds, on_pass=report)
    if totals["still_pending"]:
        run_logger().info("send outbox: %d messages still pending, left for a later run", totals["still_pending"])
    return totals


def email_failed_payloads(failures: Iterable[FailedEmail]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(lead id, payload) per message failed for good: outbox id, kind and the reason, no recipient.
    A message with no lead has no resource to be told about; none is queued that way today."""
    return ((f.lead_id, {"outbox_id": f.outbox_id, "kind": f.kind, "error": f.error})
            for f in failures if f.lead_id is not None)
