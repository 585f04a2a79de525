"""A per-key token bucket (per client IP for form posts), in memory, with an injectable clock."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Allows `per_minute` requests per key at once, refilled at `per_minute` per minute.

    `per_minute=0` allows everything. State lives in this process only: each web process counts
    on its own. At most `max_keys` keys are tracked; beyond that, idle keys are forgotten first.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000):
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when last counted)
        # Route handlers run in a thread pool: two requests may ask at the same moment.
        self._lock = threading.Lock()

    def try_acquire(self, key: str) -> int:
        """Spend one token of `key` and return 0; or, when it has none, spend nothing and return
        the whole seconds (at least 1) until it will have one."""
        if self.capacity <= 0:
            return 0
        with self._lock:
            moment = self.clock()
            tokens = self._tokens(key, moment)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, moment)
                self._forget_if_crowded(moment)
                return 0
            self._buckets[key] = (tokens, moment)
            return max(1, math.ceil((1 - tokens) / self.per_second))

    def _tokens(self, key: str, moment: float) -> float:
        tokens, counted_at = self._buckets.get(key, (self.capacity, moment))
        return min(self.capacity, tokens + max(0.0, moment - counted_at) * self.per_second)

    def _forget_if_crowded(self, moment: float) -> None:
        if len(self._buckets) <= self.max_keys:
            return
        # A full bucket is the same as no bucket: drop those; if still crowded, the longest idle.
        full = [key for key in self._buckets if self._tokens(key, moment) >= self.capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:
            by_age = sorted(self._buckets, key=lambda key: self._buckets[key][1])
            for key in by_age[: len(self._buckets) - self.max_keys // 2]:
                del self._buckets[key]
