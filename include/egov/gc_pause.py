"""Python's cyclic garbage collector paused over one window's allocation-heavy work.

Parsing a window allocates millions of small containers (dicts, lists, tuples), none of them
in a cycle, and each full collection scans every live one: with the collector on, 40% of
`read_window`'s time was collection (docs/performance.md, "Second pass"). Paused for one
window, then one collection: what the window's work left in cycles (GX, SQLAlchemy) is freed
there, so memory stays bounded by the window, not by the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside; on the way out restore it and collect once
    (unless it was already off: then the caller owns it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)  # what the window made is all still young
