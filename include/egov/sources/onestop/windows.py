"""Extraction windows and the watermark they allow.

A portal's first load (or a full refresh) is split into windows of whole months, the last
one open-ended, so each runs and is retried as its own mapped task; later runs read one
window from the watermark (minus an overlap). The watermark only ever covers the committed
prefix of a run's windows, so a failed window is read again by the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Window:
    seq: int
    start: datetime
    end: datetime | None  # None: up to whatever the portal has now


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def plan_windows(watermark: datetime | None, *, full_refresh: bool, history_start: date,
                 overlap: timedelta, months: int, now: datetime) -> list[Window]:
    if watermark is not None and not full_refresh:
        return [Window(0, watermark - overlap, None)]
    bounds = [datetime.combine(history_start, datetime.min.time())]
    edge = _add_months(history_start.replace(day=1), months)
    while datetime.combine(edge, datetime.min.time()) < now:
        bounds.append(datetime.combine(edge, datetime.min.time()))
        edge = _add_months(edge, months)
    return [Window(i, start, bounds[i + 1] if i + 1 < len(bounds) else None)
            for i, start in enumerate(bounds)]


def committed_watermark(windows: list[dict[str, Any]], n_windows: int) -> datetime | None:
    """The watermark a run's committed windows justify (`windows`: etl_extract_window rows):
    the newest NgayCapNhat seen in the committed prefix 0..k-1 of its windows.

    Not a window's end: a portal whose clock is behind ours (or a window ending in the
    future) may still produce records dated before that end. Everything a later, uncommitted
    window holds is dated at or after its start, so nothing it holds is skipped.
    """
    by_seq = {w["seq"]: w for w in windows if w["status"] == "committed"}
    k = 0
    while k in by_seq and k < n_windows:
        k += 1
    newest = [by_seq[s]["newest_update"] for s in range(k) if by_seq[s]["newest_update"]]
    return max(newest) if newest else None


# A window is cut at a whole day when it spans 2 days or more, at a whole hour when it
# spans 2 hours or more, else at a second (the portal's resolution): readable bounds.
_ALIGN = ((timedelta(days=2), timedelta(days=1)), (timedelta(hours=2), timedelta(hours=1)),
          (timedelta(seconds=2), timedelta(seconds=1)))
MAX_WINDOWS = 4096  # per portal and run: a portal whose counts never fall stops splitting


def _midpoint(start: datetime, upper: datetime) -> datetime | None:
    """Where to halve [start, upper): aligned, strictly inside, None when it cannot be."""
    span = upper - start
    for least, step in _ALIGN:
        if span >= least:
            mid = start + span / 2
            base = datetime.combine(mid.date(), datetime.min.time())
            mid = base + ((mid - base) // step) * step
            if start < mid < upper:
                return mid
    return None


def _merge_adjacent(done: list[tuple[datetime, datetime | None, int]], cap: int
                    ) -> list[tuple[datetime, datetime | None, int]]:
    """Adjacent windows joined while together they hold at most `cap` versions: a first load
    of a small portal is one window, not one per year of mostly empty history (each window
    costs a task, a validation run and a commit)."""
    merged: list[tuple[datetime, datetime | None, int]] = []
    for start, end, n in done:
        if merged and merged[-1][2] + n <= cap:
            first, _end, held = merged[-1]
            merged[-1] = (first, end, held + n)
        else:
            merged.append((start, end, n))
    return merged


def split_by_count(windows: list[Window], count: Callable[[datetime, datetime | None], int], *, cap: int, now: datetime,
                   max_windows: int = MAX_WINDOWS) -> tuple[list[Window], list[Window]]:
    """The windows cut until each holds at most `cap` record versions by `count(start, end)`
    (one portal request each; end None: open-ended): the fullest window is halved by time
    first (an open-ended one between its start and `now`, the half after staying open); then
    adjacent windows are joined while they hold at most `cap` together. The windows stay
    contiguous and cover the same range, renumbered from 0. Returns the
    windows and those still above the cap (a second holding more than `cap` versions, an
    open-ended window past `now`, or `max_windows` reached). `count` may raise: nothing is
    planned then."""
    import heapq

    heap: list[tuple[int, datetime, datetime | None]] = []
    done: list[tuple[datetime, datetime | None, int]] = []
    for w in windows:
        heapq.heappush(heap, (-count(w.start, w.end), w.start, w.end))
    while heap:
        negative, start, end = heapq.heappop(heap)
        n = -negative
        mid = None
        if n > cap and len(heap) + len(done) + 2 <= max_windows:
            mid = _midpoint(start, end if end is not None else now)
        if mid is None:
            done.append((start, end, n))
            continue
        heapq.heappush(heap, (-count(start, mid), start, mid))
        heapq.heappush(heap, (-count(mid, end), mid, end))
    done.sort(key=lambda d: d[0])
    done = _merge_adjacent(done, cap)
    out = [Window(i, start, end) for i, (start, end, _n) in enumerate(done)]
    over = [w for w, (_s, _e, n) in zip(out, done, strict=True) if n > cap]
    return out, over
