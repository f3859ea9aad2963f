"""The same unit seen by two systems (dvcqg-766.md "Reconciliation").

`reconcile(conn, as_of=...)` rewrites `mart_source_reconciliation`: for every unit the
crosswalk maps (`dvcqg_score.unit_code`) and every period of the index's current reads that
is closed by `as_of`, the one-stop figures (counted from the records, descendants included,
as the snapshots) beside the index's, with the difference and a flag past the thresholds
(EGOV_DVCQG_FLAG_PP, default 2 percentage points; EGOV_DVCQG_FLAG_COUNT_PCT, default 1% of
records). It also rewrites `mart_dvcqg_preview`: the running month of `as_of` scored with
the known formulas from one-stop records, beside the last published month's score (never
stored as the portal's figures).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from egov.compute.indicators import dvcqg as index
from egov.compute.indicators.snapshots import record_ratios
from egov.periods import Period, period_containing
from egov.settings import env_number

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measure:
    code: str
    ours: str  # record indicator
    theirs: str  # index indicator
    count: bool = False  # compare counts (ours: the denominator; theirs: the denominator)


MEASURES = (
    Measure("received", "online_rate", "dvcqg:progress", count=True),
    Measure("progress", "progress_rate", "dvcqg:progress"),
    Measure("online_share", "online_rate", "dvcqg:online_dossiers"),
    Measure("online_payment", "online_payment_rate", "dvcqg:online_payment"),
    Measure("digitized_results", "digitized_result_rate", "dvcqg:ORIGINAL_RESULT_AVAILABLE"),
    Measure("satisfaction", "satisfaction_rate", "dvcqg:DOSSIER_RECEIVING_SATISFACTION"),
)


@dataclass(frozen=True)
class PreviewMeasure:
    code: str
    group_code: str
    ours: str  # record indicator
    max_score: float
    metric_code: str | None  # the index metric whose published score it stands beside


# What one-stop records can score (the known formulas): progress 20 × rate; payment's first
# term 6 × A; digitisation min(max, max × rate / 100).
PREVIEW = (
    PreviewMeasure("progress", "progress", "progress_rate", 20.0, None),
    PreviewMeasure("online_payment_a", "online_payment", "online_payment_rate", 6.0, None),
    PreviewMeasure("ORIGINAL_RESULT_AVAILABLE", "digitized", "digitized_result_rate", 6.0,
                   "ORIGINAL_RESULT_AVAILABLE"),
    PreviewMeasure("SO_HOA_GIAY_TO_GIAI_QUYET", "digitized", "digitized_dossier_rate", 4.0,
                   "SO_HOA_GIAY_TO_GIAI_QUYET"),
)


def flag_pp() -> float:
    return cast(float, env_number("EGOV_DVCQG_FLAG_PP", 2.0, float, minimum=0, maximum=100))


def flag_count_pct() -> float:
    return cast(float, env_number("EGOV_DVCQG_FLAG_COUNT_PCT", 1.0, float, minimum=0,
                                  maximum=100))


def _pct(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else 100.0 * num / den


def _mapped(conn: Connection) -> list[Any]:
    """(root, period_type, period_start, department_id, unit_code, provisional, read_at) of
    the current reads' mapped departments."""
    from sqlalchemy import select

    from egov.warehouse.schema import dvcqg_score as s

    return list(conn.execute(
        select(s.c.root_department_id, s.c.period_type, s.c.period_start, s.c.department_id,
               s.c.unit_code, s.c.provisional, s.c.read_at).distinct()
        .where(s.c.unit_code.is_not(None), s.c.group_code == "progress")
        .order_by(s.c.period_start, s.c.period_type, s.c.unit_code)).all())


def _known(conn: Connection, units: set[str]) -> dict[str, str]:
    """unit → portal of the units the warehouse knows (a known unit without records in a
    period has 0 records there, not "no data")."""
    from sqlalchemy import select

    from egov.warehouse.schema import dim_unit

    if not units:
        return {}
    return {r[0]: r[1] for r in conn.execute(
        select(dim_unit.c.unit_code, dim_unit.c.portal_code)
        .where(dim_unit.c.unit_code.in_(sorted(units))))}



def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def reconciliation_rows(conn: Connection, *, as_of: date, run_id: str | None = None,
                        computed_at: datetime | None = None) -> list[dict[str, Any]]:
    """The rows of `mart_source_reconciliation` as of `as_of` (not written)."""
    mapped = [r for r in _mapped(conn)
              if period_containing(r.period_type, _as_date(r.period_start)).end <= as_of]
    if not mapped:
        return []
    periods: list[Period] = []
    for r in mapped:
        p = period_containing(r.period_type, _as_date(r.period_start))
        if p not in periods:
            periods.append(p)
    known = _known(conn, {r.unit_code for r in mapped})
    ours = record_ratios(conn, sorted(set(known.values())), periods, as_of)
    pp, count_pct = flag_pp(), flag_count_pct()
    rows = []
    for r in mapped:
        period = period_containing(r.period_type, _as_date(r.period_start))
        i = periods.index(period)
        theirs = {code: index.values(conn, code, root_department_id=r.root_department_id,
                                     period_type=r.period_type, period_start=period.start,
                                     department_id=r.department_id)
                  for code in {m.theirs for m in MEASURES}}
        for m in MEASURES:
            got = ours.get((r.unit_code, m.ours, i)) or ((0, 0) if r.unit_code in known
                                                          else None)
            found = theirs[m.theirs][0] if theirs[m.theirs] else None
            if m.count:
                o_num = float(got[1]) if got else None
                t_num = found.denominator if found else None
                o_den = t_den = o_pct = t_pct = diff_pp = None
                diff = None if o_num is None or t_num is None else o_num - t_num
                base = max(o_num or 0, t_num or 0)
                flagged = diff is not None and base > 0 and abs(diff) * 100 / base > count_pct
            else:
                o_num = float(got[0]) if got else None
                o_den = float(got[1]) if got else None
                t_num = found.numerator if found else None
                t_den = found.denominator if found else None
                o_pct = _pct(o_num, o_den)
                t_pct = found.value if found else None
                diff_pp = None if o_pct is None or t_pct is None else o_pct - t_pct
                diff = None if o_num is None or t_num is None else o_num - t_num
                flagged = diff_pp is not None and abs(diff_pp) > pp
            rows.append({
                "period_type": r.period_type, "period_start": period.start,
                "unit_code": r.unit_code, "measure": m.code, "department_id": r.department_id,
                "root_department_id": r.root_department_id, "period_end": period.end,
                "ours_numerator": o_num, "ours_denominator": o_den, "ours_pct": o_pct,
                "theirs_numerator": t_num, "theirs_denominator": t_den, "theirs_pct": t_pct,
                "diff_pp": diff_pp, "diff_count": diff, "flagged": bool(flagged),
                "provisional": bool(r.provisional), "read_at": r.read_at, "as_of_date": as_of,
                "run_id": run_id, "computed_at": computed_at,
            })
    return rows


def _published(conn: Connection, department_id: str, before: date) -> dict[str, Any]:
    """The last published month before `before` of a department: its start and the scores
    of its progress group, payment A term and digitisation metrics."""
    from sqlalchemy import func, select

    from egov.warehouse.schema import dvcqg_metric as m
    from egov.warehouse.schema import dvcqg_score as s

    start = conn.execute(select(func.max(s.c.period_start)).where(
        s.c.department_id == department_id, s.c.period_type == "month",
        s.c.period_start < before)).scalar()
    if start is None:
        return {}
    out: dict[str, Any] = {"start": _as_date(start)}
    score = conn.execute(select(s.c.score).where(
        s.c.department_id == department_id, s.c.period_type == "month",
        s.c.period_start == start, s.c.group_code == "progress")).scalar()
    out["progress"] = score
    metrics = {r.metric_code: r for r in conn.execute(select(
        m.c.metric_code, m.c.numerator, m.c.score).where(
        m.c.department_id == department_id, m.c.period_type == "month",
        m.c.period_start == start))}
    paid = metrics.get("totalDossierOnlinePaymentSuccess")
    owed = metrics.get("totalDossierFinancialObligation")
    if paid is not None and owed is not None and paid.numerator is not None \
            and owed.numerator is not None:
        out["online_payment_a"] = 6 * paid.numerator / owed.numerator if owed.numerator \
            else 0.0
    for code in ("ORIGINAL_RESULT_AVAILABLE", "SO_HOA_GIAY_TO_GIAI_QUYET"):
        if code in metrics:
            out[code] = metrics[code].score
    return out


def preview_rows(conn: Connection, *, as_of: date, run_id: str | None = None,
                 computed_at: datetime | None = None) -> list[dict[str, Any]]:
    """The running month of `as_of` scored from one-stop records (not written)."""
    from sqlalchemy import select

    from egov.warehouse.schema import dvcqg_crosswalk as cw

    month = period_containing("month", as_of)
    mapped = list(conn.execute(select(cw.c.department_id, cw.c.unit_code)
                               .where(cw.c.status == "confirmed")
                               .order_by(cw.c.unit_code)).all())
    if not mapped:
        return []
    known = _known(conn, {r.unit_code for r in mapped})
    ours = record_ratios(conn, sorted(set(known.values())), [month], as_of)
    rows = []
    for r in mapped:
        published = _published(conn, r.department_id, month.start)
        for p in PREVIEW:
            got = ours.get((r.unit_code, p.ours, 0)) or ((0, 0) if r.unit_code in known
                                                        else None)
            num, den = (float(got[0]), float(got[1])) if got else (None, None)
            pct = _pct(num, den)
            score = None if pct is None else min(p.max_score, p.max_score * pct / 100)
            rows.append({
                "period_start": month.start, "unit_code": r.unit_code, "measure": p.code,
                "department_id": r.department_id, "group_code": p.group_code,
                "period_end": month.end, "ours_numerator": num, "ours_denominator": den,
                "ours_pct": pct, "preview_score": score, "max_score": p.max_score,
                "published_period_start": published.get("start"),
                "published_score": published.get(p.code),
                "as_of_date": as_of, "run_id": run_id, "computed_at": computed_at,
            })
    return rows


def reconcile(conn: Connection, *, as_of: date, run_id: str | None = None,
              computed_at: datetime | None = None) -> dict[str, int]:
    """Rewrite `mart_source_reconciliation` and `mart_dvcqg_preview` (module doc) in the
    caller's transaction; returns the row counts and the flagged rows."""
    from sqlalchemy import delete, insert

    from egov.warehouse.schema import mart_dvcqg_preview, mart_source_reconciliation

    rows = reconciliation_rows(conn, as_of=as_of, run_id=run_id, computed_at=computed_at)
    conn.execute(delete(mart_source_reconciliation))
    if rows:
        conn.execute(insert(mart_source_reconciliation), rows)
    preview = preview_rows(conn, as_of=as_of, run_id=run_id, computed_at=computed_at)
    conn.execute(delete(mart_dvcqg_preview))
    if preview:
        conn.execute(insert(mart_dvcqg_preview), preview)
    flagged = sum(1 for r in rows if r["flagged"])
    log.info("reconciliation as of %s: %d rows (%d flagged), %d preview rows", as_of,
             len(rows), flagged, len(preview))
    return {"rows": len(rows), "flagged": flagged, "preview": len(preview)}
