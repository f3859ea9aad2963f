"""Snapshot periods (month, quarter, calendar year) and the as-of day of a run.

A snapshot is computed as of a day `A` for a period `P = [start, end]`; a period still
running at `A` is cut there: `P' = [start, min(end, A)]` (docs/contracts/indicators.md).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD_TYPES: tuple[str, ...] = ("month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """A calendar period; `end` is its last day, never cut."""

    period_type: str
    start: date
    end: date

    def cut_end(self, as_of: date) -> date:
        """`end(P')`: the period's last day, or `as_of` when the period is still running."""
        return min(self.end, as_of)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_containing(period_type: str, day: date) -> Period:
    """The month, quarter or year (`period_type`) that contains `day`."""
    if period_type == "month":
        return Period("month", day.replace(day=1), _month_end(day.year, day.month))
    if period_type == "quarter":
        first = 3 * ((day.month - 1) // 3) + 1
        return Period("quarter", date(day.year, first, 1), _month_end(day.year, first + 2))
    if period_type == "year":
        return year_period(day.year)
    raise ValueError(f"unknown period type {period_type!r} (expected one of {PERIOD_TYPES})")


def year_period(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def snapshot_periods(as_of: date, target_years: Iterable[int] = ()) -> list[Period]:
    """The periods one run writes: the month, quarter and year containing `as_of`, then the
    year of every target year up to `as_of.year` (ascending, without duplicates)."""
    periods = [period_containing(kind, as_of) for kind in PERIOD_TYPES]
    for year in sorted({int(y) for y in target_years}):
        period = year_period(year)
        if year <= as_of.year and period not in periods:
            periods.append(period)
    return periods


def as_of_for_logical_date(logical_date: datetime) -> date:
    """The local (Asia/Ho_Chi_Minh) calendar day of `logical_date`, minus one day.

    A naive datetime is taken as UTC (Airflow's logical dates are UTC).
    """
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=UTC)
    return logical_date.astimezone(LOCAL_TZ).date() - timedelta(days=1)


def run_as_of(params: dict, logical_date: datetime | None) -> date:
    """A run's as-of day: `params["as_of"]` when given (YYYY-MM-DD), else the day before
    the logical date's local day; ValueError when the run has neither."""
    if params.get("as_of"):
        return date.fromisoformat(str(params["as_of"]))
    if logical_date is None:
        raise ValueError("no logical date and no params.as_of: cannot tell the as-of day")
    return as_of_for_logical_date(logical_date)
