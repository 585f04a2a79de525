"""The pipeline flow: take in new leads, score them, move their stage, hand the MQLs to sales."""
from __future__ import annotations

from datetime import datetime

from prefect import flow
from prefect.futures import PrefectFuture

from leadrelay.flows.batches import add_pass, until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import now, parse_as_of
from leadrelay.wiring import batches_in_flight, services
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.engagement import exit_nurture_batch
from leadrelay.tasks.handoff import hand_off_batch
from leadrelay.tasks.pipeline import intake_inbound_batch, more_inbound_waiting, score_lead_batch

# A run "now" takes in what arrives while it works, up to this many passes; the next run goes on.
MAX_PASSES = 10


# Retrying is safe: every batch claims only what is left and the outbox sends each email once.
# An hour: 100,000 new leads take 9 to 22 s here (README, Benchmark); the retry finishes anything bigger.
@flow(name="pipeline", flow_run_name=run_name, timeout_seconds=3600, retries=1, retry_delay_seconds=30)
def pipeline(as_of: datetime | None = None, batch_size: int | None = None,
             send: bool = True) -> dict[str, dict[str, int]]:
    """Poll the inbound table, score and stage new or changed leads, route MQLs to reps with an
    SLA deadline, and send the notifications, batch by batch. Without `as_of`, pass again while
    form leads arrived during the pass: a deployment runs one pipeline at a time and cancels the
    runs their events start meanwhile, so this run is the one that takes them in.
    Each pass's notifications are sent by a task that runs beside the next pass, so a slow
    SendGrid never holds back scoring; the run ends once they are sent. With `send=False` they
    stay queued for the `send` flow (no "email" step)."""
    size = batch_size or services().settings.batch_size
    sending: list[PrefectFuture] = []
    totals = one_pass(parse_as_of(as_of), size, sending if send else None)
    for _ in range(MAX_PASSES - 1):
        if as_of is not None or not more_inbound_waiting(now()):
            break
        add_pass(totals, one_pass(now(), size, sending if send else None))
    for future in sending:
        add_pass(totals, {"email": future.result()})
    publish_counts(totals)
    return totals


def one_pass(as_of: datetime, size: int, sending: list[PrefectFuture] | None) -> dict[str, dict[str, int]]:
    """One pass's counts by step; its sending, when `sending` is a list, is started and added to it."""
    counts = {
        "intake": until_drained(intake_inbound_batch, as_of, size),
        "scoring": until_drained(score_lead_batch, as_of, size, in_flight=batches_in_flight(services())),
        # A lead that scoring made an MQL leaves its nurture track before it reaches a rep.
        "nurture_exits": until_drained(exit_nurture_batch, as_of, size, "flow:pipeline"),
        "handoff": until_drained(hand_off_batch, as_of, size),
    }
    if sending is not None:
        sending.append(send_outbox.submit(as_of, size))
    return counts
