"""What the Targets page reads of the reported figures: every revision of a target-year with
its provenance and whether it counts, the units still to report, the receipts."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select, text

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from egov.compute.plans import Plan, Target

BASIS_VI = {"measured": "Đo từ dữ liệu cổng", "self_reported": "Đơn vị tự báo cáo",
            "verified": "Đã thẩm định"}
RECEIPT_STATUS_VI = {"accepted": "Đã nhận", "rejected": "Bị từ chối",
                     "duplicate": "Trùng, không nhận lại"}


def has_reported(conn: Connection) -> bool:
    return bool(inspect(conn).has_table("fct_reported_figure"))


def revisions(conn: Connection, plan_code: str, target_code: str,
              year: int) -> list[dict[str, Any]]:
    """Every revision of the target-year (newest file first), `counts` = 1 for the one that
    counts as of the plan's newest evaluated day (view bi_reported_figures)."""
    rows = conn.execute(text(
        "SELECT * FROM bi_reported_figures WHERE plan_code = :p AND target_code = :t "
        "AND year = :y ORDER BY unit_code, taken_seq DESC, row_number"),
        {"p": plan_code, "t": target_code, "y": year}).mappings()
    return [dict(r) for r in rows]


def still_to_report(conn: Connection, plan: Plan, target: Target, year: int,
                    as_of: date) -> list[dict[str, Any]]:
    """The reporting units of the target without a figure counting as of `as_of`."""
    from egov.compute.reported import counting, plan_children, plan_revisions, reporters
    from egov.warehouse.schema import dim_unit

    by_key = plan_revisions(conn, plan.code, as_of)
    units = reporters(target, plan.unit, plan_children(conn, plan))
    names = dict(conn.execute(select(dim_unit.c.unit_code, dim_unit.c.unit_name)
                              .where(dim_unit.c.unit_code.in_(units or [""]))).all())
    return [{"unit_code": u, "unit_name": names.get(u)} for u in units
            if counting(by_key.get((target.code, year, u), ()), as_of) is None]


def find_target(plan_code: str, target_code: str) -> tuple[Plan | None, Target | None]:
    """(plan, target) of the loaded plan files, or (None, None)."""
    from egov.compute.plans import load_plans

    try:
        plans = load_plans()
    except Exception:  # noqa: BLE001 - the page still shows the marts
        return None, None
    for plan in plans:
        if plan.code == plan_code:
            for target in plan.targets:
                if target.code == target_code:
                    return plan, target
    return None, None


def receipt_dir() -> Path:
    from egov.sources.reported.client import reported_dir

    return reported_dir() / "receipts"


def recent_receipts(limit: int = 20) -> list[dict[str, Any]]:
    folder = receipt_dir()
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()
             and p.name.endswith(".receipt.csv")]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [{"name": p.name, "file": p.name[: -len(".receipt.csv")],
             "modified": p.stat().st_mtime} for p in files[:limit]]


def read_receipt(name: str) -> list[dict[str, Any]] | None:
    """The lines of receipt `name` (a plain name of the receipts folder), else None."""
    from egov.sources.reported.files import safe_name

    if not name.endswith(".receipt.csv") or len(name) > 255:
        return None
    stem = name[: -len(".receipt.csv")]
    if safe_name(stem) != stem:
        return None
    path = receipt_dir() / name
    if path.is_symlink() or not path.is_file():
        return None
    content = path.read_text(encoding="utf-8-sig", errors="replace")
    return [dict(r) for r in csv.DictReader(io.StringIO(content, newline=""))]


def measured_beside(conn: Connection, plan_code: str,
                    as_of: date) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(target, year) -> the reported figure of a measured target as of `as_of` (shown
    beside the measured one, never replacing it): value_pct, basis, source_doc."""
    from egov.compute.plans import load_plans
    from egov.compute.reported import (
        plan_children,
        plan_revisions,
        reporters,
        rounded_pct,
        target_year_figure,
    )

    try:
        plan = next((p for p in load_plans() if p.code == plan_code), None)
    except Exception:  # noqa: BLE001 - the page still shows the marts
        return {}
    if plan is None or not has_reported(conn):
        return {}
    revisions = plan_revisions(conn, plan.code, as_of)
    if not revisions:
        return {}
    children = plan_children(conn, plan)
    out = {}
    for target in plan.targets:
        if target.indicator is None:
            continue
        for year in target.thresholds:
            if year > as_of.year:
                continue
            figure = target_year_figure(revisions, target, int(year),
                                        reporters(target, plan.unit, children), as_of)
            if figure is not None:
                out[(target.code, int(year))] = {
                    "value_pct": rounded_pct(figure.value), "basis": figure.basis,
                    "source_doc": figure.source_doc, "is_sample": figure.is_sample}
    return out
