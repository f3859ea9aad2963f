"""Issue 20.1: portal text that a spreadsheet would read as a formula is stored as text in
every file written for people (Biểu 06 CSV and XLSX); numbers stay numbers."""

from __future__ import annotations

import csv
from datetime import date

from egov.serve.reports.form06_export import CSV_COLUMNS, clean_name, write_csv, write_xlsx
from egov.warehouse.schema import FORM06_COUNTS

HOSTILE = ['=HYPERLINK("http://evil.example/x","Bấm vào đây")', "cmd|' /C calc'!A0",
           "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def rows():
    out = []
    for i, text in enumerate(HOSTILE):
        for field in (None, f"F{i}"):
            r = {"as_of_date": date(2025, 5, 31), "portal_code": "tay-ninh",
                 "unit_code": text if i % 2 else f"U{i}", "unit_name": text,
                 "unit_level": "province", "parent_code": None, "period_type": "quarter",
                 "period_start": date(2025, 4, 1), "period_end": date(2025, 6, 30),
                 "field_code": None if field is None else text, "field_name": text}
            r.update({c: n for n, c in enumerate(FORM06_COUNTS)})
            out.append(r)
    return out


def test_csv_cells_starting_like_a_formula_are_quoted_text(tmp_path):
    path = write_csv(rows(), tmp_path / "b.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == 2 * len(HOSTILE)
    for r in got:
        for c in ("unit_code", "unit_name", "field_code", "field_name"):
            v = r[c]
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), (c, v)
            if v.startswith("'"):
                assert v[1:] in HOSTILE or v[1:] in {clean_name(t) for t in HOSTILE}
        assert [int(r[c]) for c in FORM06_COUNTS] == list(range(len(FORM06_COUNTS)))
    # Names are written in one spelling (whitespace trimmed, issue 19), then made safe.
    names = {clean_name(t) for t in HOSTILE}
    assert {r["unit_name"] for r in got} == {"'" + t if t[0] in "=+-@\t\r" else t
                                            for t in names}
    assert set(CSV_COLUMNS) == set(got[0])


def test_xlsx_never_holds_a_formula(tmp_path):
    from openpyxl import load_workbook

    path = write_xlsx(rows(), tmp_path / "b.xlsx", as_of=date(2025, 5, 31),
                      portal_name="=1+1")
    wb = load_workbook(path)
    texts, numbers = set(), 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
                elif isinstance(cell.value, int):
                    numbers += 1
    # the hostile labels are there, as text; the counts are numbers
    assert any(t.startswith("=HYPERLINK(") for t in texts)
    assert "+1+1 (+1+1)" in texts and "@SUM(A1) (@SUM(A1))" in texts
    assert numbers > 0
    # nothing in the file's XML is a formula element
    import zipfile

    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)
