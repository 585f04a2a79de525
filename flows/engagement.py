"""The engagement flow: turn stored engagement (SendGrid opens and clicks, imported web activity)
into scores, and send the leads it makes sales-ready to a rep."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.flows.batches import until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import parse_as_of
from leadrelay.wiring import batches_in_flight, services
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.engagement import exit_nurture_batch
from leadrelay.tasks.handoff import hand_off_batch
from leadrelay.tasks.pipeline import score_lead_batch

ACTOR = "flow:engagement"


# Retrying is safe: every batch claims only what is left and the outbox sends each email once.
# Half an hour: rescoring runs at about 2,000 leads/s, so even a big campaign's clicks fit well inside.
@flow(name="engagement", flow_run_name=run_name, timeout_seconds=1800, retries=1, retry_delay_seconds=30)
def engagement(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Rescore leads flagged by new engagement (decay at `as_of`; `nurturing` -> `mql` over the
    threshold), take new MQLs off their nurture track, hand them to reps and send the emails."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    totals = {
        "scoring": until_drained(score_lead_batch, as_of, size, ACTOR, in_flight=batches_in_flight(services())),
        # Before the handoff, so the rep's email already shows the lead leaving its track.
        "nurture_exits": until_drained(exit_nurture_batch, as_of, size, ACTOR),
        "handoff": until_drained(hand_off_batch, as_of, size, ACTOR),
        "email": send_outbox(as_of, size),
    }
    publish_counts(totals)
    return totals
