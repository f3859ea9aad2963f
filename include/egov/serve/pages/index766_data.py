"""Warehouse reads of the "Chỉ số 766" page (the national portal's service-quality index):
the province's total and six groups per period, its trend by month, units ranked worst
first, a unit's metrics with their data-quality flags, unmapped departments, reconciliation
flags. Every figure is the warehouse's as stored (dvcqg_score, dvcqg_metric,
mart_source_reconciliation, bi_dvcqg_unmapped)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select, text

from egov.serve.reports.labels import GROUP_LABELS_VI
from egov.sources.dvcqg.groups import GROUP_CODES
from egov.warehouse.schema import (
    dim_unit,
    dvcqg_crosswalk,
    dvcqg_crosswalk_confirmation,
    dvcqg_department,
    dvcqg_metric,
    dvcqg_score,
    mart_source_reconciliation,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

GROUP_LABELS = GROUP_LABELS_VI
PERIOD_TYPES = ("month", "quarter", "year")


def has_tables(conn: Connection) -> bool:
    return {"dvcqg_score", "dvcqg_crosswalk"} <= set(inspect(conn).get_table_names())


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def provinces(conn: Connection) -> list[dict[str, Any]]:
    s = dvcqg_score.c
    rows = conn.execute(select(s.root_department_id, s.province_code, s.department_name)
                        .distinct().where(s.department_id == s.root_department_id)
                        .order_by(s.province_code)).all()
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(r.root_department_id, {"root": r.root_department_id,
                                               "code": r.province_code,
                                               "name": r.department_name})
    return list(seen.values())


def periods(conn: Connection, root: str) -> list[dict[str, Any]]:
    s = dvcqg_score.c
    rows = conn.execute(select(s.period_type, s.period_start, func.max(s.provisional)
                               .label("provisional"), func.max(s.read_at).label("read_at"))
                        .where(s.root_department_id == root)
                        .group_by(s.period_type, s.period_start)).all()
    out = [{"type": r.period_type, "start": _day(r.period_start),
            "provisional": bool(r.provisional), "read_at": r.read_at} for r in rows]
    out.sort(key=lambda p: (p["start"], PERIOD_TYPES.index(p["type"])
                            if p["type"] in PERIOD_TYPES else 9), reverse=True)
    return out


def label(period_type: str, start: date) -> str:
    if period_type == "month":
        return f"Tháng {start.month}/{start.year}"
    if period_type == "quarter":
        return f"Quý {(start.month - 1) // 3 + 1}/{start.year}"
    return f"Năm {start.year}"


def _scores(conn: Connection, root: str, period_type: str, start: date,
            department_id: str | None = None) -> list[Any]:
    s = dvcqg_score.c
    query = select(s.department_id, s.department_name, s.department_code, s.unit_code,
                   s.group_code, s.score, s.max_score).where(
        s.root_department_id == root, s.period_type == period_type, s.period_start == start)
    if department_id is not None:
        query = query.where(s.department_id == department_id)
    return list(conn.execute(query).all())


def _by_department(rows: list[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = out.setdefault(r.department_id, {
            "department_id": r.department_id, "name": r.department_name,
            "code": r.department_code, "unit_code": r.unit_code, "groups": {},
            "max": {}})
        d["groups"][r.group_code] = r.score
        d["max"][r.group_code] = r.max_score
    for d in out.values():
        scores = [d["groups"].get(g) for g in GROUP_CODES]
        d["total"] = None if any(v is None for v in scores) else round(
            sum(v for v in scores if v is not None), 2)
        d["max_total"] = sum(d["max"].get(g) or 0 for g in GROUP_CODES)
    return out


def province_scores(conn: Connection, root: str, period_type: str, start: date
                    ) -> dict[str, Any] | None:
    return _by_department(_scores(conn, root, period_type, start, root)).get(root)


def trend(conn: Connection, root: str) -> list[dict[str, Any]]:
    """The province's total per month read, oldest first."""
    s = dvcqg_score.c
    rows = conn.execute(select(s.period_start, func.sum(s.score).label("total"),
                               func.count(s.score).label("groups"))
                        .where(s.root_department_id == root, s.department_id == root,
                               s.period_type == "month")
                        .group_by(s.period_start).order_by(s.period_start)).all()
    return [{"start": _day(r.period_start), "total": round(r.total, 2)}
            for r in rows if r.groups == len(GROUP_CODES)]


def ranking(conn: Connection, root: str, period_type: str, start: date
            ) -> list[dict[str, Any]]:
    """Every department of the period, worst total first (no total: last), with its
    metrics' data-quality flags counted."""
    deps = _by_department(_scores(conn, root, period_type, start))
    deps.pop(root, None)
    m = dvcqg_metric.c
    flags: dict[str, int] = dict(conn.execute(select(m.department_id, func.count())
                              .where(m.root_department_id == root,
                                     m.period_type == period_type, m.period_start == start,
                                     m.data_quality_status.is_not(None))
                              .group_by(m.department_id)).all())
    out = list(deps.values())
    for d in out:
        d["flags"] = flags.get(d["department_id"], 0)
    out.sort(key=lambda d: (d["total"] is None, d["total"] or 0, d["name"] or ""))
    return out


def unit_detail(conn: Connection, root: str, period_type: str, start: date,
                department_id: str) -> dict[str, Any] | None:
    dep = _by_department(_scores(conn, root, period_type, start, department_id)).get(
        department_id)
    if dep is None:
        return None
    m = dvcqg_metric.c
    dep["metrics"] = [dict(r._mapping) for r in conn.execute(
        select(m.group_code, m.metric_code, m.metric_name, m.numerator, m.denominator,
               m.ratio, m.score, m.max_score, m.data_quality_status, m.data_quality_message)
        .where(m.root_department_id == root, m.period_type == period_type,
               m.period_start == start, m.department_id == department_id)
        .order_by(m.group_code, m.metric_code)).all()]
    return dep


def unmapped(conn: Connection, root: str) -> list[dict[str, Any]]:
    """The departments no confirmed mapping names, those with a proposal first."""
    rows = conn.execute(text(
        "SELECT department_id, department_name, department_code, proposed_unit_code, "
        "proposed_unit_name, proposed_by FROM bi_dvcqg_unmapped "
        "WHERE root_department_id = :root "
        "ORDER BY CASE WHEN proposed_unit_code IS NULL THEN 1 ELSE 0 END, department_name, "
        "proposed_unit_code"),
        {"root": root}).mappings()
    return [dict(r) for r in rows]


def reconciliation_flags(conn: Connection, root: str, period_type: str, start: date
                         ) -> list[dict[str, Any]]:
    r = mart_source_reconciliation.c
    rows = conn.execute(select(mart_source_reconciliation)
                        .where(r.root_department_id == root, r.period_type == period_type,
                               r.period_start == start, r.flagged)
                        .order_by(r.unit_code, r.measure)).mappings()
    return [dict(x) for x in rows]


def page_confirmations(conn: Connection, root: str) -> list[dict[str, Any]]:
    """The mappings editors confirmed on the page for the province's departments, newest
    first: `applied` False when the crosswalk file maps the department or the unit
    otherwise (the file wins). None before migration 0013."""
    if "dvcqg_crosswalk_confirmation" not in inspect(conn).get_table_names():
        return []
    c, d, u, cw = (dvcqg_crosswalk_confirmation.c, dvcqg_department.c, dim_unit.c,
                   dvcqg_crosswalk.c)
    applied = (select(cw.department_id).where(
        cw.department_id == c.department_id, cw.unit_code == c.unit_code,
        cw.status == "confirmed", cw.basis == "page").exists())
    unit_name = select(u.unit_name).where(u.unit_code == c.unit_code).limit(1) \
        .scalar_subquery()
    rows = conn.execute(
        select(c.department_id, c.unit_code, c.basis, c.confirmed_by, c.confirmed_at,
               d.department_name, unit_name.label("unit_name"), applied.label("applied"))
        .select_from(dvcqg_crosswalk_confirmation.outerjoin(
            dvcqg_department, d.department_id == c.department_id))
        .where(c.root_department_id == root)
        .order_by(c.confirmed_at.desc(), c.department_id)).mappings()
    return [{**r, "applied": bool(r["applied"])} for r in rows]


def target_department(conn: Connection, unit_code: str, year: int) -> dict[str, Any] | None:
    """The department the crosswalk maps to `unit_code`, with the year's period of the
    index (for a target on the index: the link to its figures), or None (unmapped)."""
    s = dvcqg_score.c
    row = conn.execute(select(s.root_department_id, s.department_id, s.department_name)
                       .where(s.unit_code == unit_code, s.period_type == "year",
                              s.period_start == date(year, 1, 1))
                       .order_by(s.root_department_id, s.department_id).limit(1)).first()
    if row is None:
        return None
    return {"root": row.root_department_id, "department_id": row.department_id,
            "name": row.department_name, "period": f"year:{year}-01-01"}
