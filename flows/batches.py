"""Looping a batch task until there is nothing left to claim."""
from __future__ import annotations

from collections import Counter
from typing import Callable


def until_drained(batch_task: Callable[..., dict[str, int]], *args) -> dict[str, int]:
    """Call `batch_task(*args)` until it claims nothing; returns its counts added up.

    A task that claims rows in id order returns `after`, the last id it claimed, and is called with
    it next time: each batch starts where the last one stopped instead of stepping again over the
    rows this loop already did (their old index entries made each claim slower than the last)."""
    totals: Counter = Counter()
    after = None
    while True:
        counts = dict(batch_task(*args) if after is None else batch_task(*args, after=after))
        after = counts.pop("after", None)
        if not counts.get("claimed"):
            return dict(totals)
        totals.update(counts)


def add_pass(totals: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    """Add one more pass's counts, step by step, into `totals` (a snapshot such as
    `still_pending` takes the newer value)."""
    for step, counts in more.items():
        added = Counter(totals.get(step, {}))
        added.update({k: v for k, v in counts.items() if k != "still_pending"})
        totals[step] = {**dict(added), **({"still_pending": counts["still_pending"]} if "still_pending" in counts else {})}
