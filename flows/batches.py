"""Looping a batch task until there is nothing left to claim."""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from prefect.futures import PrefectFuture, as_completed


def until_drained(batch_task: Callable[..., dict[str, int]], *args, in_flight: int = 1) -> dict[str, int]:
    """Call `batch_task(*args)` until it claims nothing; returns its counts added up.

    A task that claims rows in id order returns `after`, the last id it claimed, and is called with
    it next time: each batch starts where the last one stopped instead of stepping again over the
    rows this loop already did (their old index entries made each claim slower than the last).

    With `in_flight` > 1 (a Prefect task whose claims skip rows other transactions hold), up to that
    many batches run at once on the flow's task runner, so one batch's database work overlaps
    another's Python work."""
    if in_flight > 1:
        return _drain_concurrently(batch_task, args, in_flight)
    totals: Counter = Counter()
    after = None
    while True:
        counts = dict(batch_task(*args) if after is None else batch_task(*args, after=after))
        after = counts.pop("after", None)
        if not counts.get("claimed"):
            return dict(totals)
        totals.update(counts)


def _drain_concurrently(batch_task: Any, args: tuple, in_flight: int) -> dict[str, int]:
    """`until_drained` with up to `in_flight` submitted batches at a time. A new batch starts after
    the highest id a finished one claimed and skips the rows of those still running (SKIP LOCKED),
    so batches are disjoint; once one claims nothing, every row left is in a running batch, and the
    loop only waits for those."""
    totals: Counter = Counter()
    after = None
    running: list[PrefectFuture] = []
    drained = False
    while True:
        while not drained and len(running) < in_flight:
            running.append(batch_task.submit(*args) if after is None else batch_task.submit(*args, after=after))
        if not running:
            return dict(totals)
        finished = next(as_completed(running))
        running.remove(finished)
        counts = dict(finished.result())
        claimed_up_to = counts.pop("after", None)
        if claimed_up_to is not None:
            after = claimed_up_to if after is None else max(after, claimed_up_to)
        if counts.get("claimed"):
            totals.update(counts)
        else:
            drained = True


def add_pass(totals: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    """Add one more pass's counts, step by step, into `totals` (a snapshot such as
    `still_pending` takes the newer value)."""
    for step, counts in more.items():
        added = Counter(totals.get(step, {}))
        added.update({k: v for k, v in counts.items() if k != "still_pending"})
        totals[step] = {**dict(added), **({"still_pending": counts["still_pending"]} if "still_pending" in counts else {})}
