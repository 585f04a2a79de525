"""The rescore flow: scores age. Applies decay (or, in `full` mode, the current config) to every
lead at one `as_of`, then hands leads it made sales-ready to a rep as the pipeline would."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from leadrelay.flows.batches import until_drained
from leadrelay.flows.run_visibility import publish_counts, run_name
from leadrelay.scoring.rescore_decision import DECAY
from leadrelay.tasks.email import send_outbox
from leadrelay.tasks.engagement import exit_nurture_batch
from leadrelay.tasks.handoff import hand_off_batch
from leadrelay.tasks.rescore import rescore_batch, start_rescore
from leadrelay.wiring import services

ACTOR = "flow:rescore"


# Retrying is safe: the retry resumes the run after its last committed batch (rescore_run).
@flow(name="rescore", flow_run_name=run_name, timeout_seconds=3600, retries=1, retry_delay_seconds=60)
def rescore(as_of: datetime | None = None, batch_size: int | None = None, mode: str = DECAY) -> dict[str, dict[str, int]]:
    """Rescore every lead at `as_of` in batches (`decay`: leads with engagement points, written only
    where tier, MQL side or stage changes; `full`: every lead with the current config), then take
    new MQLs off their nurture track, hand them to reps and send the emails."""
    size = batch_size or services().settings.batch_size
    run_id, run_as_of = start_rescore(as_of, mode)
    totals = {
        "rescore": until_drained(rescore_batch, run_id, size, ACTOR),
        "nurture_exits": until_drained(exit_nurture_batch, run_as_of, size, ACTOR),
        "handoff": until_drained(hand_off_batch, run_as_of, size, ACTOR),
        "email": send_outbox(run_as_of, size),
    }
    publish_counts(totals)
    return totals
