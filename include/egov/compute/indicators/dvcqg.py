"""Indicators the 766 index gives (dvcqg-766.md "Indicators it gives"), computed from the
current complete reads (`dvcqg_score`, `dvcqg_metric`) for a period of the portal's own
(month, quarter, year: never re-cut by day).

* `dvcqg:<METRIC_CODE>`: the metric's numerator / denominator (its `ratio` when the portal
  gives no counts), in percent;
* `dvcqg:progress` = totalOnTime / totalReceived, `dvcqg:online_dossiers` =
  channelOnlineSum / channelTotalSum, `dvcqg:online_payment` =
  totalDossierOnlinePaymentSuccess / totalDossierFinancialObligation, in percent;
* `dvcqg:score` (a unit's or province's total of the six groups) and
  `dvcqg:score:<group>`, in points (`max_value` gives the points possible).

A denominator of 0 is "no data" (value null), never 0 or 100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from egov.sources.dvcqg.groups import GROUP_CODES

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

PREFIX = "dvcqg:"
RATIOS = {  # code -> (group, numerator field, denominator field)
    "progress": ("progress", "totalOnTime", "totalReceived"),
    "online_dossiers": ("online_service", "channelOnlineSum", "channelTotalSum"),
    "online_payment": ("online_payment", "totalDossierOnlinePaymentSuccess",
                       "totalDossierFinancialObligation"),
}
_METRIC = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")


class IndicatorError(ValueError):
    """Not an indicator of the index; the message says what is accepted."""


@dataclass(frozen=True)
class Indicator:
    code: str
    kind: str  # "score", "group_score", "ratio", "metric"
    unit: str  # "points" or "percent"
    group_code: str | None = None
    metric_code: str | None = None


@dataclass(frozen=True)
class IndicatorValue:
    department_id: str
    department_name: str | None
    numerator: float | None
    denominator: float | None
    value: float | None  # percent, or points
    unit: str
    max_value: float | None = None  # points possible (scores)


def parse_indicator(code: Any) -> Indicator:
    if not isinstance(code, str) or not code.startswith(PREFIX):
        raise IndicatorError(f"{code!r} is not an index indicator (dvcqg:...)")
    rest = code[len(PREFIX):]
    if rest == "score":
        return Indicator(code, "score", "points")
    if rest.startswith("score:"):
        group = rest[len("score:"):]
        if group not in GROUP_CODES:
            raise IndicatorError(f"{code!r}: group must be one of {', '.join(GROUP_CODES)}")
        return Indicator(code, "group_score", "points", group_code=group)
    if rest in RATIOS:
        group, num, den = RATIOS[rest]
        return Indicator(code, "ratio", "percent", group_code=group)
    if _METRIC.fullmatch(rest):
        return Indicator(code, "metric", "percent", metric_code=rest)
    raise IndicatorError(f"{code!r}: expected dvcqg:score, dvcqg:score:<group>, "
                         f"dvcqg:progress, dvcqg:online_dossiers, dvcqg:online_payment or "
                         f"dvcqg:<METRIC_CODE>")


def _pct(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return 100.0 * num / den


def values(conn: Connection, code: str, *, root_department_id: str, period_type: str,
           period_start: date, department_id: str | None = None) -> list[IndicatorValue]:
    """The indicator for every department of the province's period (or one), ordered by
    department id; a department without the figure is left out."""
    from sqlalchemy import select

    from egov.warehouse.schema import dvcqg_metric as m
    from egov.warehouse.schema import dvcqg_score as s

    ind = parse_indicator(code)
    where_s = [s.c.root_department_id == root_department_id, s.c.period_type == period_type,
               s.c.period_start == period_start]
    where_m = [m.c.root_department_id == root_department_id, m.c.period_type == period_type,
               m.c.period_start == period_start]
    if department_id is not None:
        where_s.append(s.c.department_id == department_id)
        where_m.append(m.c.department_id == department_id)
    scores = conn.execute(select(s.c.department_id, s.c.department_name, s.c.group_code,
                                 s.c.score, s.c.max_score).where(*where_s)).all()
    names = {r.department_id: r.department_name for r in scores}
    out: list[IndicatorValue] = []
    if ind.kind in ("score", "group_score"):
        by_dep: dict[str, dict[str, Any]] = {}
        for r in scores:
            by_dep.setdefault(r.department_id, {})[r.group_code] = r
        for dep in sorted(by_dep):
            groups = by_dep[dep]
            if ind.kind == "group_score":
                found = groups.get(cast(str, ind.group_code))
                if found is not None and found.score is not None:
                    out.append(IndicatorValue(dep, names.get(dep), None, None, found.score,
                                              "points", found.max_score))
            elif set(groups) >= set(GROUP_CODES) and all(
                    groups[g].score is not None for g in GROUP_CODES):
                total = sum(groups[g].score for g in GROUP_CODES)
                top = sum(groups[g].max_score or 0 for g in GROUP_CODES)
                out.append(IndicatorValue(dep, names.get(dep), None, None, round(total, 6),
                                          "points", top))
        return out
    if ind.kind == "ratio":
        group, num_field, den_field = RATIOS[ind.code[len(PREFIX):]]
        rows = conn.execute(select(m.c.department_id, m.c.metric_code, m.c.numerator)
                            .where(*where_m, m.c.group_code == group,
                                   m.c.metric_code.in_((num_field, den_field)))).all()
        counts: dict[str, dict[str, Any]] = {}
        for r in rows:
            counts.setdefault(r.department_id, {})[r.metric_code] = r.numerator
        for dep in sorted(counts):
            num, den = counts[dep].get(num_field), counts[dep].get(den_field)
            if num is None and den is None:
                continue
            out.append(IndicatorValue(dep, names.get(dep), num, den, _pct(num, den),
                                      "percent"))
        return out
    rows = conn.execute(select(m.c.department_id, m.c.numerator, m.c.denominator, m.c.ratio)
                        .where(*where_m, m.c.metric_code == ind.metric_code)
                        .order_by(m.c.department_id, m.c.group_code)).all()
    seen: set[str] = set()
    for r in rows:
        if r.department_id in seen:
            continue
        seen.add(r.department_id)
        if r.numerator is None and r.denominator is None:
            value = r.ratio  # the portal gives the ratio alone (ELECTRONIC_CERTIFIED_COPY)
        else:
            value = _pct(r.numerator, r.denominator)
        out.append(IndicatorValue(r.department_id, names.get(r.department_id), r.numerator,
                                  r.denominator, value, "percent"))
    return out


def meets(value: float | None, comparator: str, threshold: float) -> bool | None:
    """Whether a value meets a target (`>=`/`>` a threshold in the indicator's unit: points
    for scores, percent otherwise); None when there is no value."""
    if value is None:
        return None
    if comparator == ">=":
        return value >= threshold
    if comparator == ">":
        return value > threshold
    raise IndicatorError(f"comparator must be '>=' or '>', got {comparator!r}")


def is_index_indicator(code: Any) -> bool:
    """Whether `code` names an indicator of the index (`dvcqg:...`) that parses."""
    try:
        parse_indicator(code)
    except IndicatorError:
        return False
    return True


def unit_value(conn: Connection, code: str, *, unit_code: str, period_type: str,
               period_start: date) -> IndicatorValue | None:
    """The indicator of the department mapped to the one-stop unit `unit_code` (the
    crosswalk: `dvcqg_score.unit_code`) for a period of the index, or None (no mapped
    department, no current complete read, or no figure)."""
    from sqlalchemy import select

    from egov.warehouse.schema import dvcqg_score as s

    found = conn.execute(
        select(s.c.root_department_id, s.c.department_id).distinct()
        .where(s.c.unit_code == unit_code, s.c.period_type == period_type,
               s.c.period_start == period_start)
        .order_by(s.c.root_department_id, s.c.department_id)).all()
    if not found:
        return None
    root, department = found[0]
    got = values(conn, code, root_department_id=root, period_type=period_type,
                 period_start=period_start, department_id=department)
    return got[0] if got else None
