"""The sla flow: act on handoffs whose deadline passed without an answer."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.flows.batches import until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.clock import parse_as_of
from leadrelay.wiring import services
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.handoff import enforce_sla_batch, recycle_escalations_batch


# Retrying is safe: a breached handoff is flagged in the batch that acts on it, so it is acted on once.
# Half an hour: breaches are a few hundred handoffs at most, each reassigned or escalated with one email.
@flow(name="sla", flow_run_name=run_name, timeout_seconds=1800, retries=1, retry_delay_seconds=30)
def sla(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Reassign, escalate or recycle every handoff past its deadline at `as_of`, recycle escalated
    handoffs still unanswered after sla.yaml's `recycle_escalated_after_hours`, then send the emails."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    totals = {"breaches": until_drained(enforce_sla_batch, as_of, size),
              "escalations": until_drained(recycle_escalations_batch, as_of, size),
              "email": send_outbox(as_of, size)}
    publish_counts(totals)
    return totals
