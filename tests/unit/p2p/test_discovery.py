"""The pause between discovery rounds (:func:`harmony.p2p.discovery.next_discovery_interval`)."""

from __future__ import annotations

from harmony.p2p.discovery import next_discovery_interval


def test_discovery_rounds_that_change_nothing_are_spaced_out_up_to_the_cap() -> None:
    pauses = [10.0]
    for changed in (False, False, False, False, False, False, True, False):
        pauses.append(next_discovery_interval(pauses[-1], base=10.0, cap=160.0, changed=changed))
    assert pauses == [10.0, 20.0, 40.0, 80.0, 160.0, 160.0, 160.0, 10.0, 20.0]
