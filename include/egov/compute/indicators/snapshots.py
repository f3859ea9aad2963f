"""Indicator snapshots (docs/contracts/indicators.md), computed in SQL inside the warehouse.

`compute_snapshots` writes one `mart_indicator_snapshot` row per unit of each portal, per
indicator of `ALL_INDICATORS` and per period. The counting happens in two SQL queries, both
with the same text on SQLite and PostgreSQL (SQLAlchemy Core, dates as bound parameters of
type Date, compared with the `*_date` columns):

* record query: `fct_dossier` is aggregated per unit in one pass, with one
  `SUM(CASE WHEN <condition> THEN 1 ELSE 0 END)` per (measure, period); the per-unit sums are
  then joined to `unit_closure` (descendant = the record's unit) and summed per ancestor, so
  each unit covers its whole subtree. Record counts are additive, so the two-stage sum gives
  the same numbers as grouping records by ancestor directly, at a fraction of the cost.
* catalogue query: the distinct (ancestor, procedure) pairs of `procedure_unit` ⋈
  `dim_procedure` ⋈ `unit_closure`, left-joined to the procedures that have a RECEIVED record
  in the ancestor's subtree per period, counted with `SUM(CASE ...)` per ancestor.

Python then only turns the aggregated integers into rows: every unit of `dim_unit` gets a row
for every indicator and period (0 / 0 / NULL where nothing counted), and `value_pct` is
rounded exactly from the two integers (`value_pct`).

Records whose unit is not in `unit_closure` count for no unit; procedures of
`procedure_unit` missing from `dim_procedure` are ignored.

By default (`incremental=True`) the record counts and the active procedures are summed from
the aggregates of egov.warehouse.aggregates instead of fct_dossier (same figures; docs/performance.md,
"Incremental snapshots"); the queries above are the full path (`incremental=False`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    ColumnElement,
    Connection,
    Date,
    Label,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from egov.compute.indicators.codes import ALL_INDICATORS, CATALOG_INDICATORS, RECORD_INDICATORS
from egov.periods import Period
from egov.warehouse.schema import (
    agg_procedure_day,
    dim_procedure,
    dim_unit,
    fct_dossier,
    mart_indicator_snapshot,
    procedure_unit,
    unit_closure,
)

log = logging.getLogger(__name__)

NOT_RECEIVED_STATUSES = (1, 3)
RESOLVED_STATUSES = (9, 10)

# indicator -> (measures summed into the numerator, measures summed into the denominator)
RECORD_RATIOS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "on_time_rate": (("resolved_on_time",), ("resolved",)),
    "progress_rate": (("resolved_on_time", "open_within"), ("resolved", "open")),
    "online_rate": (("received_online",), ("received",)),
    "full_online_rate": (("received_full_online",), ("received",)),
    "postal_intake_rate": (("received_postal",), ("received",)),
    "postal_return_rate": (("resolved_postal",), ("resolved",)),
    "online_payment_rate": (("received_fee_paid_online",), ("received_fee",)),
    "digitized_dossier_rate": (("received_digitized",), ("received",)),
    "digitized_result_rate": (("resolved_e_result",), ("resolved",)),
    "e_certification_rate": (("resolved_cert_e_result",), ("resolved_cert",)),
    "satisfaction_rate": (("resolved_satisfied",), ("resolved_rated",)),
}

# catalogue indicator -> (numerator measure, denominator measure); `active_*` are per period
CATALOG_RATIOS: dict[str, tuple[str, str]] = {
    "catalog_online_rate": ("online", "procedures"),
    "catalog_full_online_rate": ("full_online", "procedures"),
    "catalog_full_online_eligible_rate": ("full_online_of_eligible", "eligible"),
    "catalog_active_online_rate": ("active_online", "active"),
    "catalog_national_portal_rate": ("national_portal", "procedures"),
    "catalog_online_national_portal_rate": ("online_national_portal", "online"),
    "catalog_online_payment_rate": ("fee_paid_online", "fee"),
}
PER_PERIOD_CATALOG_MEASURES = ("active", "active_online")

assert set(RECORD_RATIOS) == set(RECORD_INDICATORS)
assert set(CATALOG_RATIOS) == set(CATALOG_INDICATORS)

_HUNDREDTH = Decimal("0.01")


def value_pct(numerator: int, denominator: int) -> Decimal | None:
    """round(100 × numerator / denominator, 2), half away from zero; None when denominator is 0.

    Exact: integer arithmetic on the counts, no floating point and no precision limit.
    """
    if not denominator:
        return None
    num = 10_000 * numerator
    sign = -1 if (num < 0) != (denominator < 0) else 1
    hundredths, rest = divmod(abs(num), abs(denominator))
    if 2 * rest >= abs(denominator):
        hundredths += 1
    return (Decimal(sign * hundredths) * _HUNDREDTH).quantize(_HUNDREDTH)


# ---------------------------------------------------------------------------------- records


def _date_param(name: str, value: date) -> BindParameter[date]:
    return bindparam(name, value, type_=Date)


def record_conditions(start: ColumnElement[date], end: ColumnElement[date]) -> dict[str, ColumnElement[bool]]:
    """The record measures of one period `P' = [start, end]` (end already cut at as-of)."""
    f = fct_dossier.c
    received = and_(
        f.status.not_in(NOT_RECEIVED_STATUSES), f.received_date >= start, f.received_date <= end
    )
    resolved = and_(f.status.in_(RESOLVED_STATUSES), f.ended_date >= start, f.ended_date <= end)
    open_at_end = and_(
        f.status.not_in(NOT_RECEIVED_STATUSES),
        f.received_date <= end,
        or_(f.ended_date.is_(None), f.ended_date > end),
    )
    on_time = or_(f.due_date.is_(None), f.ended_date <= f.due_date)
    within_deadline = or_(f.due_date.is_(None), f.due_date >= end)
    fee = and_(received, f.has_fee == true())
    certification = and_(resolved, f.is_certification == true())
    return {
        "received": received,
        "received_online": and_(received, f.channel == 2),
        "received_full_online": and_(received, f.channel == 2, f.service_level == "4"),
        "received_postal": and_(received, f.channel == 3),
        "received_fee": fee,
        "received_fee_paid_online": and_(fee, f.online_payment.in_((1, 2))),
        "received_digitized": and_(received, f.has_digitized_papers == true()),
        "resolved": resolved,
        "resolved_on_time": and_(resolved, on_time),
        "resolved_postal": and_(resolved, f.result_delivery == 1),
        "resolved_e_result": and_(resolved, f.has_electronic_result == true()),
        "resolved_cert": certification,
        "resolved_cert_e_result": and_(certification, f.has_electronic_result == true()),
        "resolved_rated": and_(resolved, f.satisfaction.in_((1, 2, 3))),
        "resolved_satisfied": and_(resolved, f.satisfaction.in_((1, 2))),
        "open": open_at_end,
        "open_within": and_(open_at_end, within_deadline),
    }


def _period_bounds(periods: Sequence[Period], as_of: date) -> list[tuple[Any, ...]]:
    """Bound parameters (start, cut end) of each period, named by its position."""
    return [
        (_date_param(f"p{i}_start", p.start), _date_param(f"p{i}_end", p.cut_end(as_of)))
        for i, p in enumerate(periods)
    ]


_ONE: ColumnClause[int]
_ZERO: ColumnClause[int]
_ONE, _ZERO = literal_column("1"), literal_column("0")


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 when `condition` holds, else 0 (NULL included), as an inline SQL literal."""
    return case((condition, _ONE), else_=_ZERO)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(_flag(condition))


def _may_count(bounds: list[tuple[Any, ...]]) -> ColumnElement[bool]:
    """A cheap superset of the records that any measure of any period counts, so the CASE
    expressions skip old, settled records: received or ended within [earliest start, latest
    end'], or received by the latest end' and not ended by then. (A record open at the end
    of some period either is still open at the latest end' or ended inside the range.)"""
    f = fct_dossier.c
    first = _date_param("first_start", _earliest(bounds))
    last = _date_param("last_end", _latest(bounds))
    return or_(
        and_(f.received_date >= first, f.received_date <= last),
        and_(f.ended_date >= first, f.ended_date <= last),
        and_(f.received_date <= last, or_(f.ended_date.is_(None), f.ended_date > last)),
    )


def record_counts_query(portal_codes: Sequence[str], bounds: list[tuple[Any, ...]]) -> Select[Any]:
    """Per ancestor unit: one column `<measure>_<period index>` per measure and period."""
    f = fct_dossier.c
    columns = []
    for i, (start, end) in enumerate(bounds):
        for name, condition in record_conditions(start, end).items():
            columns.append(_count(condition).label(f"{name}_{i}"))
    per_unit = (
        select(f.portal_code, f.unit_code, *columns)
        .where(
            f.portal_code.in_(portal_codes),
            f.status.not_in(NOT_RECEIVED_STATUSES),
            _may_count(bounds),
        )
        .group_by(f.portal_code, f.unit_code)
        .subquery("per_unit")
    )
    c = unit_closure.c
    sums = [func.sum(per_unit.c[col.name]).label(col.name) for col in columns]
    return (
        select(c.ancestor_code, *sums)
        .select_from(per_unit)
        .join(
            unit_closure,
            and_(
                c.descendant_code == per_unit.c.unit_code,
                c.portal_code == per_unit.c.portal_code,
            ),
        )
        .group_by(c.ancestor_code)
    )


# -------------------------------------------------------------------------------- catalogue


def catalog_counts_query(portal_codes: Sequence[str], bounds: list[tuple[Any, ...]],
                         active: Subquery | None = None) -> Select[Any]:
    """Per ancestor unit: the catalogue measures, `active_<i>` / `active_online_<i>` per period.

    Procedures of U: distinct procedures with a `procedure_unit` row naming a unit of U.
    Active in period i: a procedure of U with a RECEIVED record in U and P'_i (same portal,
    record `procedure_code` = procedure code).
    """
    c, pu, dp = unit_closure.c, procedure_unit.c, dim_procedure.c
    procs = (
        select(
            c.ancestor_code,
            pu.portal_code,
            pu.procedure_code,
            dp.service_level,
            dp.full_online_eligible,
            dp.has_fee,
            dp.online_payment_offered,
            dp.on_national_portal,
        )
        .distinct()
        .select_from(procedure_unit)
        .join(
            dim_procedure,
            and_(dp.portal_code == pu.portal_code, dp.procedure_code == pu.procedure_code),
        )
        .join(
            unit_closure,
            and_(c.descendant_code == pu.unit_code, c.portal_code == pu.portal_code),
        )
        .where(pu.portal_code.in_(portal_codes))
        .subquery("procs")
    )
    if active is None:
        active = _active_procedures(portal_codes, bounds)
    online = procs.c.service_level.in_(("3", "4"))
    full_online = procs.c.service_level == "4"
    eligible = procs.c.full_online_eligible == true()
    national = procs.c.on_national_portal == true()
    fee = procs.c.has_fee == true()
    columns = [
        func.count().label("procedures"),
        _count(online).label("online"),
        _count(full_online).label("full_online"),
        _count(eligible).label("eligible"),
        _count(and_(eligible, full_online)).label("full_online_of_eligible"),
        _count(national).label("national_portal"),
        _count(and_(online, national)).label("online_national_portal"),
        _count(fee).label("fee"),
        _count(and_(fee, procs.c.online_payment_offered == true())).label("fee_paid_online"),
    ]
    for i in range(len(bounds)):
        is_active = active.c[f"active_{i}"] == _ONE
        columns.append(_count(is_active).label(f"active_{i}"))
        columns.append(_count(and_(is_active, online)).label(f"active_online_{i}"))
    return (
        select(procs.c.ancestor_code, *columns)
        .select_from(procs)
        .outerjoin(
            active,
            and_(
                active.c.ancestor_code == procs.c.ancestor_code,
                active.c.portal_code == procs.c.portal_code,
                active.c.procedure_code == procs.c.procedure_code,
            ),
        )
        .group_by(procs.c.ancestor_code)
    )


def _active_procedures(portal_codes: Sequence[str], bounds: list[tuple[Any, ...]]) -> Subquery:
    """(ancestor, portal, procedure) with `active_<i>` = 1 when a RECEIVED record of that
    procedure lies in the ancestor's subtree and period i."""
    f = fct_dossier.c
    received = [
        func.max(_flag(record_conditions(start, end)["received"])).label(f"active_{i}")
        for i, (start, end) in enumerate(bounds)
    ]
    per_unit = (
        select(f.portal_code, f.unit_code, f.procedure_code, *received)
        .where(
            f.portal_code.in_(portal_codes),
            f.status.not_in(NOT_RECEIVED_STATUSES),
            f.procedure_code.is_not(None),
            f.received_date >= _date_param("first_start", _earliest(bounds)),
            f.received_date <= _date_param("last_end", _latest(bounds)),
        )
        .group_by(f.portal_code, f.unit_code, f.procedure_code)
        .subquery("received_procs")
    )
    return _active_by_ancestor(per_unit, received)


def _active_by_ancestor(per_unit: Subquery, received: list[Label[Any]]) -> Subquery:
    """Per-unit `active_<i>` flags (subquery `per_unit` of portal, unit, procedure) rolled up
    to every ancestor of the unit: (ancestor, portal, procedure, active_<i>...)."""
    c = unit_closure.c
    return (
        select(
            c.ancestor_code,
            per_unit.c.portal_code,
            per_unit.c.procedure_code,
            *[func.max(per_unit.c[col.name]).label(col.name) for col in received],
        )
        .select_from(per_unit)
        .join(unit_closure, and_(c.descendant_code == per_unit.c.unit_code,
                                 c.portal_code == per_unit.c.portal_code))
        .group_by(c.ancestor_code, per_unit.c.portal_code, per_unit.c.procedure_code)
        .subquery("active_procs")
    )


def aggregate_record_counts(conn: Connection, portal_codes: Sequence[str],
                            periods: Sequence[Period], as_of: date) -> dict[str, dict[str, int]]:
    """What `record_counts_query` returns, summed from agg_dossier_day (egov.warehouse.aggregates):
    per ancestor unit, `<measure>_<period index>`."""
    from egov.warehouse import aggregates as agg

    segments = agg.Segments(periods, as_of)
    out = {}
    for (unit,), cells in agg.segment_sums(conn, portal_codes, segments).items():
        counts = {}
        for i in range(len(periods)):
            within, up_to = segments.within(i), segments.up_to(i)
            for name, (kind, measure) in AGG_RECORD_MEASURES.items():
                counts[f"{name}_{i}"] = agg.total(cells, kind, measure, within)
            open_, overdue = agg.open_at(cells, up_to)
            counts[f"open_{i}"], counts[f"open_within_{i}"] = open_, open_ - overdue
        out[unit] = counts
    return out


# snapshot measure -> (agg_dossier_day kind, column)
AGG_RECORD_MEASURES = {
    "received": ("r", "n"),
    "received_online": ("r", "online"),
    "received_full_online": ("r", "full_online"),
    "received_postal": ("r", "postal"),
    "received_fee": ("r", "fee"),
    "received_fee_paid_online": ("r", "fee_paid_online"),
    "received_digitized": ("r", "digitized"),
    "resolved": ("e", "resolved"),
    "resolved_on_time": ("e", "on_time"),
    "resolved_postal": ("e", "postal"),
    "resolved_e_result": ("e", "e_result"),
    "resolved_cert": ("e", "cert"),
    "resolved_cert_e_result": ("e", "cert_e_result"),
    "resolved_rated": ("e", "rated"),
    "resolved_satisfied": ("e", "satisfied"),
}


def _aggregate_active_procedures(portal_codes: Sequence[str], bounds: list[tuple[Any, ...]]) -> Subquery:
    """`_active_procedures` read from agg_procedure_day."""
    from egov.warehouse import aggregates as agg

    a = agg_procedure_day.c
    received = [
        func.max(_flag(and_(agg.in_range(a, s, e, m), a.n > 0))).label(f"active_{i}")
        for i, (s, e, m) in enumerate(bounds)
    ]
    first = min(s.value for s, _, _ in bounds)
    per_unit = (
        select(a.portal_code, a.unit_code, a.procedure_code, *received)
        .where(a.portal_code.in_(portal_codes), a.day >= _date_param("first_start", first),
               agg.scanned(a, bounds))
        .group_by(a.portal_code, a.unit_code, a.procedure_code)
        .subquery("received_procs")
    )
    return _active_by_ancestor(per_unit, received)


def _earliest(bounds: list[tuple[Any, ...]]) -> date:
    return cast(date, min(start.value for start, _ in bounds))


def _latest(bounds: list[tuple[Any, ...]]) -> date:
    return cast(date, max(end.value for _, end in bounds))


# ------------------------------------------------------------------------------ snapshots


def _fetch_by_unit(conn: Connection, query: Select[Any]) -> dict[str, dict[str, int]]:
    return {
        row["ancestor_code"]: {k: int(v or 0) for k, v in row.items() if k != "ancestor_code"}
        for row in conn.execute(query).mappings()
    }


def _ratio(counts: dict[str, int] | None, measures: Iterable[str], i: int) -> int:
    if not counts:
        return 0
    return sum(counts.get(f"{m}_{i}", 0) for m in measures)


def _catalog_count(counts: dict[str, int] | None, measure: str, i: int) -> int:
    if not counts:
        return 0
    key = f"{measure}_{i}" if measure in PER_PERIOD_CATALOG_MEASURES else measure
    return counts.get(key, 0)


def snapshot_rows(
    units: Iterable[tuple[str, str]],
    record_counts: dict[str, dict[str, int]],
    catalog_counts: dict[str, dict[str, int]],
    *,
    as_of: date,
    periods: Sequence[Period],
    run_id: str | None,
    computed_at: datetime | None,
) -> list[dict[str, Any]]:
    """One row per (unit, indicator, period) from the aggregated counts."""
    rows = []
    for unit_code, portal_code in units:
        records, catalog = record_counts.get(unit_code), catalog_counts.get(unit_code)
        for i, period in enumerate(periods):
            for indicator in ALL_INDICATORS:
                if indicator in RECORD_RATIOS:
                    num_measures, den_measures = RECORD_RATIOS[indicator]
                    den = _ratio(records, den_measures, i)
                    num = _ratio(records, num_measures, i) if den else 0
                else:
                    num_measure, den_measure = CATALOG_RATIOS[indicator]
                    den = _catalog_count(catalog, den_measure, i)
                    num = _catalog_count(catalog, num_measure, i) if den else 0
                rows.append(
                    {
                        "as_of_date": as_of,
                        "portal_code": portal_code,
                        "unit_code": unit_code,
                        "indicator_code": indicator,
                        "period_type": period.period_type,
                        "period_start": period.start,
                        "period_end": period.end,
                        "numerator": num,
                        "denominator": den,
                        "value_pct": value_pct(num, den),
                        "run_id": run_id,
                        "computed_at": computed_at,
                    }
                )
    return rows


def compute_snapshots(
    conn: Connection,
    *,
    portal_codes: Sequence[str],
    as_of: date,
    periods: Sequence[Period],
    run_id: str | None,
    computed_at: datetime | None,
    incremental: bool = True,
) -> int:
    """Replace the snapshots of (`as_of`, each portal) and return how many rows were written.

    Every unit of `dim_unit` of each portal gets, for every indicator and every period, one
    row (periods are cut at `as_of`). Runs inside the caller's transaction. `incremental`
    (the default) brings the aggregates of egov.warehouse.aggregates up to date and counts from them;
    False counts from fct_dossier directly (the same figures).
    """
    portal_codes = list(dict.fromkeys(portal_codes))
    periods = list(dict.fromkeys(periods))
    if not portal_codes:
        return 0
    for period in periods:
        if period.start > as_of:
            raise ValueError(f"period {period} starts after as-of day {as_of}")
    incremental = incremental and all(p.start.day == 1 for p in periods)
    if incremental:
        from egov.warehouse.aggregates import refresh

        refresh(conn, portal_codes, as_of=as_of)
    conn.execute(
        delete(mart_indicator_snapshot).where(
            mart_indicator_snapshot.c.as_of_date == literal(as_of, Date),
            mart_indicator_snapshot.c.portal_code.in_(portal_codes),
        )
    )
    units = conn.execute(
        select(dim_unit.c.unit_code, dim_unit.c.portal_code)
        .where(dim_unit.c.portal_code.in_(portal_codes))
        .order_by(dim_unit.c.portal_code, dim_unit.c.unit_code)
    ).all()
    if not units or not periods:
        return 0
    if incremental:
        from egov.warehouse.aggregates import period_params

        agg_bounds = period_params(periods, as_of, "p")
        record_counts = aggregate_record_counts(conn, portal_codes, periods, as_of)
        bounds = [(s, e) for s, e, _ in agg_bounds]
        active = _aggregate_active_procedures(portal_codes, agg_bounds)
        catalog_counts = _fetch_by_unit(
            conn, catalog_counts_query(portal_codes, bounds, active=active))
    else:
        bounds = _period_bounds(periods, as_of)
        record_counts = _fetch_by_unit(conn, record_counts_query(portal_codes, bounds))
        catalog_counts = _fetch_by_unit(conn, catalog_counts_query(portal_codes, bounds))
    rows = snapshot_rows(
        units, record_counts, catalog_counts,
        as_of=as_of, periods=periods, run_id=run_id, computed_at=computed_at,
    )
    conn.execute(insert(mart_indicator_snapshot), rows)
    log.info(
        "snapshots as of %s: %d rows for %d units of %s, %d periods",
        as_of, len(rows), len(units), ",".join(portal_codes), len(periods),
    )
    return len(rows)


def record_ratios(conn: Connection, portal_codes: Sequence[str], periods: Sequence[Period],
                  as_of: date) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(unit, record indicator, period index) -> (numerator, denominator) of every unit of
    the portals (descendants included, as the snapshots), periods cut at `as_of`, counted
    from fct_dossier and written nowhere (the 766 reconciliation and preview)."""
    if not portal_codes or not periods:
        return {}
    counts = _fetch_by_unit(conn, record_counts_query(list(portal_codes),
                                                      _period_bounds(periods, as_of)))
    out: dict[tuple[str, str, int], tuple[int, int]] = {}
    for unit, c in counts.items():
        for i in range(len(periods)):
            for indicator, (num_measures, den_measures) in RECORD_RATIOS.items():
                den = _ratio(c, den_measures, i)
                out[(unit, indicator, i)] = (_ratio(c, num_measures, i) if den else 0, den)
    return out
