"""Cells of files written for people (CSV, XLSX): a text that a spreadsheet would read as a
formula (starts with = + - @ tab or CR) is stored as text, never as a formula (OWASP "CSV
injection"). Numbers, dates and None are left as they are. Every writer of such files uses
these functions; nothing else decides."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_value(value: Any) -> Any:
    """A CSV field: None as '', a formula-like text behind a single quote, the rest as is."""
    if value is None:
        return ""
    if looks_like_formula(value):
        return "'" + value
    return value


def xlsx_set(ws: Worksheet, ref: str, value: Any) -> Cell:
    """Put `value` into cell `ref` of sheet `ws`; any text is stored as text (type 's')."""
    cell: Cell = ws[ref]
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if looks_like_formula(value):
            cell.quotePrefix = True  # Excel keeps it text when the cell is edited
    return cell


def xlsx_texts_only(ws: Worksheet) -> None:
    """After a sheet is filled: every text cell is text, whatever it starts with."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                xlsx_set(ws, cell.coordinate, cell.value)


def text_cell(value: Any) -> str:
    """Any value as the text of a cell people open: None empty, a date in ISO form, a
    formula-like text behind an apostrophe."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
