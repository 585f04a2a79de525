"""The nurture flow: send every nurture step that is due, batch by batch, then drain the outbox."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.flows.batches import until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import parse_as_of
from leadrelay.wiring import services
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.nurture import nurture_batch


# Retrying is safe: each step's email has its own idempotency key and due enrollments are claimed.
# An hour: a campaign's first day can queue tens of thousands of steps, each sent on its own.
@flow(name="nurture", flow_run_name=run_name, timeout_seconds=3600, retries=1, retry_delay_seconds=30)
def nurture(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Assign tracks, apply the guard rails, queue each due step (or defer it to its next allowed
    time), advance or finish tracks at `as_of`, and send the queued emails."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    totals = {"steps": until_drained(nurture_batch, as_of, size), "email": send_outbox(as_of, size)}
    publish_counts(totals)
    return totals
