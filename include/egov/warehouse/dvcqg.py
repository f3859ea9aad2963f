"""Warehouse writes of the index (dvcqg-766.md rule 3): every read is a `dvcqg_read` row;
a complete read adds its rows to the history tables and becomes the current figures of its
(province, period) unless a newer complete read already is; a partial or failed read
touches nothing else. Every write is keyed by the read's `read_at`: loading the same read
again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, delete, func, select

from egov.periods import Period
from egov.safe_errors import WarehouseWriteError, db_error_summary
from egov.sources.dvcqg.records import GroupRows
from egov.warehouse.schema import (
    dvcqg_crosswalk,
    dvcqg_department,
    dvcqg_metric,
    dvcqg_metric_history,
    dvcqg_read,
    dvcqg_score,
    dvcqg_score_history,
)
from egov.warehouse.upsert import upsert


@dataclass
class ReadOutcome:
    """One read of a (province, period), as the loader records it."""

    province_code: str
    root_department_id: str
    period: Period
    read_at: datetime
    provisional: bool
    complete: bool
    reason: str | None = None
    groups_read: tuple[str, ...] = ()
    http_status: int | None = None
    new_fields: tuple[str, ...] = ()
    score_warnings: int = 0
    as_of: date | None = None
    run_id: str | None = None


def _key(table, outcome: ReadOutcome):
    return and_(table.c.root_department_id == outcome.root_department_id,
                table.c.period_type == outcome.period.period_type,
                table.c.period_start == outcome.period.start)


def record_read(conn, outcome: ReadOutcome) -> None:
    row = {
        "root_department_id": outcome.root_department_id,
        "period_type": outcome.period.period_type, "period_start": outcome.period.start,
        "read_at": outcome.read_at, "province_code": outcome.province_code,
        "period_end": outcome.period.end, "complete": outcome.complete,
        "provisional": outcome.provisional,
        "reason": None if outcome.complete else (outcome.reason or "not read")[:4000],
        "groups_read": ",".join(outcome.groups_read) or None,
        "http_status": outcome.http_status,
        "new_fields": ", ".join(sorted(outcome.new_fields))[:4000] or None,
        "score_warnings": outcome.score_warnings, "as_of_date": outcome.as_of,
        "run_id": outcome.run_id,
    }
    upsert(conn, dvcqg_read, [row], keys=["root_department_id", "period_type", "period_start",
                                          "read_at"])


def _common(outcome: ReadOutcome, sqlite: bool) -> dict:
    values = {"root_department_id": outcome.root_department_id,
              "period_type": outcome.period.period_type, "period_start": outcome.period.start,
              "province_code": outcome.province_code, "provisional": outcome.provisional,
              "read_at": outcome.read_at}
    if sqlite:  # the values SQLAlchemy's SQLite types store (egov.warehouse.schema)
        values.update(period_start=outcome.period.start.isoformat(),
                      provisional=int(outcome.provisional),
                      read_at=outcome.read_at.strftime("%Y-%m-%d %H:%M:%S.%f"))
    return values


def _rows(outcome: ReadOutcome, groups: list[GroupRows], table, sqlite: bool) -> list[tuple]:
    """Rows of `table`'s columns, in its order, as tuples (the bulk paths take them)."""
    common = _common(outcome, sqlite)
    names = [c.name for c in table.columns]
    fixed = [(i, common[n]) for i, n in enumerate(names) if n in common]
    own = [(i, n) for i, n in enumerate(names) if n not in common]
    out = []
    for group in groups:
        for row in (group.scores if table is dvcqg_score_history else group.metrics):
            values = [None] * len(names)
            for i, value in fixed:
                values[i] = value
            for i, name in own:
                values[i] = row.get(name)
            out.append(tuple(values))
    return out


def _bulk_insert(conn, table, rows: list[tuple]) -> None:
    """Insert tuples in the table's column order: COPY on PostgreSQL, the driver's
    executemany on SQLite (no per-row processing: values are already stored forms)."""
    if not rows:
        return
    names = [c.name for c in table.columns]
    try:
        if conn.dialect.name == "postgresql":  # the rows' key was deleted first: plain COPY
            import io

            from egov.warehouse.pgcopy import copy_text

            buffer = io.StringIO("".join("\t".join(map(copy_text, row)) + "\n"
                                         for row in rows))
            with conn.connection.dbapi_connection.cursor() as cursor:
                cursor.copy_expert(f"COPY {table.name} ({', '.join(names)}) FROM STDIN",
                                   buffer)
            return
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) "
                             f"VALUES ({', '.join('?' * len(names))})", rows)
    except Exception as exc:  # noqa: BLE001 - re-raised without the rows' values
        error = WarehouseWriteError(f"writing {table.name} failed: {db_error_summary(exc)}")
    else:
        return
    raise error from None


def load_read(conn, outcome: ReadOutcome, groups: list[GroupRows]) -> bool:
    """Record `outcome`; for a complete read, its rows (history, and current when it is the
    newest complete read). Returns whether the current figures were replaced. Call inside
    one transaction (`engine.begin()`)."""
    record_read(conn, outcome)
    if not outcome.complete:
        return False
    sqlite = conn.dialect.name == "sqlite"
    for table in (dvcqg_score_history, dvcqg_metric_history):
        conn.execute(delete(table).where(_key(table, outcome), table.c.read_at == outcome.read_at))
        _bulk_insert(conn, table, _rows(outcome, groups, table, sqlite))
    current = conn.execute(select(func.max(dvcqg_score.c.read_at))
                           .where(_key(dvcqg_score, outcome))).scalar()
    if current is not None and current > outcome.read_at:
        return False  # a newer complete read is current: this one stays in history
    for table, history in ((dvcqg_score, dvcqg_score_history),
                           (dvcqg_metric, dvcqg_metric_history)):
        conn.execute(delete(table).where(_key(table, outcome)))
        names = [c.name for c in table.columns]  # set-based: the history rows just written
        conn.execute(table.insert().from_select(
            names, select(*[history.c[n] for n in names])
            .where(_key(history, outcome), history.c.read_at == outcome.read_at)))
    _departments(conn, outcome, [r for g in groups for r in g.scores])
    apply_unit_codes(conn, _key(dvcqg_score, outcome))
    return True


def apply_unit_codes(conn, where=None) -> None:
    """`dvcqg_score.unit_code` = the confirmed crosswalk's unit of the department (null when
    unmapped), for the rows `where` selects (all by default)."""
    from sqlalchemy import update

    cw = dvcqg_crosswalk
    unit = (select(cw.c.unit_code)
            .where(cw.c.department_id == dvcqg_score.c.department_id,
                   cw.c.status == "confirmed").limit(1).scalar_subquery())
    stmt = update(dvcqg_score).values(unit_code=unit)
    conn.execute(stmt if where is None else stmt.where(where))


def _departments(conn, outcome: ReadOutcome, scores: list[dict]) -> None:
    seen = outcome.as_of or outcome.read_at.date()
    latest: dict[str, dict] = {}
    for row in scores:  # the group read last names it last (same read: same values mostly)
        known = latest.setdefault(row["department_id"], {
            "department_id": row["department_id"],
            "root_department_id": outcome.root_department_id, "department_code": None,
            "department_name": None, "department_type": None, "department_level": None})
        for column in ("department_code", "department_name", "department_type",
                       "department_level"):
            if row.get(column) is not None and known[column] is None:
                known[column] = row[column]
    ids = list(latest)
    stored = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for r in conn.execute(select(dvcqg_department.c.department_id,
                                     dvcqg_department.c.first_seen,
                                     dvcqg_department.c.last_seen)
                              .where(dvcqg_department.c.department_id.in_(part))):
            stored[r.department_id] = (r.first_seen, r.last_seen)
    rows = []
    for dep, values in latest.items():
        first, last = stored.get(dep, (seen, seen))
        if last > seen:  # an older read loaded later: names stay the newest seen
            values = {"department_id": dep, "root_department_id": outcome.root_department_id}
        rows.append({**values, "first_seen": min(first, seen), "last_seen": max(last, seen)})
    rows_full = [r for r in rows if "department_name" in r]
    rows_dates = [r for r in rows if "department_name" not in r]
    upsert(conn, dvcqg_department, rows_full, keys=["department_id"])
    upsert(conn, dvcqg_department, rows_dates, keys=["department_id"])
