"""Extraction windows and the watermark they allow.

A portal's first load (or a full refresh) is split into windows of whole months, the last
one open-ended, so each runs and is retried as its own mapped task; later runs read one
window from the watermark (minus an overlap). The watermark only ever covers the committed
prefix of a run's windows, so a failed window is read again by the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


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


def committed_watermark(windows: list[dict], n_windows: int) -> datetime | None:
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
