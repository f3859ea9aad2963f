"""The trend of an indicator over past snapshots, read from mart_indicator_snapshot."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from egov.serve.reports.charts import Point

if TYPE_CHECKING:
    from sqlalchemy import Connection


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def trend_points(conn: Connection, unit_code: str, indicator_code: str, year: int, *,
                 up_to: date | None = None) -> list[Point]:
    """The `year` snapshot of (unit, indicator) as of every day of that year computed (up to
    `up_to`), oldest first: how the year-to-date value moved during the year. Snapshots of
    the year taken after it ended (later nights recompute the years plans name) repeat its
    final figure and are left out: a past year's trend spans that year only."""
    from sqlalchemy import Date, literal, select

    from egov.warehouse.schema import mart_indicator_snapshot as s

    stmt = (select(s.c.as_of_date, s.c.value_pct, s.c.numerator, s.c.denominator)
            .where(s.c.unit_code == unit_code, s.c.indicator_code == indicator_code,
                   s.c.period_type == "year",
                   s.c.period_start == literal(date(year, 1, 1), Date),
                   s.c.as_of_date >= literal(date(year, 1, 1), Date),
                   s.c.as_of_date <= literal(date(year, 12, 31), Date))
            .order_by(s.c.as_of_date))
    if up_to is not None:
        stmt = stmt.where(s.c.as_of_date <= literal(up_to, Date))
    return [Point(_day(r.as_of_date), r.value_pct, r.numerator, r.denominator)
            for r in conn.execute(stmt)]
