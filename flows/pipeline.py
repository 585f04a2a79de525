"""The pipeline flow: take in new leads, score them, move their stage, hand the MQLs to sales."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.batches import until_drained
from leadrelay.clock import parse_as_of
from leadrelay.wiring import services
from tasks.email import send_outbox
from tasks.engagement import exit_nurture_batch
from tasks.handoff import hand_off_batch
from tasks.pipeline import intake_inbound_batch, score_lead_batch


@flow(name="pipeline")
def pipeline(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Poll the inbound table, score and stage new or changed leads, route MQLs to reps with an
    SLA deadline, and send the notifications, batch by batch."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    return {
        "intake": until_drained(intake_inbound_batch, as_of, size),
        "scoring": until_drained(score_lead_batch, as_of, size),
        # A lead that scoring made an MQL leaves its nurture track before it reaches a rep.
        "nurture_exits": until_drained(exit_nurture_batch, as_of, size, "flow:pipeline"),
        "handoff": until_drained(hand_off_batch, as_of, size),
        "email": send_outbox(as_of, size),
    }
