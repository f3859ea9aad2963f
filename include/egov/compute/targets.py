"""Plan targets evaluated against the year snapshots (docs/contracts/indicators.md, "Targets").

`evaluate_targets` writes one `mart_target_evaluation` row per (plan, target, year) for every
year the target names up to `year(as_of)`, reading the `year` snapshot of the target's unit
computed for the same as-of day; a target without an indicator carries its reported figure
(egov.compute.reported, docs/contracts/reported-figures.md). Statuses come from
`target_status`, which compares the exact ratio `numerator / denominator` with the threshold, never the rounded `value_pct`. A target
of the running year also gets its outlook (`outlook`, indicators.md "What it takes").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Date, delete, insert, literal, select

from egov.compute.indicators import dvcqg as index_indicators
from egov.compute.indicators.codes import CATALOG_INDICATORS
from egov.compute.indicators.snapshots import value_pct
from egov.warehouse.schema import mart_indicator_snapshot, mart_target_evaluation

if TYPE_CHECKING:
    from egov.compute.plans import Plan, Target
    from egov.compute.reported import Figure

log = logging.getLogger(__name__)

COMPARATORS = (">=", ">")
NOT_MEASURED, NO_DATA = "not_measured", "no_data"
MET, MISSED, ON_TRACK, AT_RISK = "met", "missed", "on_track", "at_risk"
REACHABLE, OUT_OF_REACH = "reachable", "out_of_reach"
NO_OUTLOOK = {"projected_denominator": None, "needed_numerator": None,
              "needed_share_pct": None, "outlook": None}


def _exact(value: Any) -> Fraction:
    if isinstance(value, float):  # a float threshold: take the decimal it was written as
        value = Decimal(repr(value))
    return Fraction(value)


def passes(numerator: int, denominator: int, comparator: str, threshold: Any) -> bool:
    """Whether 100 × numerator / denominator `comparator` threshold, exactly."""
    ratio = Fraction(100 * numerator, denominator)
    bound = _exact(threshold)
    if comparator == ">=":
        return ratio >= bound
    if comparator == ">":
        return ratio > bound
    raise ValueError(f"unknown comparator {comparator!r} (expected one of {COMPARATORS})")


def target_status(
    numerator: int | None,
    denominator: int | None,
    comparator: str,
    threshold: Any,
    year: int,
    as_of: date,
    measured: bool,
) -> str:
    """The status of a target for `year`, evaluated as of `as_of`.

    `not_measured` when the target has no indicator; `no_data` when the denominator is 0 (or
    unknown); else `met`/`missed` once `as_of` ≥ 31 December of `year`, `on_track`/`at_risk`
    while the year is still running.
    """
    if not measured:
        return NOT_MEASURED
    if not denominator:
        return NO_DATA
    ok = passes(numerator or 0, denominator, comparator, threshold)
    if as_of >= date(year, 12, 31):
        return MET if ok else MISSED
    return ON_TRACK if ok else AT_RISK


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def needed_numerator(denominator: int, comparator: str, threshold: Any) -> int:
    """The smallest n >= 0 with 100 × n / denominator `comparator` threshold (exact)."""
    bound = _exact(threshold) * denominator / 100  # n must reach (>=) or pass (>) this
    if comparator == ">=":
        n = _ceil_div(bound.numerator, bound.denominator)
    elif comparator == ">":
        n = bound.numerator // bound.denominator + 1
    else:
        raise ValueError(f"unknown comparator {comparator!r} (expected one of {COMPARATORS})")
    return max(n, 0)


def outlook(
    numerator: int | None,
    denominator: int | None,
    comparator: str,
    threshold: Any,
    year: int,
    as_of: date,
    indicator: str | None,
) -> dict[str, Any]:
    """What it takes to meet the target of a running year (indicators.md, "What it takes").

    With `d` the days of `year` up to `as_of` and `r` those after it: the projected year
    denominator `den + ceil(den × r / d)`, the numerator the whole year must reach, and the
    share of the rest of the year's records that must pass (`value_pct` rounding, below 0
    reported as 0). `out_of_reach` when that share is over 100 % (exactly: more records must
    pass than the rest of the year brings), else `reachable`. All four are None for a year
    that is not running at `as_of`, a zero denominator, a catalogue indicator or no indicator.
    """
    if indicator is None or indicator in CATALOG_INDICATORS or not denominator:
        return dict(NO_OUTLOOK)
    first, last = date(year, 1, 1), date(year, 12, 31)
    if not first <= as_of < last:
        return dict(NO_OUTLOOK)
    num = numerator or 0
    d = (as_of - first).days + 1
    r = (last - as_of).days
    rest = _ceil_div(denominator * r, d)
    projected = denominator + rest
    needed = needed_numerator(projected, comparator, threshold)
    share = cast(Decimal, value_pct(needed - num, rest))  # rest > 0: never None
    if share < 0:
        share = Decimal("0.00")
    return {
        "projected_denominator": projected,
        "needed_numerator": needed,
        "needed_share_pct": share,
        "outlook": OUT_OF_REACH if needed - num > rest else REACHABLE,
    }


def target_years(plans: Iterable[Any]) -> set[int]:
    """Every year named by a target that has an indicator (the year snapshots a run needs)."""
    return {
        int(year)
        for plan in plans
        for target in plan.targets
        if target.indicator
        for year in target.thresholds
    }


def _year_snapshots(conn: Connection, as_of: date, units: set[str]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """(unit, indicator, year start) -> (numerator, denominator) of the year snapshots."""
    if not units:
        return {}
    s = mart_indicator_snapshot.c
    rows = conn.execute(
        select(s.unit_code, s.indicator_code, s.period_start, s.numerator, s.denominator).where(
            s.as_of_date == literal(as_of, Date),
            s.period_type == "year",
            s.unit_code.in_(sorted(units)),
        )
    )
    return {
        (r.unit_code, r.indicator_code, _as_date(r.period_start)): (r.numerator, r.denominator)
        for r in rows
    }


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _evaluation(plan: Plan, target: Target, year: int, snapshot: tuple[Any, ...] | None, *, as_of: date) -> dict[str, Any]:
    """One evaluation row (without run fields) of `target` for `year`."""
    numerator = denominator = None
    if target.indicator is not None and snapshot is not None:
        numerator, denominator = snapshot
    threshold = target.thresholds[year]
    status = target_status(
        numerator, denominator, target.comparator, threshold, year, as_of,
        measured=target.indicator is not None,
    )
    return {
        "as_of_date": as_of,
        "plan_code": plan.code,
        "target_code": target.code,
        "unit_code": target.unit or plan.unit,
        "indicator_code": target.indicator,
        "year": year,
        "comparator": target.comparator,
        "threshold_pct": Decimal(str(threshold)),
        "value_pct": value_pct(cast(int, numerator), denominator) if denominator else None,
        "numerator": numerator,
        "denominator": denominator,
        "status": status,
        **outlook(numerator, denominator, target.comparator, threshold, year, as_of,
                  target.indicator),
        "clause": target.clause or "",
        "portal_code": plan.portal,
        "plan_title": plan.title,
        "basis": "measured",
        "source_doc": None,
        "data_to": min(as_of, date(year, 12, 31)),
        "reported_units": None,
        "expected_units": None,
        "percent_only": None,
        "is_sample": None,
        "measure": "percent",
    }


def _reported_evaluation(plan: Plan, target: Target, year: int, figure: Figure | None,
                         expected: list[str], *, as_of: date) -> dict[str, Any]:
    """One evaluation row of a target without an indicator: its reported figure, if any
    (docs/contracts/reported-figures.md, "Status")."""
    from egov.compute.reported import due_date, reported_status, rounded_pct

    threshold = target.thresholds[year]
    status = reported_status(figure, target.comparator, threshold, year, as_of,
                             due_date(target, year))
    return {
        "as_of_date": as_of,
        "plan_code": plan.code,
        "target_code": target.code,
        "unit_code": target.unit or plan.unit,
        "indicator_code": None,
        "year": year,
        "comparator": target.comparator,
        "threshold_pct": Decimal(str(threshold)),
        "value_pct": rounded_pct(figure.value) if figure else None,
        "numerator": figure.numerator if figure else None,
        "denominator": figure.denominator if figure else None,
        "status": status,
        **NO_OUTLOOK,
        "clause": target.clause or "",
        "portal_code": plan.portal,
        "plan_title": plan.title,
        "basis": figure.basis if figure else None,
        "source_doc": figure.source_doc if figure else None,
        "data_to": figure.data_to if figure else None,
        "reported_units": figure.reported_units if figure else 0,
        "expected_units": len(expected),
        "percent_only": figure.percent_only if figure else None,
        "is_sample": figure.is_sample if figure else None,
        "measure": "percent",
    }


def _passes_value(value: Any, comparator: str, threshold: Any) -> bool:
    """Whether a value (percent or points) `comparator` threshold, exactly as written."""
    exact, bound = _exact(value), _exact(threshold)
    if comparator == ">=":
        return exact >= bound
    if comparator == ">":
        return exact > bound
    raise ValueError(f"unknown comparator {comparator!r} (expected one of {COMPARATORS})")


def _count(value: Any) -> int | None:
    """A count of the index as an integer column holds it (None when not whole)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _index_evaluation(conn: Connection, plan: Plan, target: Target, year: int, *,
                      as_of: date) -> dict[str, Any]:
    """One evaluation row of a target on an index indicator (`dvcqg:...`): the year figure
    of the index (the portal's period) for the department mapped to the target's unit."""
    unit = target.unit or plan.unit
    code = cast(str, target.indicator)
    found = index_indicators.unit_value(conn, code, unit_code=unit, period_type="year",
                                        period_start=date(year, 1, 1))
    threshold = target.thresholds[year]
    numerator = denominator = None
    value: Decimal | None = None
    status = NO_DATA
    if found is None or found.value is None:
        log.warning("plan %s target %s: no %s figure of the index for unit %s, year %d "
                    "(unmapped department, or not read); status no_data",
                    plan.code, target.code, code, unit, year)
    else:
        numerator, denominator = _count(found.numerator), _count(found.denominator)
        if numerator is not None and denominator:
            ok = passes(numerator, denominator, target.comparator, threshold)
            value = value_pct(numerator, denominator)
        else:
            ok = _passes_value(found.value, target.comparator, threshold)
            value = Decimal(repr(found.value)).quantize(Decimal("0.01"))
        if as_of >= date(year, 12, 31):
            status = MET if ok else MISSED
        else:
            status = ON_TRACK if ok else AT_RISK
    return {
        "as_of_date": as_of,
        "plan_code": plan.code,
        "target_code": target.code,
        "unit_code": unit,
        "indicator_code": code,
        "year": year,
        "comparator": target.comparator,
        "threshold_pct": Decimal(str(threshold)),
        "value_pct": value,
        "numerator": numerator,
        "denominator": denominator,
        "status": status,
        **NO_OUTLOOK,
        "clause": target.clause or "",
        "portal_code": plan.portal,
        "plan_title": plan.title,
        "basis": "measured",
        "source_doc": None,
        "data_to": None,
        "reported_units": None,
        "expected_units": None,
        "percent_only": None,
        "is_sample": None,
        "measure": target.measure,
    }


def evaluate_plan(conn: Connection, plan: Plan, *, as_of: date) -> list[dict[str, Any]]:
    """The evaluation rows of one plan (not written)."""
    from egov.compute.reported import (
        plan_children,
        plan_revisions,
        reporters,
        target_year_figure,
    )

    measured_units = {t.unit or plan.unit for t in plan.targets
                      if t.indicator and not t.indicator.startswith(index_indicators.PREFIX)}
    snapshots = _year_snapshots(conn, as_of, measured_units)
    reported = any(t.indicator is None for t in plan.targets)
    revisions = plan_revisions(conn, plan.code, as_of) if reported else {}
    children = plan_children(conn, plan) if reported else {}
    rows = []
    for target in plan.targets:
        unit = target.unit or plan.unit
        for year in sorted(int(y) for y in target.thresholds):
            if year > as_of.year:
                continue
            if target.indicator is not None \
                    and target.indicator.startswith(index_indicators.PREFIX):
                rows.append(_index_evaluation(conn, plan, target, year, as_of=as_of))
                continue
            if target.indicator is None:
                expected = reporters(target, plan.unit, children)
                figure = target_year_figure(revisions, target, year, expected, as_of)
                rows.append(_reported_evaluation(plan, target, year, figure, expected,
                                                 as_of=as_of))
                continue
            snapshot = None
            if target.indicator is not None:
                snapshot = snapshots.get((unit, target.indicator, date(year, 1, 1)))
                if snapshot is None:
                    log.warning(
                        "plan %s target %s: no %s year snapshot of unit %s for %d as of %s;"
                        " status no_data",
                        plan.code, target.code, target.indicator, unit, year, as_of,
                    )
            rows.append(_evaluation(plan, target, year, snapshot, as_of=as_of))
    return rows


def evaluate_targets(
    conn: Connection,
    plans: Sequence[Any],
    *,
    as_of: date,
    portal_codes: Iterable[str],
    run_id: str | None,
    computed_at: datetime | None,
) -> list[dict[str, Any]]:
    """Evaluate every target of every plan of the configured portals as of `as_of`.

    Plans (`egov.compute.plans.Plan`) of a portal not in `portal_codes` are skipped with a warning.
    Each evaluated plan's rows of (`as_of`, plan code) are replaced, so a rerun never
    duplicates. Returns the rows written.

    A target with an indicator whose year snapshot is missing (its unit is not in the
    warehouse, or the snapshots of `as_of` were not computed for it) gets status `no_data`
    with null numerator, denominator and value, and a logged warning: the plan stays whole
    in the mart, and the absence of data is visible rather than failing the run.
    """
    portals = set(portal_codes)
    evaluated = []
    for plan in plans:
        if plan.portal not in portals:
            log.warning(
                "plan %s: portal %r is not configured (or not in this run); skipped",
                plan.code, plan.portal,
            )
            continue
        evaluated.append(plan)
    if not evaluated:
        return []
    conn.execute(
        delete(mart_target_evaluation).where(
            mart_target_evaluation.c.as_of_date == literal(as_of, Date),
            mart_target_evaluation.c.plan_code.in_([p.code for p in evaluated]),
        )
    )
    rows = []
    for plan in evaluated:
        for row in evaluate_plan(conn, plan, as_of=as_of):
            row.update(run_id=run_id, computed_at=computed_at)
            rows.append(row)
    if rows:
        conn.execute(insert(mart_target_evaluation), rows)
    log.info("targets as of %s: %d evaluations of %d plans", as_of, len(rows), len(evaluated))
    return rows
