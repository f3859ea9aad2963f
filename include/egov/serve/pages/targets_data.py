"""What the Targets page reads: mart tables (targets, snapshots), the BI view of the unit tree
(`bi_unit_hierarchy`), and the run accounting (`etl_*`) for data freshness. Read-only; every
function takes a connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, column, func, inspect, select, table

from egov.warehouse.schema import etl_portal_run, mart_indicator_snapshot, mart_target_evaluation

if TYPE_CHECKING:
    from sqlalchemy import Connection

# The BI view of the unit tree (egov.warehouse.bi_views), as much of it as the page reads.
unit_view = table("bi_unit_hierarchy", column("portal_code"), column("unit_code"),
                  column("unit_name"), column("unit_level"), column("unit_level_name"),
                  column("parent_code"), column("child_count"))


def has_tables(conn: Connection) -> bool:
    return inspect(conn).has_table(mart_target_evaluation.name)


def _evaluation_columns(conn: Connection) -> list[Any]:
    """mart_target_evaluation's columns, the outlook's included (migration 0005)."""
    return list(mart_target_evaluation.c)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def evaluated_days(conn: Connection, plan_code: str | None = None) -> list[date]:
    """Every as-of day with target evaluations (of one plan), newest first."""
    t = mart_target_evaluation
    stmt = select(t.c.as_of_date).distinct().order_by(t.c.as_of_date.desc())
    if plan_code is not None:
        stmt = stmt.where(t.c.plan_code == plan_code)
    return [_day(d) for d in conn.execute(stmt).scalars()]


def plans(conn: Connection, as_of: date | None = None) -> list[dict[str, Any]]:
    """Each plan at its own latest as-of day (on or before `as_of`), with its counts per
    year and status (for that day): {"counts": {year: {status: n}}}, newest year first."""
    t = mart_target_evaluation
    latest: Any = select(t.c.plan_code, func.max(t.c.as_of_date).label("as_of"))
    if as_of is not None:
        latest = latest.where(t.c.as_of_date <= as_of)
    latest = latest.group_by(t.c.plan_code).subquery()
    stmt = (select(t.c.plan_code, t.c.as_of_date, func.max(t.c.plan_title).label("plan_title"),
                   func.max(t.c.portal_code).label("portal_code"), t.c.year, t.c.status,
                   func.count().label("n"))
            .join(latest, and_(latest.c.plan_code == t.c.plan_code,
                               latest.c.as_of == t.c.as_of_date))
            .group_by(t.c.plan_code, t.c.as_of_date, t.c.year, t.c.status)
            .order_by(t.c.plan_code, t.c.year.desc()))
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(stmt).mappings():
        plan = out.setdefault(r["plan_code"], {
            "plan_code": r["plan_code"], "plan_title": r["plan_title"],
            "portal_code": r["portal_code"], "as_of": _day(r["as_of_date"]), "counts": {}})
        year = plan["counts"].setdefault(int(r["year"]), {})
        year[r["status"]] = year.get(r["status"], 0) + r["n"]
    return list(out.values())


def plan_as_of(conn: Connection, plan_code: str, on_or_before: date | None = None) -> date | None:
    """The plan's newest evaluated day (on or before `on_or_before`)."""
    t = mart_target_evaluation
    stmt = select(func.max(t.c.as_of_date)).where(t.c.plan_code == plan_code)
    if on_or_before is not None:
        stmt = stmt.where(t.c.as_of_date <= on_or_before)
    value = conn.execute(stmt).scalar()
    return _day(value) if value is not None else None


def plan_evaluations(conn: Connection, plan_code: str, as_of: date) -> list[dict[str, Any]]:
    """Every (target, year) row of the plan evaluated as of `as_of`, outlook included."""
    t = mart_target_evaluation
    stmt = (select(*_evaluation_columns(conn))
            .where(t.c.plan_code == plan_code, t.c.as_of_date == as_of)
            .order_by(t.c.year.desc(), t.c.target_code))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def evaluation(conn: Connection, plan_code: str, target_code: str, year: int,
               as_of: date | None = None) -> dict[str, Any] | None:
    t = mart_target_evaluation
    as_of = as_of or plan_as_of(conn, plan_code)
    stmt = select(*_evaluation_columns(conn)).where(
        t.c.plan_code == plan_code, t.c.target_code == target_code, t.c.year == year,
        t.c.as_of_date == as_of)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class UnitRow:
    unit_code: str
    unit_name: str | None
    unit_level: str | None
    has_children: bool
    numerator: int | None
    denominator: int | None
    value_pct: object


def unit(conn: Connection, unit_code: str) -> dict[str, Any] | None:
    row = conn.execute(select(unit_view).where(unit_view.c.unit_code == unit_code)).mappings()
    first = row.first()
    return dict(first) if first else None


def ancestors(conn: Connection, unit_code: str, limit: int = 20) -> list[dict[str, Any]]:
    """The unit's parents up to the root, nearest last (for a breadcrumb)."""
    chain, seen, code = [], {unit_code}, unit_code
    for _ in range(limit):
        row = unit(conn, code)
        if not row or not row["parent_code"] or row["parent_code"] in seen:
            break
        code = row["parent_code"]
        seen.add(code)
        parent = unit(conn, code)
        if not parent:
            break
        chain.append(parent)
    return list(reversed(chain))


def child_units(conn: Connection, unit_code: str, indicator: str, year: int, as_of: date) -> list[UnitRow]:
    """The unit's children with their `year` snapshot of `indicator` as of `as_of`."""
    s, u = mart_indicator_snapshot, unit_view
    stmt = (select(u.c.unit_code, u.c.unit_name, u.c.unit_level, u.c.child_count.label("kids"),
                   s.c.numerator, s.c.denominator, s.c.value_pct)
            .select_from(u.outerjoin(s, and_(
                s.c.unit_code == u.c.unit_code, s.c.indicator_code == indicator,
                s.c.period_type == "year", s.c.period_start == date(year, 1, 1),
                s.c.as_of_date == as_of)))
            .where(u.c.parent_code == unit_code, u.c.unit_code != unit_code))
    return [UnitRow(r["unit_code"], r["unit_name"], r["unit_level"], bool(r["kids"]),
                    r["numerator"], r["denominator"], r["value_pct"])
            for r in conn.execute(stmt).mappings()]


def figure(conn: Connection, unit_code: str, indicator: str, year: int, as_of: date) -> UnitRow | None:
    """The unit's `year` snapshot of `indicator` as of `as_of` (its whole subtree)."""
    s = mart_indicator_snapshot
    row = conn.execute(select(s.c.numerator, s.c.denominator, s.c.value_pct).where(
        s.c.unit_code == unit_code, s.c.indicator_code == indicator,
        s.c.period_type == "year", s.c.period_start == date(year, 1, 1),
        s.c.as_of_date == as_of)).mappings().first()
    if row is None:
        return None
    return UnitRow(unit_code, None, None, False, row["numerator"], row["denominator"],
                   row["value_pct"])


def worst_first(rows: list[UnitRow]) -> list[UnitRow]:
    """Lowest exact ratio first; units with no records for the indicator last."""
    from fractions import Fraction

    def key(row: UnitRow) -> tuple[int, Fraction, str]:
        if not row.denominator:
            return (1, Fraction(0), row.unit_code)
        return (0, Fraction(row.numerator or 0, row.denominator), row.unit_code)

    return sorted(rows, key=key)


def freshness(conn: Connection) -> list[dict[str, Any]]:
    """Per portal: last successful load, the last run's status and quarantined versions,
    the latest snapshot day and when it was computed."""
    r = etl_portal_run
    s = mart_indicator_snapshot
    portals = sorted(conn.execute(select(r.c.portal_code).distinct()).scalars())
    out = []
    for code in portals:
        ok = conn.execute(select(func.max(r.c.finished_at))
                          .where(r.c.portal_code == code, r.c.status == "loaded")).scalar()
        last = conn.execute(select(r.c.run_id, r.c.status, r.c.records_quarantined,
                                   r.c.finished_at, r.c.error)
                            .where(r.c.portal_code == code)
                            .order_by(r.c.finished_at.desc().nulls_last()).limit(1)
                            ).mappings().first()
        snap = conn.execute(select(func.max(s.c.as_of_date), func.max(s.c.computed_at))
                            .where(s.c.portal_code == code)).first()
        out.append({"portal_code": code, "last_loaded_at": ok,
                    "last_error": last["error"] if last else None,
                    "last_run_id": last["run_id"] if last else None,
                    "last_status": last["status"] if last else None,
                    "last_quarantined": last["records_quarantined"] if last else None,
                    "last_finished_at": last["finished_at"] if last else None,
                    "snapshot_as_of": snap[0] if snap else None,
                    "snapshot_computed_at": snap[1] if snap else None})
    return out


def latest_validation(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per portal, its own latest validation (the newest run it was validated in): the
    expectations checked and those failed, by severity."""
    from egov.warehouse.schema import dq_validation_result as v

    if not inspect(conn).has_table(v.name):
        return {}
    newest = (select(v.c.portal_code, func.max(v.c.validated_at).label("at"))
              .group_by(v.c.portal_code).subquery())
    runs = conn.execute(select(v.c.portal_code, v.c.run_id, newest.c.at).distinct().join(
        newest, and_(newest.c.portal_code == v.c.portal_code,
                     newest.c.at == v.c.validated_at))).all()
    out: dict[str, dict[str, Any]] = {}
    for portal, run_id, at in runs:
        rows = conn.execute(select(v.c.severity, v.c.success, func.count().label("n"))
                            .where(v.c.portal_code == portal, v.c.run_id == run_id)
                            .group_by(v.c.severity, v.c.success)).all()
        info = out.setdefault(portal, {"run_id": run_id, "validated_at": at, "checked": 0,
                                       "errors": 0, "warnings": 0})
        for severity, success, n in rows:
            info["checked"] += n
            if not success:
                info["errors" if severity == "error" else "warnings"] += n
    return out
