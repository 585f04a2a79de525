"""(b) kill -9 of a `pipeline` and of a `nurture` run mid-batch, and (c) their database connections
terminated mid-batch (`pg_terminate_backend` from another connection); then the run again. Every
lead is scored once, at most one handoff per lead, nothing stuck once the leases ran out, and no
email accepted twice beyond the documented window (a killed drainer's messages in flight)."""
from __future__ import annotations

import pytest

from tests.faults.conftest import FAULTS
from tests.faults.runs import (
    API_KEY,
    WINDOW,
    check_invariants,
    queued,
    scored,
    seed_new_leads,
    seed_nurtured_leads,
    send_after_the_leases,
    sent,
    start_run,
    terminate_connections,
    wait_for,
)
from tests.support.fake_sendgrid import FakeSendGrid

pytestmark = [*FAULTS, pytest.mark.usefixtures("no_proxy_for_loopback")]
LEADS = 3000
BATCH = 150


def slow_sendgrid() -> FakeSendGrid:
    """A SendGrid that takes 50 ms per message, so sending is still under way when the fault hits."""
    return FakeSendGrid(API_KEY, hang_seconds=0.05, keep_alive=True)


def kill(run, db):
    run.kill()


def cut_off(run, db):
    assert terminate_connections(db, run.name) >= 1


@pytest.mark.parametrize("fault", [kill, cut_off], ids=["kill -9", "pg_terminate_backend"])
def test_a_pipeline_run_hit_mid_scoring_then_run_again(pg, prefect_api_url, tmp_path, fault):
    seed_new_leads(pg.engine, LEADS)
    with slow_sendgrid() as server:
        first = start_run("pipeline", pg, prefect_api_url, server, tmp_path, batch_size=BATCH)
        wait_for(first, lambda: scored(pg) >= BATCH, "a scored batch")
        fault(first, pg)
        at_fault = scored(pg)
        first.wait()
        again = start_run("pipeline", pg, prefect_api_url, server, tmp_path, batch_size=BATCH)
        assert again.wait() == 0, again.output()
        send_after_the_leases(pg, server)
        counted = check_invariants(pg, server, duplicates_allowed=0)  # no email was in flight at the fault

    assert at_fault < LEADS  # the fault hit while leads were still waiting
    assert counted["handoffs"] > 0 and counted["emails"] >= counted["handoffs"]


@pytest.mark.parametrize("fault", [kill, cut_off], ids=["kill -9", "pg_terminate_backend"])
def test_a_nurture_run_hit_mid_sending_then_run_again(pg, prefect_api_url, tmp_path, fault):
    seed_nurtured_leads(pg.engine, LEADS // 3)
    with slow_sendgrid() as server:
        first = start_run("nurture", pg, prefect_api_url, server, tmp_path, batch_size=BATCH)
        wait_for(first, lambda: sent(pg) >= 50, "50 emails sent")
        fault(first, pg)
        at_fault = sent(pg)
        first.wait()
        again = start_run("nurture", pg, prefect_api_url, server, tmp_path, batch_size=BATCH)
        assert again.wait() == 0, again.output()
        send_after_the_leases(pg, server)
        counted = check_invariants(pg, server, duplicates_allowed=WINDOW)

    assert at_fault < LEADS // 3 and queued(pg) == LEADS // 3  # one step per lead, hit half-way
    assert counted["emails"] == LEADS // 3
