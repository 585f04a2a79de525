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
