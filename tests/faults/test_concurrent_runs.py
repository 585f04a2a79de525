"""(d) Four runs of each flow at once (pipeline, nurture, send), each a process of its own on the
same PostgreSQL database: no lead scored twice, no lead handed off twice, no email sent twice.
(tests/storage/test_concurrent_claims.py and test_outbox_batches.py check the claims themselves.)"""
from __future__ import annotations

import json

import pytest

from tests.faults.conftest import FAULTS
from tests.faults.runs import (
    API_KEY,
    check_invariants,
    held_back,
    queued,
    seed_new_leads,
    seed_nurtured_leads,
    seed_queued_emails,
    start_run,
)
from tests.support.fake_sendgrid import FakeSendGrid

pytestmark = [*FAULTS, pytest.mark.usefixtures("no_proxy_for_loopback")]
RUNS = 4
LEADS = 3000


def run_together(flow, pg, api_url, server, workdir, batch_size, step, table) -> list[int]:
    """Start RUNS runs of `flow`, let them go at once (when all wait for `table`), wait for all;
    how much of `step` each one did."""
    runs = []
    with held_back(pg, table, lambda: [run.name for run in runs]):
        runs.extend(start_run(flow, pg, api_url, server, workdir, batch_size=batch_size) for _ in range(RUNS))
    done = []
    for run in runs:
        assert run.wait() == 0, run.output()
        printed = run.log.read_text()
        result = json.loads(printed[printed.rindex("\n{\n") + 1:])  # `leadrelay run` prints its counts last
        done.append(result.get(step[0], {}).get(step[1], 0))  # a run that found nothing has no counts
    return done


def test_four_concurrent_runs_of_each_flow_do_nothing_twice(pg, prefect_api_url, tmp_path):
    seed_new_leads(pg.engine, LEADS)
    seed_nurtured_leads(pg.engine, 600)
    with FakeSendGrid(API_KEY, keep_alive=True, hang_seconds=0.01) as server:
        scored = run_together("pipeline", pg, prefect_api_url, server, tmp_path, 100, ("scoring", "claimed"), "lead")
        after_pipeline = check_invariants(pg, server, duplicates_allowed=0)
        stepped = run_together("nurture", pg, prefect_api_url, server, tmp_path, 50, ("steps", "claimed"),
                               "nurture_enrollment")
        after_nurture = check_invariants(pg, server, duplicates_allowed=0)
        seed_queued_emails(pg.engine, 800)
        sent = run_together("send", pg, prefect_api_url, server, tmp_path, 50, ("email", "sent"), "outbox_email")
        after_send = check_invariants(pg, server, duplicates_allowed=0)

    # the runs really overlapped: the work was shared out, none was done twice
    assert sum(scored) == LEADS and sum(1 for n in scored if n) >= 2, scored
    assert sum(1 for n in stepped if n) >= 2 and sum(1 for n in sent if n) >= 2, (stepped, sent)
    assert sum(sent) == 800
    assert after_pipeline["handoffs"] > 0 and after_pipeline["emails"] >= after_pipeline["handoffs"]
    assert after_nurture["emails"] >= after_pipeline["emails"] + 600
    assert after_send["emails"] == after_nurture["emails"] + 800 == queued(pg)
