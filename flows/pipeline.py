"""The pipeline flow: take in new leads, score them, move their stage, hand the MQLs to sales."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.flows.batches import add_pass, until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import now, parse_as_of
from leadrelay.wiring import services
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.engagement import exit_nurture_batch
from leadrelay.tasks.handoff import hand_off_batch
from leadrelay.tasks.pipeline import intake_inbound_batch, more_inbound_waiting, score_lead_batch

# A run "now" takes in what arrives while it works, up to this many passes; the next run goes on.
MAX_PASSES = 10


# Retrying is safe: every batch claims only what is left and the outbox sends each email once.
# An hour: 100,000 new leads took 5-8 minutes end to end (README); the retry finishes anything bigger.
@flow(name="pipeline", flow_run_name=run_name, timeout_seconds=3600, retries=1, retry_delay_seconds=30)
def pipeline(as_of: datetime | None = None, batch_size: int | None = None,
             send: bool = True) -> dict[str, dict[str, int]]:
    """Poll the inbound table, score and stage new or changed leads, route MQLs to reps with an
    SLA deadline, and send the notifications, batch by batch. Without `as_of`, pass again while
    form leads arrived during the pass: a deployment runs one pipeline at a time and cancels the
    runs their events start meanwhile, so this run is the one that takes them in.
    With `send=False` the notifications stay queued for the `send` flow (no "email" step): the
    deployment runs it so, and the send deployment mails each handoff as soon as it commits."""
    size = batch_size or services().settings.batch_size
    totals = one_pass(parse_as_of(as_of), size, send)
    for _ in range(MAX_PASSES - 1):
        if as_of is not None or not more_inbound_waiting(now()):
            break
        add_pass(totals, one_pass(now(), size, send))
    publish_counts(totals)
    return totals


def one_pass(as_of: datetime, size: int, send: bool = True) -> dict[str, dict[str, int]]:
    counts = {
        "intake": until_drained(intake_inbound_batch, as_of, size),
        "scoring": until_drained(score_lead_batch, as_of, size),
        # A lead that scoring made an MQL leaves its nurture track before it reaches a rep.
        "nurture_exits": until_drained(exit_nurture_batch, as_of, size, "flow:pipeline"),
        "handoff": until_drained(hand_off_batch, as_of, size),
    }
    if send:
        counts["email"] = send_outbox(as_of, size)
    return counts
