"""The columns of a reported file: key, Vietnamese header, whether required.

A column is recognised by the key in square brackets at the end of its header cell
(`Tử số [numerator]`); order does not matter; unknown columns are ignored.
"""

from __future__ import annotations

import re

SHEET = "so_lieu"
INSTRUCTIONS_SHEET = "huong_dan"

# (key, header without the key, required, width)
COLUMNS: tuple[tuple[str, str, bool, int], ...] = (
    ("plan", "Mã kế hoạch", True, 22),
    ("target", "Mã chỉ tiêu", True, 26),
    ("unit", "Mã đơn vị", True, 16),
    ("year", "Năm", True, 7),
    ("data_from", "Số liệu từ ngày", False, 14),
    ("data_to", "Số liệu đến ngày", True, 14),
    ("numerator", "Tử số", False, 10),
    ("denominator", "Mẫu số", False, 10),
    ("value_pct", "Tỷ lệ % (chỉ khi không có tử số, mẫu số)", False, 14),
    ("source_doc", "Văn bản nguồn (số, ngày)", True, 30),
    ("evidence_ref", "Minh chứng (đường dẫn, mã tệp)", False, 24),
    ("prepared_by", "Người lập (đơn vị)", False, 20),
    ("approved_by", "Người ký duyệt (chức vụ, đơn vị)", True, 24),
    ("approved_at", "Ngày ký", True, 12),
    ("basis", "Căn cứ (self_reported | verified)", True, 16),
    ("note", "Ghi chú", False, 24),
)
KEYS = tuple(c[0] for c in COLUMNS)
REQUIRED = tuple(c[0] for c in COLUMNS if c[2])
KEY_COLUMNS = ("plan", "target", "unit", "year")  # filled and locked in the template
# Shown in the template for the reader, ignored when read back (not contract keys).
INFO_COLUMNS = (("unit_name", "Tên đơn vị", 30), ("clause", "Nội dung chỉ tiêu", 50),
                ("threshold", "Mục tiêu (%)", 10))

HEADER_KEY = re.compile(r"\[([A-Za-z_]+)\]\s*$")


def header(key: str) -> str:
    for k, title, _, _ in COLUMNS:
        if k == key:
            return f"{title} [{key}]"
    for k, title, _ in INFO_COLUMNS:
        if k == key:
            return f"{title} [{key}]"
    raise KeyError(key)


def header_key(cell: object) -> str | None:
    """The key of a header cell, or None (an unknown or unmarked column)."""
    if not isinstance(cell, str):
        return None
    match = HEADER_KEY.search(cell.strip())
    if not match:
        return None
    key = match[1].lower()
    return key if key in KEYS else None

