"""Biểu số 06/VPCP/KSTT (shared/spec/indicators.md), computed in SQL inside the warehouse.

Like the snapshots (egov.compute.indicators.snapshots): `fct_dossier` is aggregated in one pass per
(portal, unit, field) with one `SUM(CASE ...)` per count and period, the per-unit sums are
joined to `unit_closure` and summed per ancestor, so each unit covers its subtree. The row
for all fields (`field_code` NULL) is the sum of the unit's field rows (every record is in
exactly one field), done on the aggregated integers.

Readings (docs/decisions.md): a record's field is its `MaLinhVuc` exactly; records without
one are counted under `field_code` '' (so the field rows add up to the total). Every unit of
the portals gets a total row for every period, zeros included; a field row is written when
at least one of its counts is not zero. `field_name` is the smallest `TenLinhVuc` among the
records the row counts.

By default (`incremental=True`) the counts are summed from the aggregates of egov.warehouse.aggregates
(same figures; docs/performance.md, "Incremental snapshots"); `form06_counts_query` is the
full path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Date,
    Label,
    Select,
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
)

from egov.periods import Period, period_containing
from egov.warehouse.schema import (
    FORM06_COUNTS,
    dim_unit,
    fct_dossier,
    mart_form06,
    unit_closure,
)

log = logging.getLogger(__name__)

NOT_RECEIVED, RESOLVED, WITHDRAWN = (1, 3), (9, 10), (7, 8)
FORM06_PERIOD_TYPES = ("quarter", "year")
_ONE: ColumnClause[int]
_ZERO: ColumnClause[int]
_ONE, _ZERO = literal_column("1"), literal_column("0")


def form06_periods(as_of: date) -> list[Period]:
    """The quarter and the year that contain `as_of` (cut at it when computed)."""
    return [period_containing(kind, as_of) for kind in FORM06_PERIOD_TYPES]


def form06_conditions(start: ColumnElement[date], end: ColumnElement[date]
                      ) -> dict[str, ColumnElement[bool]]:
    """The nine counts of one period `[start, end]` (end already cut at as-of)."""
    f = fct_dossier.c
    taken = f.status.not_in(NOT_RECEIVED)
    received = and_(taken, f.received_date >= start, f.received_date <= end)
    resolved = and_(f.status.in_(RESOLVED), f.ended_date >= start, f.ended_date <= end)
    open_at_end = and_(taken, f.received_date <= end,
                       or_(f.ended_date.is_(None), f.ended_date > end))
    return {
        "received_online": and_(received, f.channel == 2),
        "received_in_person_or_postal": and_(received, f.channel != 2),
        "carried_over": and_(taken, f.received_date < start,
                             or_(f.ended_date.is_(None), f.ended_date >= start)),
        "resolved_early": and_(resolved, f.due_date.is_not(None), f.ended_date < f.due_date),
        "resolved_on_time": and_(resolved, or_(f.due_date.is_(None),
                                               f.ended_date == f.due_date)),
        "resolved_late": and_(resolved, f.ended_date > f.due_date),
        "withdrawn_or_stopped": and_(f.status.in_(WITHDRAWN), f.ended_date >= start,
                                     f.ended_date <= end),
        "open_within_deadline": and_(open_at_end, or_(f.due_date.is_(None),
                                                      f.due_date >= end)),
        "open_overdue": and_(open_at_end, f.due_date < end),
    }


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, _ONE), else_=_ZERO))


def form06_counts_query(portal_codes: Sequence[str], periods: Sequence[Period], as_of: date,
                        *, dialect: str = "sqlite") -> Select[Any]:
    """Per (ancestor unit, field code): one column `<count>_<period index>` per count, and
    `field_name_<period index>`. Names are compared by code point on every database."""
    f = fct_dossier.c
    name = f.field_name.collate("C") if dialect == "postgresql" else f.field_name
    bounds = [(bindparam(f"f{i}_start", p.start, type_=Date),
               bindparam(f"f{i}_end", p.cut_end(as_of), type_=Date))
              for i, p in enumerate(periods)]
    first = bindparam("f_first", min(p.start for p in periods), type_=Date)
    last = bindparam("f_last", max(p.cut_end(as_of) for p in periods), type_=Date)
    columns: list[Label[Any]] = []
    for i, (start, end) in enumerate(bounds):
        conditions = form06_conditions(start, end)
        columns += [_count(conditions[name]).label(f"{name}_{i}") for name in FORM06_COUNTS]
        counted = or_(*conditions.values())
        columns.append(func.min(case((counted, name))).label(f"field_name_{i}"))
    field = func.coalesce(f.field_code, literal(""))
    per_unit = (
        select(f.portal_code, f.unit_code, field.label("field_code"), *columns)
        .where(
            f.portal_code.in_(portal_codes),
            f.status.not_in(NOT_RECEIVED),
            or_(  # what any count of any period can see: skips old, settled records
                and_(f.received_date >= first, f.received_date <= last),
                and_(f.ended_date >= first, f.ended_date <= last),
                and_(f.received_date <= last, or_(f.ended_date.is_(None), f.ended_date > last)),
            ),
        )
        .group_by(f.portal_code, f.unit_code, field)
        .subquery("form06_per_unit")
    )
    c = unit_closure.c

    def outer(col: Label[Any]) -> Label[Any]:
        if not col.name.startswith("field_name_"):
            return func.sum(per_unit.c[col.name]).label(col.name)
        inner = per_unit.c[col.name]
        return func.min(inner.collate("C") if dialect == "postgresql" else inner).label(col.name)

    return (
        select(c.ancestor_code, per_unit.c.field_code, *[outer(col) for col in columns])
        .select_from(per_unit)
        .join(unit_closure, and_(c.descendant_code == per_unit.c.unit_code,
                                 c.portal_code == per_unit.c.portal_code))
        .group_by(c.ancestor_code, per_unit.c.field_code)
    )


def aggregate_form06_counts(conn: Connection, portal_codes: Sequence[str],
                            periods: Sequence[Period], as_of: date) -> list[dict[str, Any]]:
    """The rows of `form06_counts_query`, summed from agg_dossier_day (egov.warehouse.aggregates) per
    (ancestor, field, name), then per (ancestor, field) here: the field name is the smallest
    name (by code point) with a count that is not zero in the period."""
    from egov.warehouse import aggregates as agg

    segments = agg.Segments(periods, as_of)
    sums = agg.segment_sums(conn, portal_codes, segments, keys=("field_code", "name_key"))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for (unit, field, name_key), cells in sums.items():
        out = merged.setdefault((unit, field), {"ancestor_code": unit, "field_code": field})
        name = name_key[1:] if name_key else None
        for i in range(len(periods)):
            within, before = segments.within(i), segments.before(i)
            open_, overdue = agg.open_at(cells, segments.up_to(i))
            received = agg.total(cells, "r", "n", within)
            online = agg.total(cells, "r", "online", within)
            values = {
                "received_online": online,
                "received_in_person_or_postal": received - online,
                "carried_over": (agg.total(cells, "r", "n", before)
                                 - agg.total(cells, "b", "n", before)),
                "resolved_early": agg.total(cells, "e", "early", within),
                "resolved_on_time": agg.total(cells, "e", "on_day", within),
                "resolved_late": agg.total(cells, "e", "late", within),
                "withdrawn_or_stopped": agg.total(cells, "e", "withdrawn", within),
                "open_within_deadline": open_ - overdue,
                "open_overdue": overdue,
            }
            for n, v in values.items():
                out[f"{n}_{i}"] = out.get(f"{n}_{i}", 0) + v
            current = out.setdefault(f"field_name_{i}", None)
            if name is not None and any(values.values()) and (current is None or name < current):
                out[f"field_name_{i}"] = name
    return list(merged.values())


def form06_rows(units: Sequence[Any], counts: Sequence[Mapping[Any, Any]], *, as_of: date,
                periods: Sequence[Period], run_id: str | None,
                computed_at: datetime | None) -> list[dict[str, Any]]:
    """Rows of mart_form06 from the aggregated counts: per unit and period, the total row
    (always) and one row per field with a count that is not zero."""
    by_unit: dict[str, list[Any]] = {}
    for row in counts:
        by_unit.setdefault(row["ancestor_code"], []).append(row)
    out = []
    for unit_code, portal_code in units:
        fields = sorted(by_unit.get(unit_code, []), key=lambda r: r["field_code"])
        for i, period in enumerate(periods):
            base = {"as_of_date": as_of, "portal_code": portal_code, "unit_code": unit_code,
                    "period_type": period.period_type, "period_start": period.start,
                    "period_end": period.end, "run_id": run_id, "computed_at": computed_at}
            total = dict.fromkeys(FORM06_COUNTS, 0)
            field_rows = []
            for r in fields:
                values = {name: int(r[f"{name}_{i}"] or 0) for name in FORM06_COUNTS}
                if not any(values.values()):
                    continue
                for name, v in values.items():
                    total[name] += v
                field_rows.append({**base, "field_code": r["field_code"],
                                   "field_name": r[f"field_name_{i}"], **values})
            out.append({**base, "field_code": None, "field_name": None, **total})
            out.extend(field_rows)
    return out


def compute_form06(conn: Connection, *, portal_codes: Sequence[str], as_of: date,
                   run_id: str | None, computed_at: datetime | None,
                   periods: Sequence[Period] | None = None, incremental: bool = True) -> int:
    """Replace Biểu 06 rows of (`as_of`, each portal); return how many rows were written.
    `incremental`: count from the aggregates of egov.warehouse.aggregates (brought up to date first),
    else from fct_dossier directly (the same figures)."""
    portal_codes = list(dict.fromkeys(portal_codes))
    if not portal_codes:
        return 0
    periods = list(periods or form06_periods(as_of))
    incremental = incremental and all(p.start.day == 1 for p in periods)
    if incremental:
        from egov.warehouse.aggregates import refresh

        refresh(conn, portal_codes, as_of=as_of)
    conn.execute(delete(mart_form06).where(
        mart_form06.c.as_of_date == literal(as_of, Date),
        mart_form06.c.portal_code.in_(portal_codes)))
    units = conn.execute(
        select(dim_unit.c.unit_code, dim_unit.c.portal_code)
        .where(dim_unit.c.portal_code.in_(portal_codes))
        .order_by(dim_unit.c.portal_code, dim_unit.c.unit_code)).all()
    if not units:
        return 0
    if incremental:
        counts: Sequence[Mapping[Any, Any]] = aggregate_form06_counts(conn, portal_codes, periods, as_of)
    else:
        query = form06_counts_query(portal_codes, periods, as_of, dialect=conn.dialect.name)
        counts = conn.execute(query).mappings().all()
    rows = form06_rows(units, counts, as_of=as_of, periods=periods, run_id=run_id,
                       computed_at=computed_at)
    conn.execute(insert(mart_form06), rows)
    log.info("Biểu 06 as of %s: %d rows for %d units of %s", as_of, len(rows), len(units),
             ",".join(portal_codes))
    return len(rows)
