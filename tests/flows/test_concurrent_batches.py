"""Batches of one step running at once: every row claimed once, never more at once than asked."""
from __future__ import annotations

import threading
import time

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlmodel import Session

from leadrelay.flows.batches import until_drained
from leadrelay.flows.pipeline import pipeline
from leadrelay.models import Lead, LeadEvent
from leadrelay.wiring import batches_in_flight
from tests.flows.test_pipeline import intake
from tests.factories import T0, buyer, student

pytestmark = pytest.mark.usefixtures("prefect_harness")


class Rows:
    """Ids 1..n claimed in id order as a database claim with SKIP LOCKED does: rows another batch
    holds are stepped over, and a finished batch's rows are done."""

    def __init__(self, n: int, together: int):
        self.waiting, self.held, self.done = set(range(1, n + 1)), set(), []
        self.lock, self.running, self.most_at_once, self.claims = threading.Lock(), 0, 0, 0
        # The first `together` batches wait for each other: broken (the test fails) unless they run at once.
        self.first_ones = threading.Barrier(together, timeout=10)

    def claim(self, size: int, after: int | None) -> list[int]:
        with self.lock:
            free = sorted(i for i in self.waiting - self.held if after is None or i > after)[:size]
            self.held.update(free)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.claims += 1
            first = self.claims <= self.first_ones.parties
        if first:
            self.first_ones.wait()
        return free

    def finish(self, taken: list[int]) -> None:
        with self.lock:
            self.waiting.difference_update(taken)
            self.held.difference_update(taken)
            self.done += taken
            self.running -= 1


def test_batches_in_flight_claim_every_row_once_and_add_up_their_counts():
    rows = Rows(95, together=3)

    @task(cache_policy=NO_CACHE)
    def batch(size: int, after: int | None = None) -> dict[str, int]:
        taken = rows.claim(size, after)
        time.sleep(0.02)  # the database's share of a batch, while the other batch computes
        rows.finish(taken)
        return {"claimed": len(taken), "even": sum(1 for i in taken if i % 2 == 0), "after": max(taken, default=after)}

    @flow
    def drain() -> dict[str, int]:
        return until_drained(batch, 10, in_flight=3)

    assert drain() == {"claimed": 95, "even": 47}
    assert sorted(rows.done) == list(range(1, 96))
    assert rows.most_at_once == 3


def test_a_failing_batch_fails_the_step():
    @task(cache_policy=NO_CACHE)
    def batch(size: int, after: int | None = None) -> dict[str, int]:
        raise RuntimeError("the database went away")

    @flow
    def drain() -> dict[str, int]:
        return until_drained(batch, 10, in_flight=2)

    with pytest.raises(RuntimeError, match="went away"):
        drain()


def test_the_pipeline_scores_every_lead_once_with_batches_at_once(services):
    intake(services.engine, *[buyer(email=f"b{i}@acme-buyer.com") for i in range(20)],
           *[student(email=f"s{i}@school.edu") for i in range(43)])
    result = pipeline(as_of=T0, batch_size=4)

    assert result["scoring"] == {"claimed": 63, "to_mql": 20, "to_nurturing": 43}
    with Session(services.engine) as session:
        per_lead = session.execute(select(LeadEvent.lead_id, func.count()).where(LeadEvent.kind == "scored")
                                   .group_by(LeadEvent.lead_id)).all()
        assert len(per_lead) == 63 and {n for _, n in per_lead} == {1}
        assert session.scalar(select(func.count()).select_from(Lead).where(Lead.needs_scoring.is_(True))) == 0


def test_batches_run_at_once_on_postgresql_only(services):
    expected = services.settings.concurrent_batches if services.engine.dialect.name == "postgresql" else 1
    assert batches_in_flight(services) == expected
