"""Vietnamese working days (weekends and public holidays off, swapped Saturdays on).

Uses ``holidays.Vietnam().is_working_day`` (Tết, Giỗ Tổ, 30/4, 1/5, 2/9, substituted days off
and the Saturdays worked in exchange). ``WorkCalendar`` precomputes a range of days so that
"the n-th working day after day d" is one bisect.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

import holidays


class WorkCalendar:
    def __init__(self, first: date, last: date):
        self.first = first
        self.last = last
        self._vn = holidays.Vietnam(years=range(first.year, last.year + 1))
        self._work_ords: list[int] = []
        d = first
        one = timedelta(days=1)
        while d <= last:
            if self._vn.is_working_day(d):
                self._work_ords.append(d.toordinal())
            d += one

    def is_working_day(self, d: date) -> bool:
        if self.first <= d <= self.last:
            i = bisect_right(self._work_ords, d.toordinal())
            return i > 0 and self._work_ords[i - 1] == d.toordinal()
        return bool(self._vn.is_working_day(d))

    def add_working_days_ord(self, day_ord: int, n: int) -> int:
        """Ordinal of the n-th working day strictly after day ``day_ord`` (n ≥ 1)."""
        i = bisect_right(self._work_ords, day_ord) + n - 1
        if i >= len(self._work_ords):
            raise ValueError("working-day calendar too short; extend it")
        return self._work_ords[i]

    def next_working_day_ord(self, day_ord: int) -> int:
        """``day_ord`` itself if it is a working day, else the next working day."""
        return self.add_working_days_ord(day_ord - 1, 1)

    def add_working_days(self, d: date, n: int) -> date:
        return date.fromordinal(self.add_working_days_ord(d.toordinal(), n))

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]."""
        return bisect_right(self._work_ords, end.toordinal()) - bisect_right(
            self._work_ords, start.toordinal())


def is_vietnam_working_day(d: date) -> bool:
    return bool(holidays.Vietnam(years=d.year).is_working_day(d))
