"""leadrelay.gc_pause: the collector is paused while the work runs and left as it was after,
whether the work returns or raises."""
from __future__ import annotations

import gc

import pytest

from leadrelay.gc_pause import collector_paused


@collector_paused
def collector_state(fail: bool = False) -> bool:
    if fail:
        raise ValueError("the batch failed")
    return gc.isenabled()


def test_the_collector_is_paused_during_the_work_and_resumed_after():
    assert gc.isenabled()
    assert collector_state() is False
    assert gc.isenabled()
    with pytest.raises(ValueError):
        collector_state(fail=True)
    assert gc.isenabled()


def test_a_collector_paused_before_stays_paused():
    gc.disable()
    try:
        assert collector_state() is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_with_batches_in_several_threads_it_resumes_only_when_the_last_one_returns():
    import threading

    first_inside, second_done, release_first = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    @collector_paused
    def long_batch():
        first_inside.set()
        release_first.wait(5)
        seen["first, at its end"] = gc.isenabled()

    @collector_paused
    def short_batch():
        seen["second"] = gc.isenabled()

    first = threading.Thread(target=long_batch)
    first.start()
    first_inside.wait(5)
    short_batch()  # starts and returns while the long one still runs
    seen["between"] = gc.isenabled()
    release_first.set()
    first.join(5)
    assert seen == {"second": False, "between": False, "first, at its end": False}
    assert gc.isenabled()
