"""The CSV of the records behind a figure: what a spreadsheet would run as a formula is
written as text; the own-records figures are the subtree's less the children's."""

from __future__ import annotations

import csv
import io
from datetime import date

from egov.serve.pages.records import csv_cell, csv_row, own_figures
from egov.serve.pages.targets_data import UnitRow


def test_cells_a_spreadsheet_would_run_are_written_as_text():
    for hostile in ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(hostile) == "'" + hostile
    assert csv_cell("Hộ tịch") == "Hộ tịch" and csv_cell(None) == ""
    assert csv_cell(date(2025, 6, 30)) == "2025-06-30" and csv_cell(12) == "12"


def test_a_record_row_round_trips_through_csv():
    row = {"dossier_code": "=cmd|' /C calc'!A0", "unit_code": "000.00.21.H52",
           "unit_name": "UBND, thành phố", "procedure_code": "1.001", "procedure_name": "@x",
           "received_date": date(2025, 1, 2), "due_date": None, "ended_date": date(2025, 1, 3),
           "channel": 2, "status": 10, "passes": 1}
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_row(row))
    [back] = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert back == ["'=cmd|' /C calc'!A0", "000.00.21.H52", "UBND, thành phố", "1.001", "'@x",
                    "2025-01-02", "", "2025-01-03", "Trực tuyến", "Đã trả kết quả", "đạt"]


def test_own_figures_are_the_subtree_less_the_children():
    kids = [UnitRow("a", None, None, False, 3, 10, None),
            UnitRow("b", None, None, False, None, None, None)]
    assert own_figures((37 + 3, 97 + 10), kids) == (37, 97)
    assert own_figures(None, kids) is None
