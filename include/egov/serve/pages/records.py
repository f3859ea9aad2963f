"""The records behind a figure of the Targets page: the records of a unit's subtree (or of
the unit alone) that an indicator counts for a year up to the as-of day, each marked passing
or not, paged; and the same as CSV. Only non-personal columns of `fct_dossier` are read."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import case, func, or_, select

from egov.cells import text_cell as csv_cell
from egov.warehouse.schema import dim_unit, fct_dossier, unit_closure

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import ColumnElement, Connection, Select

    from egov.serve.pages.targets_data import UnitRow

PAGE_SIZE = 50
CHANNEL_VI = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính công ích"}
# TrangThaiHoSo (shared/spec): the statuses a record can be in
STATUS_VI = {1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận",
             4: "Đang xử lý", 5: "Yêu cầu bổ sung", 6: "Yêu cầu thực hiện nghĩa vụ tài chính",
             7: "Công dân rút hồ sơ", 8: "Dừng xử lý", 9: "Đã xử lý xong", 10: "Đã trả kết quả"}
COLUMNS = ("dossier_code", "unit_code", "unit_name", "procedure_code", "procedure_name",
           "received_date", "due_date", "ended_date", "channel", "status", "passes")
CSV_HEADER = ("ma_ho_so", "ma_don_vi", "ten_don_vi", "ma_thu_tuc", "ten_thu_tuc",
              "ngay_tiep_nhan", "ngay_hen_tra", "ngay_ket_thuc", "kenh", "trang_thai",
              "dat_yeu_cau")


def _conditions(indicator: str, start: date, end: date) -> tuple[ColumnElement[bool], ColumnElement[bool]] | None:
    """(counted, passing) conditions of a record indicator over [start, end]; None for a
    catalogue indicator (it counts procedures, not records)."""
    from egov.compute.indicators.snapshots import RECORD_RATIOS, record_conditions

    if indicator not in RECORD_RATIOS:
        return None
    measures = record_conditions(cast("ColumnElement[date]", start), cast("ColumnElement[date]", end))
    numerator, denominator = RECORD_RATIOS[indicator]
    return (or_(*(measures[m] for m in denominator)),
            or_(*(measures[m] for m in numerator)))


def period(year: int, as_of: date) -> tuple[date, date]:
    return date(year, 1, 1), min(as_of, date(year, 12, 31))


def _query(unit_code: str, indicator: str, year: int, as_of: date, *, own: bool,
           only: str | None) -> Select[Any] | None:
    start, end = period(year, as_of)
    found = _conditions(indicator, start, end)
    if found is None:
        return None
    counted, passing = found
    f, u = fct_dossier.c, dim_unit.c
    passes = case((passing, 1), else_=0).label("passes")
    stmt = (select(f.dossier_code, f.unit_code, u.unit_name, f.procedure_code,
                   f.procedure_name, f.received_date, f.due_date, f.ended_date, f.channel,
                   f.status, passes)
            .select_from(fct_dossier.outerjoin(dim_unit, u.unit_code == f.unit_code))
            .where(counted))
    if own:
        stmt = stmt.where(f.unit_code == unit_code)
    else:
        closure = unit_closure.c
        stmt = stmt.where(f.unit_code.in_(select(closure.descendant_code).where(
            closure.ancestor_code == unit_code)))
    if only == "pass":
        stmt = stmt.where(passing)
    elif only == "fail":
        stmt = stmt.where(~passing)
    return stmt


def record_page(conn: Connection, unit_code: str, indicator: str, year: int, as_of: date, *,
                own: bool = False, only: str | None = None, page: int = 1,
                size: int = PAGE_SIZE) -> dict[str, Any] | None:
    """{"rows", "total", "passing", "page", "pages"}; None for a catalogue indicator.
    Failing records first (those that pull the figure down), then by date and code."""
    stmt = _query(unit_code, indicator, year, as_of, own=own, only=only)
    if stmt is None:
        return None
    sub = stmt.subquery()
    total, passing = conn.execute(select(func.count(), func.coalesce(func.sum(sub.c.passes), 0))
                                  .select_from(sub)).one()
    pages = max(1, -(-int(total) // size))
    page = min(max(page, 1), pages)
    rows = conn.execute(stmt.order_by("passes", fct_dossier.c.received_date,
                                      fct_dossier.c.dossier_code)
                        .limit(size).offset((page - 1) * size)).mappings().all()
    return {"rows": [dict(r) for r in rows], "total": int(total), "passing": int(passing),
            "page": page, "pages": pages, "size": size}


def all_records(conn: Connection, unit_code: str, indicator: str, year: int, as_of: date, *,
                own: bool = False, only: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record of the figure (for the CSV), in the page's order, streamed."""
    stmt = _query(unit_code, indicator, year, as_of, own=own, only=only)
    if stmt is None:
        return
    result = conn.execution_options(stream_results=True).execute(
        stmt.order_by("passes", fct_dossier.c.received_date, fct_dossier.c.dossier_code))
    for row in result.mappings():
        yield dict(row)


def csv_row(row: dict[str, Any]) -> list[str]:
    out = []
    for name in COLUMNS:
        value: Any = row.get(name)
        if name == "channel":
            value = CHANNEL_VI.get(value, value)
        elif name == "status":
            value = STATUS_VI.get(value, value)
        elif name == "passes":
            value = "đạt" if value else "không đạt"
        out.append(csv_cell(value))
    return out


def own_figures(unit: tuple[int, int] | None, children: list[UnitRow]) -> tuple[int, int] | None:
    """(numerator, denominator) of the unit's own records: its subtree's figures less its
    children's (a tree: the subtree is the unit plus its children's disjoint subtrees)."""
    if unit is None:
        return None
    num = unit[0] - sum(c.numerator or 0 for c in children)
    den = unit[1] - sum(c.denominator or 0 for c in children)
    return num, den
