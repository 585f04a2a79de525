"""The send flow: drain the outbox (rep notifications, escalations, nurture steps) on its own
schedule: retries that fell due, and mail a run left queued (a pipeline run with `send=False`)."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.clock import parse_as_of
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.tasks.email import send_outbox
from leadrelay.wiring import services


# Retrying is safe: each due message is claimed under a lease and marked once it is sent.
# An hour: a campaign's first day can queue tens of thousands of nurture steps, and SendGrid's
# rate limit (429 with Retry-After) may stretch them out; what is left waits for the next run.
@flow(name="send", flow_run_name=run_name, timeout_seconds=3600, retries=1, retry_delay_seconds=30)
def send(as_of: datetime | None = None, batch_size: int | None = None) -> dict[str, dict[str, int]]:
    """Send every message due at `as_of` (now when None), of every kind, batch by batch; retries
    that fall due within a short wait are sent in this run, later ones are left for the next."""
    as_of = parse_as_of(as_of)
    size = batch_size or services().settings.batch_size
    totals = {"email": send_outbox(as_of, size)}
    publish_counts(totals)
    return totals
