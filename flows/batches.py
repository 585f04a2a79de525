"""Looping a batch task until there is nothing left to claim."""
from __future__ import annotations

from collections import Counter
from typing import Callable


def until_drained(batch_task: Callable[..., dict[str, int]], *args) -> dict[str, int]:
    """Call `batch_task(*args)` until it claims nothing; returns its counts added up."""
    totals: Counter = Counter()
    while True:
        counts = batch_task(*args)
        if not counts.get("claimed"):
            return dict(totals)
        totals.update(counts)
