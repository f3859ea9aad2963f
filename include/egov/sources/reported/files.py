"""Reported files are hostile until read: names sanitised, size capped, only .xlsx / .csv,
zip bombs, macro-enabled workbooks and XML entity tricks refused, formulas never evaluated
(a formula cell is reported so its row is rejected), and every cell written back out
(receipts) neutralised so no spreadsheet takes it for a formula.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any, cast

from egov.sources.reported.columns import SHEET, header_key

EXTENSIONS = (".xlsx", ".csv")
MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlsb", ".xlam", ".xls")
MAX_ROWS = 10_000  # data rows of one file
MAX_COLUMNS = 60
MAX_CELL_CHARS = 2000
# A workbook's unpacked size and its entries (an XLSX is a zip archive).
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 500
MAX_RATIO = 100  # unpacked / packed per entry: more is a zip bomb


class FileRefused(Exception):
    """The whole file is refused; `str(exc)` is the reason, in Vietnamese, for the receipt."""


@dataclass
class RawRow:
    """One data row: `values` by column key (as read: str, int, float, datetime or None);
    `formulas`: the keys whose cell held a formula (never evaluated, value dropped)."""

    number: int  # the spreadsheet's row number (header: 1)
    values: dict[str, Any] = field(default_factory=dict)
    formulas: set[str] = field(default_factory=set)


def max_bytes() -> int:
    from egov.settings import number

    return cast(int, number("EGOV_REPORTED_MAX_BYTES"))


def safe_name(name: str) -> str:
    """A file name fit to store and show: its last path component, letters without
    diacritics, digits and `._-` only, no leading dot, at most 120 characters."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base.replace("đ", "d").replace("Đ", "D"))
    base = base.encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-")
    base = re.sub(r"\.{2,}", ".", base)
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 119 - len(ext)] + dot + ext) if dot and len(ext) <= 6 else base[:120]
    return base or "tep"


def extension_of(name: str) -> str:
    match = re.search(r"(\.[A-Za-z0-9]{1,8})$", str(name).strip())
    return match[1].lower() if match else ""


def check_kind(name: str) -> str:
    """The file's extension, when accepted; else FileRefused."""
    ext = extension_of(name)
    if ext in MACRO_EXTENSIONS:
        raise FileRefused(f"Tệp {ext} (có thể chứa macro hoặc định dạng cũ) không được nhận: "
                          "hãy lưu thành .xlsx hoặc .csv")
    if ext not in EXTENSIONS:
        raise FileRefused("Chỉ nhận tệp .xlsx hoặc .csv (UTF-8)")
    return ext


def check_size(size: int) -> None:
    cap = max_bytes()
    if size > cap:
        raise FileRefused(f"Tệp quá lớn ({size} byte; tối đa {cap} byte)")
    if size == 0:
        raise FileRefused("Tệp rỗng")


def _check_workbook_archive(data: bytes) -> None:
    """Refuse what openpyxl should never open: not a zip, too many entries, a zip bomb,
    macros, DTDs or entities in its XML."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused("Tệp .xlsx hỏng hoặc không phải bảng tính Excel (.xlsx)") from exc
    if len(entries) > MAX_ENTRIES:
        raise FileRefused("Tệp .xlsx có quá nhiều thành phần: không đọc")
    total = 0
    for entry in entries:
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if total > MAX_UNZIPPED_BYTES or (entry.file_size > 1024 * 1024 and ratio > MAX_RATIO):
            raise FileRefused("Tệp .xlsx bị nén bất thường (nghi là bom nén): không đọc")
        lowered = entry.filename.lower()
        if "vbaproject" in lowered or lowered.endswith((".bin", ".vba")):
            raise FileRefused("Tệp chứa macro (VBA): không nhận; hãy lưu thành .xlsx không macro")
    with archive:
        try:
            types = archive.read("[Content_Types].xml")
        except KeyError as exc:
            raise FileRefused("Tệp .xlsx hỏng (thiếu [Content_Types].xml)") from exc
        if b"macroenabled" in types.lower() or b"vbaproject" in types.lower():
            raise FileRefused("Tệp chứa macro (VBA): không nhận; hãy lưu thành .xlsx không macro")
        for entry in entries:
            if entry.filename.lower().endswith((".xml", ".rels")):
                with archive.open(entry) as handle:
                    head = handle.read(MAX_UNZIPPED_BYTES + 1)
                if len(head) > MAX_UNZIPPED_BYTES:
                    raise FileRefused("Tệp .xlsx bị nén bất thường (nghi là bom nén): không đọc")
                if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                    raise FileRefused("Tệp .xlsx chứa khai báo DTD/ENTITY: không đọc")


def _header_map(cells: list[Any]) -> dict[int, str]:
    """Column position -> key, for the recognised header cells; duplicates refused."""
    positions: dict[int, str] = {}
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells[:MAX_COLUMNS]):
        key = header_key(cell)
        if key is None:
            continue
        if key in seen:
            raise FileRefused(f"Cột [{key}] xuất hiện hai lần ở dòng tiêu đề")
        seen[key] = i
        positions[i] = key
    if not positions:
        raise FileRefused("Dòng 1 không có tiêu đề cột nào có mã trong ngoặc vuông "
                          "(ví dụ “Tử số [numerator]”): hãy dùng biểu mẫu")
    return positions


def _check_columns(keys: set[str]) -> None:
    from egov.sources.reported.columns import REQUIRED

    missing = [k for k in REQUIRED if k not in keys]
    if not ({"numerator", "denominator"} <= keys or "value_pct" in keys):
        missing.append("numerator/denominator hoặc value_pct")
    if missing:
        raise FileRefused("Thiếu cột bắt buộc: " + ", ".join(f"[{m}]" for m in missing))


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[:MAX_CELL_CHARS]
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_xlsx(data: bytes) -> list[RawRow]:
    """Rows of sheet `so_lieu` (else the first sheet), values only: a formula cell is
    reported in `RawRow.formulas`, never evaluated (nor is any cached result read)."""
    _check_workbook_archive(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                             keep_vba=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure: the file is unreadable
        raise FileRefused("Không đọc được tệp .xlsx (tệp hỏng hoặc sai định dạng)") from exc
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows()
        try:
            header = [c.value for c in next(rows)]
        except StopIteration:
            raise FileRefused("Trang tính trống") from None
        positions = _header_map(header)
        _check_columns(set(positions.values()))
        out: list[RawRow] = []
        for number, cells in enumerate(rows, start=2):
            row = RawRow(number)
            for i, key in positions.items():
                if i >= len(cells):
                    continue
                cell = cells[i]
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" or (
                        isinstance(value, str) and value.startswith("=")
                        and getattr(cell, "data_type", None) != "s"):
                    row.formulas.add(key)
                    value = None
                elif type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
                    row.formulas.add(key)
                    value = None
                row.values[key] = _bounded(value)
            if not row.formulas and all(_blank(v) for v in row.values.values()):
                continue
            out.append(row)
            if len(out) > MAX_ROWS:
                raise FileRefused(f"Tệp có hơn {MAX_ROWS} dòng số liệu")
        return out
    finally:
        book.close()


def _csv_formula(text: str) -> bool:
    """A CSV cell a spreadsheet would take for a formula (a plain signed number is not)."""
    if not text or text[0] not in "=+-@":
        return False
    return text[0] in "=@" or not re.fullmatch(r"[+-]\d+([.,]\d+)?", text.strip())


def read_csv(data: bytes) -> list[RawRow]:
    """Rows of a UTF-8 CSV (a BOM allowed) with the template's header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused("Tệp .csv không phải UTF-8: hãy lưu lại với mã hóa UTF-8") from exc
    if "\x00" in text:
        raise FileRefused("Tệp .csv chứa ký tự NUL: không phải tệp văn bản")
    try:
        sample = text[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(MAX_CELL_CHARS * 4)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused("Tệp .csv trống") from None
    except csv.Error as exc:
        raise FileRefused("Không đọc được dòng tiêu đề của tệp .csv") from exc
    positions = _header_map(header)
    _check_columns(set(positions.values()))
    out: list[RawRow] = []
    try:
        for number, cells in enumerate(reader, start=2):
            row = RawRow(number)
            for i, key in positions.items():
                value = cells[i] if i < len(cells) else None
                if isinstance(value, str) and _csv_formula(value):
                    row.formulas.add(key)
                    value = None
                row.values[key] = _bounded(value)
            if not row.formulas and all(_blank(v) for v in row.values.values()):
                continue
            out.append(row)
            if len(out) > MAX_ROWS:
                raise FileRefused(f"Tệp có hơn {MAX_ROWS} dòng số liệu")
    except csv.Error as exc:
        raise FileRefused(f"Tệp .csv sai định dạng từ dòng {reader.line_num}") from exc
    return out


def read_rows(name: str, data: bytes) -> list[RawRow]:
    """The data rows of a file; FileRefused (with the reason) when unreadable."""
    ext = check_kind(name)
    check_size(len(data))
    return read_xlsx(data) if ext == ".xlsx" else read_csv(data)


# ----------------------------------------------------------------------------- going out

