"""Incremental aggregates behind the snapshots and Biểu 06 (docs/performance.md,
"Incremental snapshots").

`fct_dossier` is summarised in small tables, so a nightly compute costs what changed that
night plus units × days of the periods, not the warehouse's history:

* `agg_dossier_day`: additive record counts per (portal, grain, day, unit, field, name, kind),
  at three grains: `d` (the day itself), `m` (its month) and `y` (its year; day = the first
  day of the month or year). The
  kinds and the day they are keyed by (r = received_date, e = ended_date, due = due_date):
  `r` RECEIVED-type records (status not in {1, 3}) by r; `e` records with status 7–10 by e;
  `b` by max(r, e); `c` by max(r, due + 1); `d` by max(r, due + 1, e). OPEN_AT_END at a day E
  is then Σ`r`(≤ E) − Σ`b`(≤ E) and "open and overdue" Σ`c`(≤ E) − Σ`d`(≤ E): every count of
  the contract, open ones included, is a sum of these rows. The field name is part of the key
  (`name_key` = '' for NULL, '=' + name), so the smallest name of a Biểu 06 row is exact.
* `agg_procedure_day`: RECEIVED records per (portal, grain, day, unit, procedure) for the
  catalogue's "active procedures".
* `agg_dossier_log`: the before- (sign −1) and after-images (sign +1) of changed fct_dossier
  rows, written by triggers (migration 0007) whatever writes the rows.

`refresh` folds the log into the aggregates (the same aggregation as `rebuild`, over the log
rows weighted by their sign, added to the stored rows) and deletes the consumed rows; a portal
never built (or with a very long log) is rebuilt from fct_dossier in one pass instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)

from egov.warehouse.schema import (
    AGG_MEASURES,
    agg_dossier_day,
    agg_dossier_log,
    agg_procedure_day,
    agg_state,
    fct_dossier,
)
from egov.warehouse.statistics import analyze, analyze_stale

log = logging.getLogger(__name__)

NOT_RECEIVED, RESOLVED, WITHDRAWN = (1, 3), (9, 10), (7, 8)
ENDED = (7, 8, 9, 10)
# A log longer than this is not folded: the portal's aggregates are rebuilt in one pass.
REBUILD_LOG_ROWS = 2_000_000
# What the fold and the snapshot queries read: ANALYZEd first when their statistics are stale.
SOURCE_TABLES = ("fct_dossier", "agg_dossier_log", "agg_dossier_day", "agg_procedure_day",
                 "dim_unit", "unit_closure", "dim_procedure", "procedure_unit")
# PostgreSQL work_mem of the transaction that folds or rebuilds: hash aggregates in memory.
WORK_MEM = "256MB"
_ONE: ColumnClause[int]
_ZERO: ColumnClause[int]
_ONE, _ZERO = literal_column("1"), literal_column("0")


def _flag(condition):
    return case((condition, _ONE), else_=_ZERO)


def _month_start(col, dialect: str):
    if dialect == "postgresql":
        return cast(func.date_trunc("month", cast(col, DateTime)), Date)
    return func.date(col, literal_column("'start of month'"))


def _year_start(col, dialect: str):
    if dialect == "postgresql":
        return cast(func.date_trunc("year", cast(col, DateTime)), Date)
    return func.date(col, literal_column("'start of year'"))


def _next_day(col, dialect: str):
    if dialect == "postgresql":
        return col + literal_column("1", Integer)
    return func.date(col, literal_column("'+1 day'"))


def _greatest(a, b):
    return case((a >= b, a), else_=b)


def _kinds(f, dialect: str) -> dict[str, tuple]:
    """kind -> (rows it counts, the day it is keyed by, {measure: condition})."""
    taken = f.status.not_in(NOT_RECEIVED)
    received = and_(taken, f.received_date.is_not(None))
    resolved = f.status.in_(RESOLVED)
    fee = f.has_fee == true()
    cert = and_(resolved, f.is_certification == true())
    after_due = _next_day(f.due_date, dialect)
    return {
        "r": (received, f.received_date, {
            "n": true(),
            "online": f.channel == 2,
            "full_online": and_(f.channel == 2, f.service_level == "4"),
            "postal": f.channel == 3,
            "fee": fee,
            "fee_paid_online": and_(fee, f.online_payment.in_((1, 2))),
            "digitized": f.has_digitized_papers == true(),
        }),
        "e": (and_(f.status.in_(ENDED), f.ended_date.is_not(None)), f.ended_date, {
            "n": true(),
            "resolved": resolved,
            "on_time": and_(resolved, or_(f.due_date.is_(None), f.ended_date <= f.due_date)),
            "postal": and_(resolved, f.result_delivery == 1),
            "e_result": and_(resolved, f.has_electronic_result == true()),
            "cert": cert,
            "cert_e_result": and_(cert, f.has_electronic_result == true()),
            "rated": and_(resolved, f.satisfaction.in_((1, 2, 3))),
            "satisfied": and_(resolved, f.satisfaction.in_((1, 2))),
            "early": and_(resolved, f.due_date.is_not(None), f.ended_date < f.due_date),
            "on_day": and_(resolved, or_(f.due_date.is_(None), f.ended_date == f.due_date)),
            "late": and_(resolved, f.ended_date > f.due_date),
            "withdrawn": f.status.in_(WITHDRAWN),
        }),
        "b": (and_(received, f.ended_date.is_not(None)),
              _greatest(f.received_date, f.ended_date), {"n": true()}),
        "c": (and_(received, f.due_date.is_not(None)),
              _greatest(f.received_date, after_due), {"n": true()}),
        "d": (and_(received, f.due_date.is_not(None), f.ended_date.is_not(None)),
              _greatest(_greatest(f.received_date, after_due), f.ended_date), {"n": true()}),
    }


def _aggregate_selects(source, sign, portal_codes: Sequence[str], dialect: str,
                       daily_from: dict[str, date], grains: Sequence[str] = ("d", "m", "y")):
    """SELECTs of agg_dossier_day and agg_procedure_day rows from `source` (fct_dossier or the
    log), each row weighted by `sign`; day rows only from each portal's `daily_from` on;
    agg_dossier_day rows of `grains` only."""
    f = source.c

    def text_key(expr):
        return expr.collate("C") if dialect == "postgresql" else expr

    field = text_key(func.coalesce(f.field_code, literal("")))
    name_key = text_key(case((f.field_name.is_(None), literal("")),
                             else_=literal("=") + f.field_name))
    unit = text_key(f.unit_code)
    mine = f.portal_code.in_(portal_codes)

    def recent(day):
        return or_(*[and_(f.portal_code == p, day >= bindparam(f"daily_from_{k}", d, type_=Date))
                     for k, (p, d) in enumerate(sorted(daily_from.items()))])

    day_rows = []
    for kind, (where, day, measures) in _kinds(f, dialect).items():
        for grain in grains:
            key = {"d": day, "m": _month_start(day, dialect),
                   "y": _year_start(day, dialect)}[grain]
            sums = [func.sum(case((measures[m], sign), else_=_ZERO)).label(m)
                    if m in measures else _ZERO.label(m) for m in AGG_MEASURES]
            rows = and_(mine, where, recent(day)) if grain == "d" else and_(mine, where)
            day_rows.append(
                select(f.portal_code, literal(grain).label("grain"), key.label("day"),
                       unit.label("unit_code"), field.label("field_code"),
                       name_key.label("name_key"), literal(kind).label("kind"), *sums)
                .where(rows)
                .group_by(f.portal_code, key, unit, field, name_key)
                .having(or_(*[func.sum(case((measures[m], sign), else_=_ZERO)) != 0
                              for m in measures])))  # images that cancel add nothing
    received = and_(mine, f.status.not_in(NOT_RECEIVED), f.received_date.is_not(None),
                    f.procedure_code.is_not(None))
    proc_rows = []
    proc = text_key(f.procedure_code)
    for grain in ("d", "m"):
        key = f.received_date if grain == "d" else _month_start(f.received_date, dialect)
        rows = and_(received, recent(f.received_date)) if grain == "d" else received
        proc_rows.append(
            select(f.portal_code, literal(grain).label("grain"), key.label("day"),
                   unit.label("unit_code"), proc.label("procedure_code"),
                   func.sum(sign).label("n"))
            .where(rows)
            .group_by(f.portal_code, key, unit, proc)
            .having(func.sum(sign) != 0))
    return union_all(*day_rows), union_all(*proc_rows)


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # either dialect's insert
    return insert


def _add_into(conn: Connection, table, rows, measures: Sequence[str], *,
              conflicts: bool = True) -> None:
    """INSERT `rows` (a SELECT of the table's columns) into `table`, adding to stored rows."""
    stmt = _insert(conn)(table).from_select([c.name for c in table.columns], rows)
    if conflicts:
        keys = [c.name for c in table.primary_key.columns]
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={m: table.c[m] + stmt.excluded[m] for m in measures})
    conn.execute(stmt)


def _lock(conn: Connection) -> None:
    """Hold the log still until the caller's transaction ends: on PostgreSQL writers of
    fct_dossier wait (their triggers cannot append) and rows being written are committed first;
    on SQLite the first write takes the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE agg_dossier_log IN EXCLUSIVE MODE"))
        conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    else:
        conn.execute(delete(agg_state).where(literal(0) == 1))


def month_start(day: date) -> date:
    return day.replace(day=1)


def rebuild(conn: Connection, portal_codes: Sequence[str], *, daily_from: date | None = None,
            now: datetime | None = None, lock: bool = True) -> None:
    """Rebuild the portals' aggregates from fct_dossier in one set-based pass (also the first
    build, and what a bulk seed of fct_dossier calls afterwards), with day rows from the month
    of `daily_from` on (default: the month before the current one, or the month of the newest
received record if older). Clears their log rows."""
    portal_codes = list(dict.fromkeys(portal_codes))
    if not portal_codes:
        return
    if lock:
        _lock(conn)
    if daily_from is None:  # the month before this one, or the month of the newest record
        newest = conn.scalar(select(func.max(fct_dossier.c.received_date)).where(
            fct_dossier.c.portal_code.in_(portal_codes)))
        daily_from = month_start(month_start(date.today()) - timedelta(days=1))
        if newest is not None:
            daily_from = min(daily_from, month_start(newest))
    daily_from = month_start(daily_from)
    for table in (agg_dossier_day, agg_procedure_day, agg_dossier_log, agg_state):
        conn.execute(delete(table).where(table.c.portal_code.in_(portal_codes)))
    if conn.dialect.name == "postgresql" and conn.scalar(
            select(literal(1)).select_from(agg_dossier_log).limit(1)) is None:
        # after a bulk load the emptied log is mostly dead rows: give its space back
        conn.execute(text("TRUNCATE agg_dossier_log"))
    days, procs = _aggregate_selects(fct_dossier, _ONE, portal_codes, conn.dialect.name,
                                     dict.fromkeys(portal_codes, daily_from), grains=("d", "m"))
    _add_into(conn, agg_dossier_day, days, AGG_MEASURES, conflicts=False)
    _add_into(conn, agg_dossier_day, _years_of_months(portal_codes, conn.dialect.name),
              AGG_MEASURES, conflicts=False)  # 5 passes over fct_dossier fewer
    _add_into(conn, agg_procedure_day, procs, ("n",), conflicts=False)
    now = now or datetime.now().replace(microsecond=0)
    conn.execute(agg_state.insert(), [{"portal_code": p, "built_at": now,
                                       "daily_from": daily_from} for p in portal_codes])
    analyze(conn, ["agg_dossier_day", "agg_procedure_day"])  # rewritten: plan on new rows
    log.info("aggregates rebuilt for %s (day rows from %s)", ",".join(portal_codes), daily_from)


def _years_of_months(portal_codes: Sequence[str], dialect: str):
    """The portals' year rows of agg_dossier_day summed from their month rows (exact: a
    record's year is its month's year; in a rebuild every stored row counts something)."""
    a = agg_dossier_day.c
    year = _year_start(a.day, dialect)
    return (select(a.portal_code, literal("y").label("grain"), year.label("day"), a.unit_code,
                   a.field_code, a.name_key, a.kind,
                   *[func.sum(a[m]).label(m) for m in AGG_MEASURES])
            .where(a.portal_code.in_(portal_codes), a.grain == "m")
            .group_by(a.portal_code, year, a.unit_code, a.field_code, a.name_key, a.kind))


def refresh(conn: Connection, portal_codes: Sequence[str], *, as_of: date) -> dict[str, dict]:
    """Bring the portals' aggregates up to date with fct_dossier for computing as of `as_of`,
    inside the caller's transaction: fold their log rows, or rebuild a portal never built (or
    whose day rows start after `as_of`'s month). Day rows of months before `as_of`'s are then
    dropped (month rows keep the history). Returns per portal {"rebuilt", "log_rows"}."""
    portal_codes = list(dict.fromkeys(portal_codes))
    if not portal_codes:
        return {}
    _lock(conn)
    # Fresh statistics for what the fold and the snapshot queries read (after a bulk load).
    analyze_stale(conn, SOURCE_TABLES)
    need = month_start(as_of)
    state = dict(conn.execute(select(agg_state.c.portal_code, agg_state.c.daily_from).where(
        agg_state.c.portal_code.in_(portal_codes))).all())
    pending: dict[str, int] = dict(conn.execute(
        select(agg_dossier_log.c.portal_code, func.count())
        .where(agg_dossier_log.c.portal_code.in_(portal_codes))
        .group_by(agg_dossier_log.c.portal_code)).all())
    stats = {p: {"rebuilt": False, "log_rows": int(pending.get(p, 0))} for p in portal_codes}
    again = [p for p in portal_codes if p not in state or state[p] > need
             or pending.get(p, 0) > REBUILD_LOG_ROWS]
    if again:
        rebuild(conn, again, daily_from=need, lock=False)
        for p in again:
            stats[p]["rebuilt"] = True
            state[p] = need
    fold = [p for p in portal_codes if p not in again and pending.get(p)]
    if fold:
        days, procs = _aggregate_selects(agg_dossier_log, agg_dossier_log.c.sign, fold,
                                         conn.dialect.name, {p: state[p] for p in fold})
        _add_into(conn, agg_dossier_day, days, AGG_MEASURES)
        _add_into(conn, agg_procedure_day, procs, ("n",))
        conn.execute(delete(agg_dossier_log).where(agg_dossier_log.c.portal_code.in_(fold)))
    for p in portal_codes:
        if state[p] < need:  # the nights moved on: older day rows are no longer read
            for table in (agg_dossier_day, agg_procedure_day):
                conn.execute(delete(table).where(
                    table.c.portal_code == p, table.c.grain == "d",
                    table.c.day < bindparam("need", need, type_=Date)))
            conn.execute(agg_state.update().where(agg_state.c.portal_code == p)
                         .values(daily_from=need))
    log.info("aggregates refreshed: %s", ", ".join(
        f"{p} {'rebuilt' if s['rebuilt'] else 'folded'} ({s['log_rows']} log rows)"
        for p, s in stats.items()))
    return stats


# ------------------------------------------------------------------------------- reading


def period_params(periods, as_of: date, prefix: str) -> list[tuple]:
    """Per period: bound (start, cut end, first day read from day rows: the cut end's month,
    or the next month when the cut end is a month's last day)."""
    out = []
    for i, p in enumerate(periods):
        end = p.cut_end(as_of)
        if p.start.day != 1:
            raise ValueError(f"period {p} does not start on a month's first day")
        # a cut end on a month's last day is summed from month rows alone (no day rows)
        nxt = end + timedelta(days=1)
        month = nxt if nxt.day == 1 else month_start(end)
        out.append((bindparam(f"{prefix}{i}_s", p.start, type_=Date),
                    bindparam(f"{prefix}{i}_e", end, type_=Date),
                    bindparam(f"{prefix}{i}_m", month, type_=Date)))
    return out


def in_range(a: Any, s: ColumnElement[date], e: ColumnElement[date], m: ColumnElement[date]
             ) -> ColumnElement[bool]:
    """Rows that sum to [s, e] exactly: whole months before m, then the days from m to e."""
    return or_(and_(a.grain == "m", a.day >= s, a.day < m),
               and_(a.grain == "d", a.day >= m, a.day <= e))


def scanned(a, bounds: list[tuple]):
    """The rows `in_range` can need: month rows, the day rows of each cut end's month."""
    return or_(a.grain == "m", *[and_(a.grain == "d", a.day >= m, a.day <= e)
                                 for _, e, m in bounds])


class Segments:
    """The month and day rows of agg_dossier_day cut into consecutive segments at the periods'
    bounds, so SQL sums each measure once per segment (a plain GROUP BY) and every period's
    range, prefix (≤ cut end) and "before start" sum is a sum of whole segments, in Python.

    Month segment k holds the month rows with bounds[k-1] ≤ day < bounds[k]; segment 0 all
    before bounds[0] (from year rows when bounds[0] is a year's first day, as with every
    snapshot and Biểu 06 run: the year period is always among them); segment −1 the day rows
    of the running month (month start .. as-of)."""

    DAY = -1

    def __init__(self, periods, as_of: date):
        self.periods = []
        for p in periods:
            end = p.cut_end(as_of)
            if p.start.day != 1:
                raise ValueError(f"period {p} does not start on a month's first day")
            nxt = end + timedelta(days=1)
            self.periods.append((p.start, end, nxt if nxt.day == 1 else month_start(end)))
        self.bounds = sorted({s for s, _, _ in self.periods} | {m for _, _, m in self.periods})
        self.days = sorted({(m, e) for _, e, m in self.periods if m <= e})
        if len(self.days) > 1:
            raise ValueError("periods cut at different days inside a month")

    def column(self, a):
        whens = [(a.grain == "d", literal_column(str(self.DAY)))]
        whens += [(a.day < bindparam(f"seg_{k}", b, type_=Date), literal_column(str(k)))
                  for k, b in enumerate(self.bounds)]
        return case(*whens, else_=literal_column(str(len(self.bounds))))

    def where(self, a):
        """The rows any segment holds (month rows of kind 'e' only from the first start on:
        no prefix sum reads them)."""
        first = bindparam("seg_first", self.bounds[0], type_=Date)
        last = bindparam("seg_last", self.bounds[-1], type_=Date)
        if self.bounds[0].month == 1:  # segment 0 (before a year's start) from year rows
            rows = [and_(a.grain == "y", a.day < first, a.kind != "e"),
                    and_(a.grain == "m", a.day >= first, a.day < last)]
        else:
            rows = [and_(a.grain == "m", a.day < last, or_(a.kind != "e", a.day >= first))]
        for k, (m, e) in enumerate(self.days):
            rows.append(and_(a.grain == "d", a.day >= bindparam(f"seg_dm{k}", m, type_=Date),
                             a.day <= bindparam(f"seg_de{k}", e, type_=Date)))
        return or_(*rows)

    def _day(self, i) -> list[int]:
        _, e, m = self.periods[i]
        return [self.DAY] if m <= e else []

    def within(self, i) -> list[int]:
        """Segments summing to the period's [start, cut end]."""
        s, _, m = self.periods[i]
        return [k for k, b in enumerate(self.bounds)
                if k > 0 and self.bounds[k - 1] >= s and b <= m] + self._day(i)

    def up_to(self, i) -> list[int]:
        """Segments summing to (−∞, cut end]."""
        m = self.periods[i][2]
        return [k for k, b in enumerate(self.bounds) if b <= m] + self._day(i)

    def before(self, i) -> list[int]:
        """Segments summing to (−∞, start)."""
        s = self.periods[i][0]
        return [k for k, b in enumerate(self.bounds) if b <= s]


def segment_sums(conn: Connection, portal_codes: Sequence[str], segments: Segments,
                 keys: Sequence[str] = ()) -> dict[tuple, dict[tuple[str, int], dict]]:
    """Per (ancestor unit, *keys): {(kind, segment): {measure: sum}} over the subtree."""
    a = agg_dossier_day.c
    from egov.warehouse.schema import unit_closure

    seg = segments.column(a)
    inner_keys = [a[k] for k in keys]
    per_unit = (
        select(a.portal_code, a.unit_code, *inner_keys, a.kind, seg.label("seg"),
               *[func.sum(a[m]).label(m) for m in AGG_MEASURES])
        .where(a.portal_code.in_(portal_codes), segments.where(a))
        .group_by(a.portal_code, a.unit_code, *inner_keys, a.kind, seg)
        .subquery("per_unit")
    )
    c = unit_closure.c
    outer_keys = [per_unit.c[k] for k in keys]
    query = (
        select(c.ancestor_code, *outer_keys, per_unit.c.kind, per_unit.c.seg,
               *[func.sum(per_unit.c[m]).label(m) for m in AGG_MEASURES])
        .select_from(per_unit)
        .join(unit_closure, and_(c.descendant_code == per_unit.c.unit_code,
                                 c.portal_code == per_unit.c.portal_code))
        .group_by(c.ancestor_code, *outer_keys, per_unit.c.kind, per_unit.c.seg)
    )
    out: dict[tuple, dict] = {}
    for row in conn.execute(query).mappings():
        key = (row["ancestor_code"], *[row[k] for k in keys])
        out.setdefault(key, {})[(row["kind"], int(row["seg"]))] = {
            m: int(row[m] or 0) for m in AGG_MEASURES}
    return out


def total(cells: dict, kind: str, measure: str, segments: Sequence[int]) -> int:
    return sum(cells[(kind, k)][measure] for k in segments if (kind, k) in cells)


def open_at(cells: dict, segments: Sequence[int]) -> tuple[int, int]:
    """OPEN_AT_END at the end of `segments` (a prefix), and of those the overdue ones."""
    return (total(cells, "r", "n", segments) - total(cells, "b", "n", segments),
            total(cells, "c", "n", segments) - total(cells, "d", "n", segments))
