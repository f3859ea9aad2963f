"""egov.gc_pause: the collector is off inside, restored after, and a window's cycles freed."""

from __future__ import annotations

import gc
import weakref

from egov.gc_pause import collector_paused


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
