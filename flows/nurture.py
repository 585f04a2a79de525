"""The nurture flow: send every nurture step that is due, batch by batch, then drain the outbox."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.batches import until_drained
from leadrelay.clock import parse_as_of
from leadrelay.wiring import services
from tasks.email import send_outbox
from tasks.nurture import nurture_batch


@flow(name="nurture")
def nurture(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Assign tracks, apply the guard rails, queue each due step (or defer it to its next allowed
    time), advance or finish tracks at `as_of`, and send the queued emails."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    return {"steps": until_drained(nurture_batch, as_of, size), "email": send_outbox(as_of, size)}
