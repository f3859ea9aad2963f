"""Incremental aggregates behind the snapshots and Biểu 06 (docs/performance.md,
"Incremental snapshots").

`fct_dossier` is summarised in small tables, so a nightly compute costs what changed that
night plus units × days of the periods, not the warehouse's history:

* `agg_dossier_day`: additive record counts per (portal, grain, day, unit, field, name, kind),
  at two grains: `d` (the day itself) and `m` (its month, day = the month's first day). The
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
from datetime import date, datetime

from sqlalchemy import (
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

log = logging.getLogger(__name__)

NOT_RECEIVED, RESOLVED, WITHDRAWN = (1, 3), (9, 10), (7, 8)
ENDED = (7, 8, 9, 10)
# A log longer than this is not folded: the portal's aggregates are rebuilt in one pass.
REBUILD_LOG_ROWS = 2_000_000
_ONE, _ZERO = literal_column("1"), literal_column("0")


def _flag(condition):
    return case((condition, _ONE), else_=_ZERO)


def _month_start(col, dialect: str):
    if dialect == "postgresql":
        return cast(func.date_trunc("month", cast(col, DateTime)), Date)
    return func.date(col, literal_column("'start of month'"))


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


def _aggregate_selects(source, sign, portal_codes: Sequence[str], dialect: str):
    """SELECTs of agg_dossier_day and agg_procedure_day rows from `source` (fct_dossier or the
    log), each row weighted by `sign`."""
    f = source.c
    field = func.coalesce(f.field_code, literal(""))
    name_key = case((f.field_name.is_(None), literal("")), else_=literal("=") + f.field_name)
    mine = f.portal_code.in_(portal_codes)
    day_rows = []
    for kind, (where, day, measures) in _kinds(f, dialect).items():
        for grain in ("d", "m"):
            key = day if grain == "d" else _month_start(day, dialect)
            sums = [func.sum(case((measures[m], sign), else_=_ZERO)).label(m)
                    if m in measures else _ZERO.label(m) for m in AGG_MEASURES]
            day_rows.append(
                select(f.portal_code, literal(grain).label("grain"), key.label("day"),
                       f.unit_code, field.label("field_code"), name_key.label("name_key"),
                       literal(kind).label("kind"), *sums)
                .where(mine, where)
                .group_by(f.portal_code, key, f.unit_code, field, name_key))
    received = and_(f.status.not_in(NOT_RECEIVED), f.received_date.is_not(None),
                    f.procedure_code.is_not(None))
    proc_rows = []
    for grain in ("d", "m"):
        key = f.received_date if grain == "d" else _month_start(f.received_date, dialect)
        proc_rows.append(
            select(f.portal_code, literal(grain).label("grain"), key.label("day"), f.unit_code,
                   f.procedure_code, func.sum(sign).label("n"))
            .where(mine, received)
            .group_by(f.portal_code, key, f.unit_code, f.procedure_code))
    return union_all(*day_rows), union_all(*proc_rows)


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _add_into(conn: Connection, table, rows, measures: Sequence[str]) -> None:
    """INSERT `rows` (a SELECT of the table's columns) into `table`, adding to stored rows."""
    stmt = _insert(conn)(table).from_select([c.name for c in table.columns], rows)
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
    else:
        conn.execute(delete(agg_state).where(literal(0) == 1))


def rebuild(conn: Connection, portal_codes: Sequence[str], *, now: datetime | None = None,
            lock: bool = True) -> None:
    """Rebuild the portals' aggregates from fct_dossier in one set-based pass (also the first
    build, and what a bulk seed of fct_dossier calls afterwards). Clears their log rows."""
    portal_codes = list(dict.fromkeys(portal_codes))
    if not portal_codes:
        return
    if lock:
        _lock(conn)
    for table in (agg_dossier_day, agg_procedure_day, agg_dossier_log, agg_state):
        conn.execute(delete(table).where(table.c.portal_code.in_(portal_codes)))
    days, procs = _aggregate_selects(fct_dossier, _ONE, portal_codes, conn.dialect.name)
    _add_into(conn, agg_dossier_day, days, AGG_MEASURES)
    _add_into(conn, agg_procedure_day, procs, ("n",))
    now = now or datetime.now().replace(microsecond=0)
    conn.execute(agg_state.insert(), [{"portal_code": p, "built_at": now} for p in portal_codes])
    log.info("aggregates rebuilt for %s", ",".join(portal_codes))


def refresh(conn: Connection, portal_codes: Sequence[str]) -> dict[str, dict]:
    """Bring the portals' aggregates up to date with fct_dossier, inside the caller's
    transaction: fold their log rows, or rebuild a portal never built. Returns per portal
    what was done: {"rebuilt": bool, "log_rows": n}."""
    portal_codes = list(dict.fromkeys(portal_codes))
    if not portal_codes:
        return {}
    _lock(conn)
    built = set(conn.execute(select(agg_state.c.portal_code).where(
        agg_state.c.portal_code.in_(portal_codes))).scalars())
    pending = dict(conn.execute(
        select(agg_dossier_log.c.portal_code, func.count())
        .where(agg_dossier_log.c.portal_code.in_(portal_codes))
        .group_by(agg_dossier_log.c.portal_code)).all())
    stats = {p: {"rebuilt": False, "log_rows": int(pending.get(p, 0))} for p in portal_codes}
    again = [p for p in portal_codes if p not in built or pending.get(p, 0) > REBUILD_LOG_ROWS]
    if again:
        rebuild(conn, again, lock=False)
        for p in again:
            stats[p]["rebuilt"] = True
    fold = [p for p in portal_codes if p not in again and pending.get(p)]
    if fold:
        days, procs = _aggregate_selects(agg_dossier_log, agg_dossier_log.c.sign, fold,
                                         conn.dialect.name)
        _add_into(conn, agg_dossier_day, days, AGG_MEASURES)
        _add_into(conn, agg_procedure_day, procs, ("n",))
        conn.execute(delete(agg_dossier_log).where(agg_dossier_log.c.portal_code.in_(fold)))
    log.info("aggregates refreshed: %s", ", ".join(
        f"{p} {'rebuilt' if s['rebuilt'] else 'folded'} ({s['log_rows']} log rows)"
        for p, s in stats.items()))
    return stats


# ------------------------------------------------------------------------------- reading


def period_params(periods, as_of: date, prefix: str) -> list[tuple]:
    """Per period: bound (start, cut end, first day of the cut end's month)."""
    out = []
    for i, p in enumerate(periods):
        end = p.cut_end(as_of)
        if p.start.day != 1:
            raise ValueError(f"period {p} does not start on a month's first day")
        out.append((bindparam(f"{prefix}{i}_s", p.start, type_=Date),
                    bindparam(f"{prefix}{i}_e", end, type_=Date),
                    bindparam(f"{prefix}{i}_m", end.replace(day=1), type_=Date)))
    return out


def in_range(a, s, e, m):
    """Rows that sum to [s, e] exactly: whole months before e's month, then its days."""
    return or_(and_(a.grain == "m", a.day >= s, a.day < m),
               and_(a.grain == "d", a.day >= m, a.day <= e))


def up_to(a, e, m):
    """Rows that sum to (−∞, e]."""
    return or_(and_(a.grain == "m", a.day < m), and_(a.grain == "d", a.day >= m, a.day <= e))


def before(a, s):
    """Rows that sum to (−∞, s) (s is a month's first day)."""
    return and_(a.grain == "m", a.day < s)


def scanned(a, bounds: list[tuple]):
    """The rows any of the above can need: every month row, the days of each cut end's month."""
    return or_(a.grain == "m", *[and_(a.grain == "d", a.day >= m, a.day <= e)
                                 for _, e, m in bounds])


def summed(a, kind: str, measure, where):
    return func.sum(case((and_(a.kind == kind, where), measure), else_=_ZERO))


def open_at(a, e, m):
    """OPEN_AT_END at e, and of those the overdue ones (due < e)."""
    upto = up_to(a, e, m)
    return (summed(a, "r", a.n, upto) - summed(a, "b", a.n, upto),
            summed(a, "c", a.n, upto) - summed(a, "d", a.n, upto))
