"""The index's periods: which a run reads, their names (`2026-08`, `2026-Q3`, `2026`) and
the request fields that ask for them (dvcqg-766.md "Transport")."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from egov.periods import Period, period_containing

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")


class PeriodError(ValueError):
    """A period name or request the index cannot answer; the message says why."""


def parse_period(text: Any) -> Period:
    """`2026-08` (month), `2026-Q3` (quarter) or `2026` (year)."""
    if not isinstance(text, str):
        raise PeriodError(f"period {text!r}: expected text like 2026-08, 2026-Q3 or 2026")
    value = text.strip()
    if m := _MONTH.fullmatch(value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r}: month {month} is not 01..12")
        return period_containing("month", date(_year(year, text), month, 1))
    if m := _QUARTER.fullmatch(value):
        return period_containing("quarter", date(_year(int(m[1]), text), 3 * int(m[2]) - 2, 1))
    if m := _YEAR.fullmatch(value):
        return period_containing("year", date(_year(int(m[1]), text), 1, 1))
    raise PeriodError(f"period {text!r}: expected 2026-08 (month), 2026-Q3 (quarter) or "
                      f"2026 (year)")


def _year(year: int, text: str) -> int:
    if not 2000 <= year <= 2200:
        raise PeriodError(f"period {text!r}: year {year} is out of range")
    return year


def label(period: Period) -> str:
    if period.period_type == "month":
        return f"{period.start:%Y-%m}"
    if period.period_type == "quarter":
        return f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}"
    return f"{period.start.year}"


def is_final(period: Period, as_of: date, final_days: int) -> bool:
    """Closed for longer than `final_days` at the end of `as_of`: its figures no longer move."""
    return (as_of - period.end).days > final_days


def check_readable(period: Period, as_of: date) -> None:
    """A month only after its last day; a quarter or year once started; never the future."""
    if period.start > as_of:
        raise PeriodError(f"period {label(period)} has not started on {as_of}: a future "
                          f"period is never requested")
    if period.period_type == "month" and period.end > as_of:
        raise PeriodError(f"month {label(period)} is not over on {as_of}: a month is read "
                          f"only after its last day")


def scheduled_periods(as_of: date, final_days: int) -> list[Period]:
    """What a scheduled run as of `as_of` reads: the most recent closed month, the running
    quarter and year, and every month, quarter and year closed in the last `final_days`
    days (still moving as records sync), oldest first within each kind."""
    out: list[Period] = []
    last_month = period_containing("month", as_of.replace(day=1) - timedelta(days=1))
    if period_containing("month", as_of).end == as_of:  # as_of is a month's last day
        last_month = period_containing("month", as_of)
    for kind in ("month", "quarter", "year"):
        found: list[Period] = []
        day = as_of
        while True:
            p = period_containing(kind, day)
            if is_final(p, as_of, final_days):
                break
            running = p.end > as_of
            if not (running and kind == "month"):
                found.append(p)
            day = p.start - timedelta(days=1)
        if kind == "month" and last_month not in found:
            found.append(last_month)
        out.extend(sorted(found, key=lambda p: p.start))
    return out


def request_fields(group_date_range: bool, period: Period) -> dict[str, Any]:
    """The period's fields of a request body: timeType/year/quarter/month, or for
    `handling-satisfaction` the period's first and last day."""
    if group_date_range:
        return {"fromDate": period.start.isoformat(), "toDate": period.end.isoformat()}
    body = {"timeType": period.period_type, "year": period.start.year}
    if period.period_type == "quarter":
        body["quarter"] = (period.start.month - 1) // 3 + 1
    elif period.period_type == "month":
        body["month"] = period.start.month
    return body
