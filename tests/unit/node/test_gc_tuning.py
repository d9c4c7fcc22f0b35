"""The node's garbage-collector settings: start-up objects frozen, thresholds raised, cycles still freed."""

from __future__ import annotations

import gc
import weakref

from harmony.node import gc_tuning


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_tune_freezes_the_start_up_heap_and_raises_the_thresholds_but_cycles_are_still_collected() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.tune()
        assert gc.get_threshold() == (
            gc_tuning.YOUNG_THRESHOLD,
            gc_tuning.MIDDLE_THRESHOLD,
            gc_tuning.OLD_THRESHOLD,
        )
        assert gc.get_freeze_count() > 0
        garbage = _Cyclic()
        ref = weakref.ref(garbage)
        del garbage
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
