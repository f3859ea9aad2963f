"""Reported figures: who reports a target, which revision counts, the target's figure and its
status (docs/contracts/reported-figures.md, "Which figure counts" and "Status").

Pure functions on plain values, plus the two reads `evaluate_plan` needs (the revisions of a
plan and the child units of the reporting units). Figures measured from the portals and
figures reported by units are never blended: a target with an indicator keeps its measured
status; its reported figures are shown beside it (page, `bi_reported_figures`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

from egov.sources.reported.rows import Known

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection

    from egov.compute.plans import Plan, Target

SELF_REPORTED, VERIFIED, MEASURED = "self_reported", "verified", "measured"
BASES = (SELF_REPORTED, VERIFIED)
AWAITING_REPORT, NOT_DUE = "awaiting_report", "not_due"
DEFAULT_REPORT_DUE = "01-20"


@dataclass(frozen=True)
class Revision:
    """One accepted row of a reported file (a row of `fct_reported_figure`)."""

    unit_code: str
    data_to: date
    approved_at: date
    basis: str
    numerator: int | None
    denominator: int | None
    value_pct: Decimal | None
    source_doc: str
    taken_seq: int
    row_number: int
    is_sample: bool = False
    file_name: str = ""

    @property
    def value(self) -> Fraction | None:
        """The exact percent: 100 × numerator / denominator, else value_pct; None for 0/0."""
        if self.denominator is not None and self.numerator is not None:
            return Fraction(100 * self.numerator, self.denominator) if self.denominator else None
        return None if self.value_pct is None else Fraction(Decimal(str(self.value_pct)))


@dataclass(frozen=True)
class Figure:
    """A target's reported figure as of a day."""

    numerator: int | None
    denominator: int | None
    value: Fraction | None
    basis: str
    source_doc: str
    data_to: date
    reported_units: int
    expected_units: int
    percent_only: bool
    is_sample: bool
    counted: tuple[Revision, ...] = field(default=())


def report_by(target: Target) -> str:
    return cast(str, getattr(target, "report_by", None) or "unit")


def due_date(target: Target, year: int) -> date:
    """The day by which `year`'s figure of `target` is due (report_due of the next year)."""
    month, day = (int(x) for x in (getattr(target, "report_due", None)
                                   or DEFAULT_REPORT_DUE).split("-"))
    return date(year + 1, month, day)


def reporters(target: Target, plan_unit: str, children: dict[str, list[str]]) -> list[str]:
    """The units that report `target`: its unit, or each direct child of it (`children`:
    unit -> its direct children, from `dim_unit`)."""
    unit = target.unit or plan_unit
    if report_by(target) == "children":
        return sorted(children.get(unit, ()))
    return [unit]


def counting(revisions: Iterable[Revision], as_of: date) -> Revision | None:
    """The revision that counts as of `as_of` among one (plan, target, unit, year)'s: signed
    and covering up to `as_of`; verified over self-reported, then the latest `data_to`, the
    latest `approved_at`, the file taken last, the lower row."""
    eligible = [r for r in revisions if r.data_to <= as_of and r.approved_at <= as_of]
    if not eligible:
        return None
    return min(eligible, key=lambda r: (r.basis != VERIFIED, -r.data_to.toordinal(),
                                        -r.approved_at.toordinal(), -r.taken_seq,
                                        r.row_number))


def target_figure(by_unit: dict[str, Revision], expected: list[str], *,
                  summed: bool) -> Figure | None:
    """The target's figure from each expected unit's counting revision (`by_unit`); None
    when no expected unit has one. `summed` (report_by children): counts summed, or the mean
    of the children's values when any child gave only a percent (`percent_only`)."""
    counted = tuple(by_unit[u] for u in expected if u in by_unit)
    if not counted:
        return None
    docs = list(dict.fromkeys(r.source_doc for r in counted))
    common: dict[str, Any] = dict(
        basis=VERIFIED if all(r.basis == VERIFIED for r in counted) else SELF_REPORTED,
        source_doc="; ".join(docs)[:4000],
        data_to=max(r.data_to for r in counted),
        reported_units=len(counted),
        expected_units=len(expected),
        is_sample=any(r.is_sample for r in counted),
        counted=counted,
    )
    if not summed:
        (only,) = counted
        return Figure(only.numerator, only.denominator, only.value,
                      percent_only=only.numerator is None, **common)
    if any(r.numerator is None for r in counted):
        values = [r.value for r in counted if r.value is not None]
        mean = sum(values, Fraction(0)) / len(values) if values else None
        return Figure(None, None, mean, percent_only=True, **common)
    numerator = sum(cast(int, r.numerator) for r in counted)
    denominator = sum(cast(int, r.denominator) for r in counted)
    value = Fraction(100 * numerator, denominator) if denominator else None
    return Figure(numerator, denominator, value, percent_only=False, **common)


def _passes(value: Fraction, comparator: str, threshold: Any) -> bool:
    if isinstance(threshold, float):
        threshold = Decimal(repr(threshold))
    bound = Fraction(threshold)
    if comparator == ">=":
        return value >= bound
    if comparator == ">":
        return value > bound
    raise ValueError(f"unknown comparator {comparator!r}")


def reported_status(figure: Figure | None, comparator: str, threshold: Any, year: int,
                    as_of: date, due: date) -> str:
    """met / missed once the year is over and a figure to 31 December exists; on_track /
    at_risk for any other figure; no_data for a figure of 0/0; with no figure,
    awaiting_report after `due`, else not_due."""
    if figure is None:
        return AWAITING_REPORT if as_of > due else NOT_DUE
    if figure.value is None:
        return "no_data"
    ok = _passes(figure.value, comparator, threshold)
    year_end = date(year, 12, 31)
    if as_of >= year_end and figure.data_to == year_end:
        return "met" if ok else "missed"
    return "on_track" if ok else "at_risk"


def rounded_pct(value: Fraction | None) -> Decimal | None:
    """round(value, 2), half away from zero (as egov.compute.indicators.snapshots.value_pct)."""
    if value is None:
        return None
    from egov.compute.indicators.snapshots import value_pct

    return value_pct(value.numerator, 100 * value.denominator)


# ----------------------------------------------------------------------------- warehouse reads

def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def revision_from_row(r: Mapping[Any, Any]) -> Revision:
    return Revision(
        unit_code=r["unit_code"], data_to=_as_date(r["data_to"]),
        approved_at=_as_date(r["approved_at"]), basis=r["basis"],
        numerator=r["numerator"], denominator=r["denominator"],
        value_pct=None if r["value_pct"] is None else Decimal(str(r["value_pct"])),
        source_doc=r["source_doc"], taken_seq=r["taken_seq"], row_number=r["row_number"],
        is_sample=bool(r["is_sample"]), file_name=r["file_name"])


def plan_revisions(conn: Connection, plan_code: str,
                   as_of: date) -> dict[tuple[Any, ...], list[Revision]]:
    """(target, year, unit) -> the revisions of `plan_code` signed and covering up to `as_of`."""
    from sqlalchemy import Date, literal, select

    from egov.warehouse.schema import fct_reported_figure as f

    rows = conn.execute(select(f).where(
        f.c.plan_code == plan_code, f.c.data_to <= literal(as_of, Date),
        f.c.approved_at <= literal(as_of, Date))).mappings()
    out: dict[tuple[Any, ...], list[Revision]] = {}
    for r in rows:
        out.setdefault((r["target_code"], r["year"], r["unit_code"]), []).append(
            revision_from_row(r))
    return out


def child_units(conn: Connection, parents: Iterable[str]) -> dict[str, list[str]]:
    """unit -> its direct children in `dim_unit`."""
    from sqlalchemy import select

    from egov.warehouse.schema import dim_unit

    parents = sorted(set(parents))
    if not parents:
        return {}
    out: dict[str, list[str]] = {p: [] for p in parents}
    rows = conn.execute(select(dim_unit.c.unit_code, dim_unit.c.parent_code)
                        .where(dim_unit.c.parent_code.in_(parents)))
    for code, parent in rows:
        out[parent].append(code)
    return {k: sorted(v) for k, v in out.items()}


def plan_children(conn: Connection, plan: Plan) -> dict[str, list[str]]:
    return child_units(conn, [t.unit or plan.unit for t in plan.targets
                              if report_by(t) == "children"])


def target_year_figure(revisions: dict[tuple[Any, ...], list[Revision]], target: Target,
                       year: int,
                       expected: list[str], as_of: date) -> Figure | None:
    by_unit = {}
    for unit in expected:
        chosen = counting(revisions.get((target.code, year, unit), ()), as_of)
        if chosen is not None:
            by_unit[unit] = chosen
    return target_figure(by_unit, expected, summed=report_by(target) == "children")


def known_from(plans: Iterable[Plan], children: dict[str, list[str]]) -> Known:
    """What the plans allow, as the keys the suite of rows checks (egov.quality.reported)."""
    p: set[str] = set()
    t: set[str] = set()
    ty: set[str] = set()
    r: set[str] = set()
    for plan in plans:
        p.add(plan.code)
        for target in plan.targets:
            key = f"{plan.code}|{target.code}"
            t.add(key)
            ty.update(f"{key}|{year}" for year in target.thresholds)
            r.update(f"{key}|{unit}" for unit in reporters(target, plan.unit, children))
    return Known(frozenset(p), frozenset(t), frozenset(ty), frozenset(r))
