"""Biểu số 06/VPCP/KSTT exported from mart_form06: a CSV per portal (every row, long format)
and an XLSX workbook per portal and period laid out like the official form, one sheet per
unit (the unit tree in order, province first).

Layout of a sheet (Circular 01/2020/TT-VPCP, "Tình hình, kết quả giải quyết TTHC"): the form's
heading, the reporting period (cut at the as-of day), the reporting unit, then the table:
STT | Lĩnh vực giải quyết | Số hồ sơ nhận giải quyết: Tổng số (1), trong đó Số kỳ trước chuyển
qua (2), Số mới tiếp nhận trực tuyến (3), Số mới tiếp nhận trực tiếp và qua dịch vụ bưu chính
(4) | Kết quả giải quyết: Số hồ sơ đã giải quyết: Tổng số (5), Trả trước hạn (6), Trả đúng thời
hạn (7), Trả quá hạn (8); Số hồ sơ đang giải quyết: Tổng số (9), Chưa đến hạn (10), Quá hạn
(11) — the official numbering — then "Số hồ sơ rút, dừng xử lý" outside it, marked (*): the
form has no such column, and without it a row would not add up when records are withdrawn
or stopped: (1) = (5) + (9) + (*) holds on every row. The total row first, then one row per
field. Each sheet prints on A4 landscape, one page wide, its header rows repeated, with a
date and signature block; an index sheet ("Mục lục") lists the units and their sheets.
Field and unit names are written in one spelling (Unicode NFC, whitespace collapsed).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from egov.cells import csv_value, xlsx_texts_only
from egov.serve.reports.labels import LEVEL_VI
from egov.warehouse.schema import FORM06_COUNTS

if TYPE_CHECKING:
    from collections.abc import Callable

    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet
    from sqlalchemy import Connection

FORM_CODE = "Biểu số 06/VPCP/KSTT"
FORM_BASIS = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP ngày 21/10/2020 của Văn phòng Chính phủ"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
UNKNOWN_FIELD = "(Không xác định lĩnh vực)"

# (column letter, header of the lowest header row, column number, value of a row): the
# official columns (1)..(11) of the form, then the withdrawn / stopped records, which the
# form has no column for, outside its numbering (without them a row would not add up).
COLUMNS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], int]], ...] = (
    ("C", "Tổng số", "(1)", lambda r: r["received_online"] + r["received_in_person_or_postal"]
     + r["carried_over"]),
    ("D", "Số kỳ trước chuyển qua", "(2)", lambda r: r["carried_over"]),
    ("E", "Số mới tiếp nhận trực tuyến", "(3)", lambda r: r["received_online"]),
    ("F", "Số mới tiếp nhận trực tiếp và qua dịch vụ bưu chính", "(4)",
     lambda r: r["received_in_person_or_postal"]),
    ("G", "Tổng số", "(5)", lambda r: r["resolved_early"] + r["resolved_on_time"]
     + r["resolved_late"]),
    ("H", "Trả trước hạn", "(6)", lambda r: r["resolved_early"]),
    ("I", "Trả đúng thời hạn", "(7)", lambda r: r["resolved_on_time"]),
    ("J", "Trả quá hạn", "(8)", lambda r: r["resolved_late"]),
    ("K", "Tổng số", "(9)", lambda r: r["open_within_deadline"] + r["open_overdue"]),
    ("L", "Chưa đến hạn", "(10)", lambda r: r["open_within_deadline"]),
    ("M", "Quá hạn", "(11)", lambda r: r["open_overdue"]),
    ("N", "Số hồ sơ rút, dừng xử lý (ngoài mẫu)", "(*)", lambda r: r["withdrawn_or_stopped"]),
)
INDEX_SHEET = "Mục lục"
COUNT_FORMAT = "#,##0"  # thousands separated (Excel shows them in the reader's locale)


def clean_name(text: str | None) -> str | None:
    """One spelling of a name: Unicode NFC, whitespace collapsed, trimmed."""
    import unicodedata

    if text is None:
        return None
    return " ".join(unicodedata.normalize("NFC", text).split()) or None


CSV_COLUMNS = ("as_of_date", "portal_code", "unit_code", "unit_name", "unit_level",
               "period_type", "period_start", "period_end", "field_code", "field_name",
               *FORM06_COUNTS)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def field_names(conn: Connection) -> dict[tuple[str, str], str]:
    """{(portal, field code): its one spelling}: of the names the records carry for the code
    (portals send the same field in several spellings: spaces, case, NFD, no diacritics),
    the most frequent once cleaned (`clean_name`); ties go to the smallest."""
    from collections import Counter

    from sqlalchemy import func, select

    from egov.warehouse.schema import fct_dossier as f

    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    stmt = (select(f.c.portal_code, f.c.field_code, f.c.field_name, func.count())
            .where(f.c.field_code.is_not(None), f.c.field_name.is_not(None))
            .group_by(f.c.portal_code, f.c.field_code, f.c.field_name))
    for portal, code, name, n in conn.execute(stmt):
        cleaned = clean_name(name)
        if cleaned:
            counts[(portal, code)][cleaned] += n
    return {key: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for key, c in counts.items()}


def read_form06(conn: Connection, as_of: date) -> list[dict[str, Any]]:
    """Every mart_form06 row of `as_of`, with the unit's name, level and parent; each field
    under its one spelling (`field_names`)."""
    from sqlalchemy import Date, literal, select

    from egov.warehouse.schema import dim_unit as u
    from egov.warehouse.schema import mart_form06 as f

    stmt = (select(f, u.c.unit_name, u.c.unit_level, u.c.parent_code)
            .select_from(f.outerjoin(u, u.c.unit_code == f.c.unit_code))
            .where(f.c.as_of_date == literal(as_of, Date)))
    names = field_names(conn)
    rows = []
    for r in conn.execute(stmt).mappings():
        row = dict(r)
        for key in ("as_of_date", "period_start", "period_end"):
            row[key] = _day(row[key])
        row["field_name"] = names.get((row["portal_code"], row["field_code"])) or clean_name(
            row.get("field_name"))
        row["unit_name"] = clean_name(row.get("unit_name"))
        rows.append(row)
    return rows


def unit_order(units: dict[str, str | None]) -> list[str]:
    """Units depth first from the roots (a parent before its children), codes ascending."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for code, parent in units.items():
        children[parent if parent in units and parent != code else None].append(code)
    out: list[str] = []
    stack = sorted(children[None], reverse=True)
    seen: set[str] = set()
    while stack:
        code = stack.pop()
        if code in seen:
            continue
        seen.add(code)
        out.append(code)
        stack.extend(sorted(children.get(code, []), reverse=True))
    out += sorted(set(units) - seen)  # cycles: still listed
    return out


def period_label(period_type: str, start: date) -> str:
    if period_type == "quarter":
        return f"Quý {ROMAN[(start.month - 1) // 3 + 1]} năm {start.year}"
    if period_type == "year":
        return f"Năm {start.year}"
    return f"{period_type} {start.isoformat()}"


def period_slug(period_type: str, start: date) -> str:
    if period_type == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _vn_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def sheet_title(code: str, used: set[str]) -> str:
    """An Excel sheet name (≤ 31 characters, none of []:*?/\\) from a unit code, unique."""
    base = re.sub(r"[\[\]:*?/\\']", "_", code).strip() or "unit"
    base = base[:31]
    title, n = base, 1
    while title.lower() in used:
        n += 1
        suffix = f"~{n}"
        title = base[: 31 - len(suffix)] + suffix
    used.add(title.lower())
    return title


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """Every row in long format, UTF-8 with a BOM (spreadsheets then read Vietnamese right)."""
    ordered = sorted(rows, key=lambda r: (r["unit_code"], r["period_type"],
                                          r["period_start"], r["field_code"] is not None,
                                          r["field_code"] or ""))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for r in ordered:
            r = {**r, "field_name": clean_name(r.get("field_name")),
                 "unit_name": clean_name(r.get("unit_name"))}
            writer.writerow([csv_value(r.get(c)) for c in CSV_COLUMNS])
    return path


def _print_setup(ws: Worksheet, header_rows: str) -> None:
    """A4 landscape, one page wide, the header rows repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    cast("PageSetupProperties", ws.sheet_properties.pageSetUpPr).fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = header_rows
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4


def _signature(ws: Worksheet, line: int, as_of: date) -> int:
    """The date and signature block under the table; returns the next free row."""
    from openpyxl.styles import Alignment, Font

    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.merge_cells(f"J{line}:N{line}")
    ws[f"J{line}"] = "……………, ngày …… tháng …… năm ………"
    ws[f"J{line}"].font = Font(italic=True)
    ws[f"J{line}"].alignment = centre
    ws.merge_cells(f"A{line + 1}:E{line + 1}")
    ws[f"A{line + 1}"] = "NGƯỜI LẬP BIỂU"
    ws.merge_cells(f"J{line + 1}:N{line + 1}")
    ws[f"J{line + 1}"] = "THỦ TRƯỞNG ĐƠN VỊ"
    for cell in (f"A{line + 1}", f"J{line + 1}"):
        ws[cell].font = Font(bold=True)
        ws[cell].alignment = centre
    ws.merge_cells(f"A{line + 2}:E{line + 2}")
    ws[f"A{line + 2}"] = "(Ký, ghi rõ họ tên)"
    ws.merge_cells(f"J{line + 2}:N{line + 2}")
    ws[f"J{line + 2}"] = "(Ký, ghi rõ họ tên, đóng dấu)"
    for cell in (f"A{line + 2}", f"J{line + 2}"):
        ws[cell].font = Font(italic=True, size=9)
        ws[cell].alignment = centre
    return line + 7


def write_xlsx(rows: list[dict[str, Any]], path: Path, *, as_of: date, portal_name: str = "") -> Path:
    """One workbook for one portal and one period: an index sheet, then a sheet per unit,
    like the form, ready to print (A4 landscape, one page wide, header rows repeated) and
    sign (date and signature block)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    parents: dict[str, str | None] = {}
    for r in rows:
        by_unit[r["unit_code"]].append(r)
        parents[r["unit_code"]] = r.get("parent_code")
    wb = Workbook()
    index = cast("Worksheet", wb.active)
    index.title = INDEX_SHEET
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)
    used: set[str] = {INDEX_SHEET.lower()}
    listed = []
    value: Callable[[dict[str, Any]], int] | int | str | None  # a column's, then a cell's
    for unit in unit_order(parents):
        unit_rows = by_unit[unit]
        first = unit_rows[0]
        title = sheet_title(unit, used)
        ws = wb.create_sheet(title)
        name = clean_name(first.get("unit_name")) or unit
        start, end = first["period_start"], min(first["period_end"], as_of)
        ws["A1"] = FORM_CODE
        ws["A1"].font = bold
        ws["A2"] = FORM_BASIS
        ws["A2"].font = Font(italic=True, size=9)
        ws.merge_cells("A4:N4")
        ws["A4"] = FORM_TITLE
        ws["A4"].font = Font(bold=True, size=13)
        ws["A4"].alignment = centre
        ws.merge_cells("A5:N5")
        ws["A5"] = (f"Kỳ báo cáo: {period_label(first['period_type'], start)} "
                    f"(từ ngày {_vn_date(start)} đến ngày {_vn_date(end)})")
        ws["A5"].alignment = centre
        ws["A6"] = f"Đơn vị báo cáo: {name} (mã {unit})"
        if portal_name:
            ws["A7"] = f"Nguồn số liệu: {portal_name}"
        ws["K7"] = "Đơn vị tính: Số hồ sơ TTHC"
        header = 9
        merges = [
            (f"A{header}:A{header + 2}", "STT"),
            (f"B{header}:B{header + 2}", "Lĩnh vực giải quyết"),
            (f"C{header}:F{header}", "Số hồ sơ nhận giải quyết"),
            (f"G{header}:M{header}", "Kết quả giải quyết"),
            (f"N{header}:N{header + 2}", "Số hồ sơ rút, dừng xử lý (ngoài mẫu)"),
            (f"C{header + 1}:C{header + 2}", "Tổng số"),
            (f"D{header + 1}:F{header + 1}", "Trong đó"),
            (f"G{header + 1}:J{header + 1}", "Số hồ sơ đã giải quyết"),
            (f"K{header + 1}:M{header + 1}", "Số hồ sơ đang giải quyết"),
        ]
        for cells, text in merges:
            ws.merge_cells(cells)
            ws[cells.split(":")[0]] = text
        for letter, text, _, _ in COLUMNS:
            if letter not in "CN":  # merged from the rows above
                ws[f"{letter}{header + 2}"] = text
        ws[f"A{header + 3}"], ws[f"B{header + 3}"] = "(A)", "(B)"
        for letter, _, number, _ in COLUMNS:
            ws[f"{letter}{header + 3}"] = number
        data_rows = sorted(unit_rows, key=lambda r: (r["field_code"] is not None,
                                                     r["field_code"] or ""))
        line = header + 4
        total = None
        for n, r in enumerate(data_rows):
            if r["field_code"] is None:
                ws[f"A{line}"], ws[f"B{line}"] = "", "Tổng cộng"
                total = COLUMNS[0][3](r)
            else:
                field_name = clean_name(r.get("field_name"))
                label = field_name or (r["field_code"] or UNKNOWN_FIELD)
                if r["field_code"] and field_name:
                    label = f"{field_name} ({r['field_code']})"
                ws[f"A{line}"], ws[f"B{line}"] = n, label
            for letter, _, _, value in COLUMNS:
                ws[f"{letter}{line}"] = value(r)
                ws[f"{letter}{line}"].number_format = COUNT_FORMAT
            if r["field_code"] is None:
                for col in "ABCDEFGHIJKLMN":
                    ws[f"{col}{line}"].font = bold
            line += 1
        for row in ws.iter_rows(min_row=header, max_row=line - 1, min_col=1, max_col=14):
            for cell in row:
                cell.border = box
                if cell.row <= header + 3:
                    cell.alignment = centre
                    cell.font = bold
        ws[f"A{line + 1}"] = ("Ghi chú: (1) = (2) + (3) + (4) = (5) + (9) + (*); "
                              "(5) = (6) + (7) + (8); (9) = (10) + (11). Cột (*) ngoài mẫu: "
                              "hồ sơ công dân rút hoặc dừng xử lý, để số liệu cân đối.")
        ws[f"A{line + 1}"].font = Font(italic=True, size=9)
        ws[f"A{line + 2}"] = f"Số liệu tính đến hết ngày {_vn_date(as_of)}."
        ws[f"A{line + 2}"].font = Font(italic=True, size=9)
        _signature(ws, line + 4, as_of)
        ws.column_dimensions["A"].width = 6
        ws.column_dimensions["B"].width = 42
        for i in range(3, 15):
            ws.column_dimensions[get_column_letter(i)].width = 13
        ws.row_dimensions[header + 2].height = 60
        ws.freeze_panes = f"C{header + 4}"
        _print_setup(ws, f"{header}:{header + 3}")
        xlsx_texts_only(ws)
        listed.append((unit, name, first.get("unit_level"), title, total))
    # The index: every unit's sheet, with its name and its total (1).
    index["A1"] = f"{FORM_CODE} — {FORM_TITLE.capitalize()}"
    index["A1"].font = bold
    if portal_name:
        index["A2"] = f"Nguồn số liệu: {portal_name}"
    index["A3"] = f"Số liệu tính đến hết ngày {_vn_date(as_of)}."
    heads = ("STT", "Mã đơn vị", "Tên đơn vị", "Cấp", "Trang tính", "Tổng số hồ sơ (1)")
    for i, text in enumerate(heads, start=1):
        cell = index.cell(row=5, column=i, value=text)
        cell.font, cell.border, cell.alignment = bold, box, centre
    for n, (unit, name, level, title, total) in enumerate(listed, start=1):
        values = (n, unit, name, LEVEL_VI.get(level or "", level or ""), title, total)
        for i, value in enumerate(values, start=1):
            cell = index.cell(row=5 + n, column=i, value=value)
            cell.border = box
        link = index.cell(row=5 + n, column=5)
        link.hyperlink = f"#'{title}'!A1"
        link.font = Font(color="0563C1", underline="single")
        index.cell(row=5 + n, column=6).number_format = COUNT_FORMAT
    for letter, width in zip("ABCDEF", (6, 18, 48, 12, 18, 16), strict=True):
        index.column_dimensions[letter].width = width
    index.freeze_panes = "A6"
    _print_setup(index, "5:5")
    xlsx_texts_only(index)
    if not listed:
        wb.create_sheet("empty")
    wb.save(path)
    return path


def export_form06(conn: Connection, as_of: date, out_dir: Path,
                  portal_names: dict[str, str] | None = None) -> list[Path]:
    """Write the CSV and XLSX files of `as_of` into `out_dir`; return their paths."""
    rows = read_form06(conn, as_of)
    by_portal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_portal[r["portal_code"]].append(r)
    written = []
    for portal in sorted(by_portal):
        portal_rows = by_portal[portal]
        written.append(write_csv(portal_rows, out_dir / f"bieu06_{portal}.csv"))
        by_period: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for r in portal_rows:
            by_period[(r["period_type"], r["period_start"])].append(r)
        for (period_type, start), period_rows in sorted(
                by_period.items(), key=lambda kv: (kv[0][0] != "quarter", kv[0][1])):
            path = out_dir / f"bieu06_{portal}_{period_slug(period_type, start)}.xlsx"
            written.append(write_xlsx(period_rows, path, as_of=as_of,
                                      portal_name=(portal_names or {}).get(portal, "")))
    return written
