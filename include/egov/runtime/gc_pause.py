"""Python's cyclic garbage collector paused over one window's allocation-heavy work.

Parsing a window allocates millions of small containers (dicts, lists, tuples), none of them
in a cycle, and each full collection scans every live one: with the collector on, 40% of
`read_window`'s time was collection (docs/performance.md, "Second pass"). Paused for one
window, then one collection: what the window's work left in cycles (GX, SQLAlchemy) is freed
there, so memory stays bounded by the window, not by the run.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


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


def on_own_stack(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on a short-lived thread of its own; its result, or its error.

    A library that keeps an exception it caught in a reference cycle (GX's pydantic models
    do, hundreds of times a validation) keeps the frames of its traceback alive until the
    collector runs, and each frame its caller's, up the stack: run from a window's code, that
    pins the window's records (millions of containers) for the next collection to walk
    through. On its own thread, the frames it can pin stop at `fn`'s."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="egov-own-stack") as pool:
        return pool.submit(fn, *args, **kwargs).result()
