"""egov.runtime.gc_pause: the collector is off inside, restored after, and a window's cycles freed."""

from __future__ import annotations

import gc
import weakref

import pytest

from egov.runtime.gc_pause import collector_paused


class Node:
    pass


def test_the_collector_is_paused_inside_and_cycles_are_freed_on_the_way_out():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None
    assert gc.isenabled() and ref() is None


def test_an_error_inside_still_restores_the_collector_and_a_caller_who_turned_it_off_keeps_it():
    try:
        with collector_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_validation_leaves_no_record_for_the_collector():
    """GX keeps exceptions it caught in reference cycles, pinning the frames of their
    tracebacks and every caller's: run on its own stack, it pins none of the caller's
    records, which are freed when the caller lets go of them, collector or not."""
    from datetime import datetime

    from egov.quality.portal import validate_portal
    from egov.runtime.gc_pause import on_own_stack
    from egov.simulator.world import build_world
    from egov.sources.onestop.records import RecordVersion, parse_version

    world = build_world(seed=3, scale=300, clock=datetime(2025, 6, 30, 20, 0))
    items = list(world.warehouse_truth("tay-ninh", [datetime(2025, 6, 30, 20, 0)]).values())

    def window():
        versions = [parse_version(item) for item in items]
        quality = validate_portal(world.units("tay-ninh"), world.procedures("tay-ninh"),
                                  versions)
        return len(quality.records.accepted)

    def alive() -> int:  # by exact type: isinstance would touch lazy proxies
        return sum(type(o) is RecordVersion for o in gc.get_objects())

    assert window() > 100  # imports and GX set up, outside the count
    gc.collect()
    gc.disable()
    try:
        before = alive()  # what other tests in this process still hold
        assert window() > 100
        pinned = alive() - before
    finally:
        gc.enable()
    assert pinned == 0
    with pytest.raises(ZeroDivisionError):  # errors come back to the caller
        on_own_stack(lambda: 1 / 0)
    assert on_own_stack(divmod, 7, 2) == (3, 1)
