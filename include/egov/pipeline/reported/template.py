"""The XLSX template a unit fills in: sheet `so_lieu`, one row per (target, reporting unit)
of a plan's year, key columns filled and locked, number validation on the count columns,
an instructions sheet `huong_dan` in Vietnamese."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from egov.cells import text_cell as cell_out
from egov.sources.reported.columns import (
    COLUMNS,
    INFO_COLUMNS,
    INSTRUCTIONS_SHEET,
    KEY_COLUMNS,
    SHEET,
    header,
)

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

INSTRUCTIONS = (
    ("Biểu mẫu báo cáo số liệu chỉ tiêu cải cách hành chính (CCHC)", True),
    ("", False),
    ("1. Mỗi dòng của trang “so_lieu” là một chỉ tiêu của một đơn vị báo cáo. Các cột Mã kế "
     "hoạch, Mã chỉ tiêu, Mã đơn vị, Năm đã điền sẵn và bị khóa: không sửa, không thêm dòng "
     "cho chỉ tiêu khác.", False),
    ("2. Số liệu đến ngày [data_to]: ngày cuối cùng mà số liệu bao quát (báo cáo năm: "
     "31/12 của năm). Số liệu từ ngày [data_from]: không bắt buộc.", False),
    ("3. Tử số [numerator] và Mẫu số [denominator]: số nguyên không âm, tử số không lớn hơn "
     "mẫu số (ví dụ: 45 văn bản được ký số trên 50 văn bản). Chỉ khi nguồn không có số đếm "
     "mới điền Tỷ lệ % [value_pct] (0..100, tối đa 2 chữ số thập phân) và để trống tử số, "
     "mẫu số.", False),
    ("4. Văn bản nguồn [source_doc]: số và ngày của báo cáo chứa số liệu, ví dụ "
     "“125/BC-UBND ngày 14/12/2025”. Minh chứng [evidence_ref]: đường dẫn hoặc mã tệp "
     "minh chứng (không bắt buộc).", False),
    ("5. Người lập [prepared_by] và Người ký duyệt [approved_by]: họ tên, chức vụ, đơn vị. "
     "Người ký duyệt là lãnh đạo đơn vị ký báo cáo (với số liệu đã thẩm định: lãnh đạo cơ "
     "quan thẩm định, Sở Nội vụ). Ngày ký [approved_at]: không sau ngày gửi tệp.", False),
    ("6. Căn cứ [basis]: self_reported = đơn vị tự báo cáo; verified = đã được cơ quan tổng "
     "hợp (Sở Nội vụ) thẩm định. Số liệu đã thẩm định được ưu tiên hơn số liệu tự báo cáo.",
     False),
    ("7. Chỉ nhập giá trị, không nhập công thức: dòng có ô chứa công thức bị từ chối.", False),
    ("8. Gửi tệp .xlsx này (hoặc tệp .csv UTF-8 cùng dòng tiêu đề) cho Văn phòng/Sở Nội vụ "
     "theo đường gửi văn bản của tỉnh, hoặc tải lên trang “Chỉ tiêu CCHC”. Mỗi tệp nhận được "
     "có một biên nhận: từng dòng được nhận (accepted) hoặc bị từ chối (rejected) kèm lý do.",
     False),
    ("9. Muốn sửa số liệu đã gửi: gửi một tệp mới với dòng đã sửa (ngày ký mới). Số liệu cũ "
     "vẫn được lưu; số liệu được tính là số liệu đã thẩm định, rồi số liệu có ngày cuối kỳ "
     "muộn nhất, rồi ngày ký muộn nhất.", False),
)


def template_rows(conn, plan, year: int) -> list[dict]:
    """One row per (target without an indicator with a threshold for `year`, reporting
    unit). A measured target's figure may be reported too (a row added to a CSV), but the
    template asks units only for what the portals cannot measure."""
    from sqlalchemy import select

    from egov.compute.reported import plan_children, reporters
    from egov.warehouse.schema import dim_unit

    children = plan_children(conn, plan)
    names = dict(conn.execute(select(dim_unit.c.unit_code, dim_unit.c.unit_name)).all())
    rows = []
    for target in plan.targets:
        if year not in target.thresholds or target.indicator is not None:
            continue
        for unit in reporters(target, plan.unit, children):
            rows.append({"plan": plan.code, "target": target.code, "unit": unit, "year": year,
                         "unit_name": names.get(unit) or "", "clause": target.clause,
                         "threshold": f"{target.comparator} {target.thresholds[year]}",
                         "data_to": f"{year}-12-31", "basis": "self_reported",
                         "indicator": target.indicator})
    return rows


def write_template(rows: list[dict], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = cast("Worksheet", book.active)
    sheet.title = SHEET
    keys = [c[0] for c in COLUMNS[:4]] + [c[0] for c in INFO_COLUMNS] + \
        [c[0] for c in COLUMNS[4:]]
    widths = {c[0]: c[3] for c in COLUMNS} | {c[0]: c[2] for c in INFO_COLUMNS}
    locked_fill = PatternFill("solid", fgColor="EAEEF2")
    for col, key in enumerate(keys, start=1):
        cell = sheet.cell(row=1, column=col, value=header(key))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(col)].width = widths[key]
    fixed = set(KEY_COLUMNS) | {c[0] for c in INFO_COLUMNS}
    for r, row in enumerate(rows, start=2):
        for col, key in enumerate(keys, start=1):
            value: Any = row.get(key)
            if key == "year":
                cell = sheet.cell(row=r, column=col, value=int(value))
            else:
                cell = sheet.cell(row=r, column=col,
                                  value=None if value in (None, "") else cell_out(value))
                cell.data_type = "s"
            if key in fixed:
                cell.fill = locked_fill
            else:
                cell.protection = Protection(locked=False)
    last = max(len(rows) + 1, 2)

    def column_range(key):
        letter = get_column_letter(keys.index(key) + 1)
        return f"{letter}2:{letter}{last}"

    counts = DataValidation(type="whole", operator="between", formula1="0",
                            formula2="10000000", allow_blank=True, showErrorMessage=True,
                            errorTitle="Số không hợp lệ",
                            error="Nhập số nguyên không âm (không nhập công thức).")
    pct = DataValidation(type="decimal", operator="between", formula1="0", formula2="100",
                         allow_blank=True, showErrorMessage=True, errorTitle="Tỷ lệ không hợp lệ",
                         error="Nhập số từ 0 đến 100, tối đa 2 chữ số thập phân.")
    basis = DataValidation(type="list", formula1='"self_reported,verified"', allow_blank=False,
                           showErrorMessage=True, errorTitle="Căn cứ",
                           error="Chọn self_reported hoặc verified.")
    for validation in (counts, pct, basis):
        sheet.add_data_validation(validation)
    counts.add(column_range("numerator"))
    counts.add(column_range("denominator"))
    pct.add(column_range("value_pct"))
    basis.add(column_range("basis"))
    sheet.freeze_panes = "A2"
    sheet.protection.sheet = True  # key columns locked; the others unlocked above
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False

    notes = book.create_sheet(INSTRUCTIONS_SHEET)
    notes.column_dimensions["A"].width = 120
    for r, (text, bold) in enumerate(INSTRUCTIONS, start=1):
        cell = notes.cell(row=r, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(bold=bold)
    line = len(INSTRUCTIONS) + 2
    notes.cell(row=line, column=1, value="Các cột:").font = Font(bold=True)
    for key, title, required, _ in COLUMNS:
        line += 1
        notes.cell(row=line, column=1,
                   value=f"[{key}] {title}{' (bắt buộc)' if required else ''}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def make_template(plan_code: str, year: int, out: str | Path | None = None, *,
                  engine=None) -> Path:
    """Write the template of `plan_code`'s `year`; returns its path."""
    from egov.compute.plans import PlanError, load_plans
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    plans = {p.code: p for p in load_plans()}
    if plan_code not in plans:
        raise PlanError(f"unknown plan {plan_code!r} (known: {', '.join(sorted(plans))})")
    plan = plans[plan_code]
    own = engine is None
    engine = engine or make_engine()
    try:
        upgrade(engine)
        with engine.connect() as conn:
            rows = template_rows(conn, plan, year)
    finally:
        if own:
            engine.dispose()
    if not rows:
        raise PlanError(f"plan {plan_code}: no target for {year} (or no reporting unit of it "
                        "in the warehouse: run egov_nightly first)")
    return write_template(rows, Path(out or f"bao_cao_{plan_code}_{year}.xlsx"))
