"""The day's reports: the HTML target report (self-contained, escaped, the warehouse's figures)
and the Biểu 06 CSV / XLSX files (one sheet per unit, laid out like the form), under
EGOV_REPORTS_DIR with a `latest` pointer that only moves forward."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from egov.compute.recompute import recompute
from egov.serve.reports.form06_export import sheet_title, unit_order
from egov.serve.reports.labels import pct_vi
from egov.serve.reports.publish import publish, read_latest
from egov.warehouse.schema import FORM06_COUNTS, dim_unit, mart_form06, mart_target_evaluation
from tests.test_recompute import PORTAL, load

DAYS = [date(2025, 5, 29), date(2025, 5, 30), date(2025, 5, 31)]
AS_OF = DAYS[-1]


@pytest.fixture(scope="module")
def world():
    from egov.simulator.world import build_world

    return build_world(seed=3, scale=100, clock=datetime(2025, 6, 30, 20, 0))


@pytest.fixture
def filled(warehouse, world):
    load(warehouse, world)
    recompute(DAYS, engine=warehouse, run_id="rc")
    return warehouse


class Page(HTMLParser):
    """Tags, attributes and text of a page, for assertions."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[dict] = []
        self._row = None
        self._cells: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-target" in attrs:
            self._row = attrs
            self._cells = []
        elif tag == "td" and self._row is not None:
            self._cells.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append({**self._row, "cells": self._cells})
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._cells:
            self._cells[-1] += data


def evaluations(engine, as_of) -> dict:
    t = mart_target_evaluation.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mart_target_evaluation).where(t.as_of_date == as_of)
                            ).mappings().all()
    return {(r["plan_code"], r["target_code"], r["year"]): dict(r) for r in rows}


def test_html_report_shows_the_warehouse_figures(filled, tmp_path):
    result = publish(AS_OF, engine=filled, root=tmp_path / "reports")
    html = (Path(result["dir"]) / "targets.html").read_text(encoding="utf-8")
    page = Page(html)
    want = evaluations(filled, AS_OF)
    assert want and len(page.rows) == len(want)
    measured = 0
    for row in page.rows:
        r = want[(row["data-plan"], row["data-target"], int(row["data-year"]))]
        assert row["data-status"] == r["status"]
        value_cell = row["cells"][4]
        assert value_cell == pct_vi(r["value_pct"])
        if r["denominator"] is not None:
            assert row["cells"][5] == f"{r['numerator']} / {r['denominator']}"
        if r["outlook"]:
            assert pct_vi(r["needed_share_pct"]) in row["cells"][7]
        measured += r["indicator_code"] is not None
    assert any(r["outlook"] for r in want.values()), "2025 is running on 31 May"
    assert sum(1 for tag, _ in page.tags if tag == "svg") == measured
    # self-contained: no script, no external resource, a CSP that forbids loading any
    lowered = html.lower()
    assert "<script" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert not [a for t, a in page.tags for k, v in a.items()
                if k in ("src", "href") and re.match(r"^(https?:)?//", v or "")]
    csp = [a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]
    # links to the Biểu 06 files next to it, all of which exist
    links = [a["href"] for t, a in page.tags if t == "a"]
    assert links and all((Path(result["dir"]) / link).is_file() for link in links)


def test_report_text_is_escaped(warehouse, tmp_path):
    from egov.serve.reports.html_report import render_report

    evil = '<script>alert("x")</script>'
    row = {"as_of_date": AS_OF, "plan_code": "p<1>", "target_code": "t&1", "unit_code": "U",
           "indicator_code": None, "year": 2025, "comparator": ">=",
           "threshold_pct": Decimal("90"), "status": "not_measured", "clause": evil,
           "portal_code": "x", "plan_title": evil}
    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_target_evaluation), [row])
    with warehouse.connect() as conn:
        html = render_report(conn, AS_OF)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    page = Page(html)
    assert page.rows[0]["data-plan"] == "p<1>" and page.rows[0]["data-target"] == "t&1"


def test_form06_csv_and_xlsx(filled, tmp_path):
    from openpyxl import load_workbook

    result = publish(AS_OF, engine=filled, root=tmp_path / "reports")
    folder = Path(result["dir"])
    assert result["files"] == ["targets.html", f"bieu06_{PORTAL}.csv",
                               f"bieu06_{PORTAL}_2025-Q2.xlsx", f"bieu06_{PORTAL}_2025.xlsx"]
    f = mart_form06.c
    with filled.connect() as conn:
        mart = conn.execute(sa.select(mart_form06).where(f.as_of_date == AS_OF)).mappings().all()
        parents = dict(conn.execute(sa.select(dim_unit.c.unit_code, dim_unit.c.parent_code)
                                    .where(dim_unit.c.portal_code == PORTAL)).all())
    # CSV: every row, UTF-8 with a BOM, the counts as in the mart
    raw = (folder / f"bieu06_{PORTAL}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (folder / f"bieu06_{PORTAL}.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(mart)
    key = lambda r: (r["unit_code"], r["period_type"], r["field_code"] or "")  # noqa: E731
    want = {key(r): tuple(r[c] for c in FORM06_COUNTS) for r in mart}
    assert {key(r): tuple(int(r[c]) for c in FORM06_COUNTS) for r in rows} == want
    assert {r["unit_name"] for r in rows} >= {"UBND tỉnh Tây Ninh"}
    # XLSX: one sheet per unit, the tree in order, the form's columns
    quarter = [r for r in mart if r["period_type"] == "quarter"]
    wb = load_workbook(folder / f"bieu06_{PORTAL}_2025-Q2.xlsx")
    assert wb.sheetnames[0] == "Mục lục"  # the index, then a sheet per unit
    assert len(wb.sheetnames) - 1 == len(parents) == len({r["unit_code"] for r in quarter})
    assert wb.sheetnames[1] == "000.00.00.H52"
    assert wb.sheetnames[1:] == [sheet_title(u, set()) for u in unit_order(parents)]
    ws = wb["000.00.00.H52"]
    assert ws["A1"].value == "Biểu số 06/VPCP/KSTT"
    assert "01/2020/TT-VPCP" in ws["A2"].value
    assert ws["A5"].value == "Kỳ báo cáo: Quý II năm 2025 (từ ngày 01/04/2025 đến ngày 31/05/2025)"
    assert (ws["C9"].value, ws["G9"].value) == ("Số hồ sơ nhận giải quyết", "Kết quả giải quyết")
    assert [ws[f"{c}11"].value for c in "DEFHIJLM"] == [
        "Số kỳ trước chuyển qua", "Số mới tiếp nhận trực tuyến",
        "Số mới tiếp nhận trực tiếp và qua dịch vụ bưu chính", "Trả trước hạn",
        "Trả đúng thời hạn", "Trả quá hạn", "Chưa đến hạn", "Quá hạn"]
    # The official numbering (1)..(11); the withdrawn column outside it.
    assert [ws[f"{c}12"].value for c in "CDEFGHIJKLM"] == [f"({n})" for n in range(1, 12)]
    assert (ws["N9"].value, ws["N12"].value) == ("Số hồ sơ rút, dừng xử lý (ngoài mẫu)", "(*)")
    total = next(r for r in quarter if r["unit_code"] == "000.00.00.H52"
                 and r["field_code"] is None)
    assert ws["B13"].value == "Tổng cộng"
    assert [ws[f"{c}13"].value for c in "DEFHIJLMN"] == [
        total["carried_over"], total["received_online"], total["received_in_person_or_postal"],
        total["resolved_early"], total["resolved_on_time"], total["resolved_late"],
        total["open_within_deadline"], total["open_overdue"], total["withdrawn_or_stopped"]]
    fields = [r for r in quarter if r["unit_code"] == "000.00.00.H52" and r["field_code"]]
    assert ws.max_row >= 13 + len(fields)
    for sheet in wb.worksheets[1:]:  # (1) = (2)+(3)+(4) = (5)+(9)+(*) on every row
        for line in range(13, sheet.max_row + 1):
            if not isinstance(sheet[f"C{line}"].value, int):
                continue
            c = {col: sheet[f"{col}{line}"].value for col in "CDEFGHIJKLMN"}
            assert c["C"] == c["D"] + c["E"] + c["F"] == c["G"] + c["K"] + c["N"]
            assert c["G"] == c["H"] + c["I"] + c["J"] and c["K"] == c["L"] + c["M"]
            assert sheet[f"C{line}"].number_format == "#,##0"  # thousands separated
        # Ready to print and sign: A4 landscape, one page wide, header rows repeated.
        assert sheet.page_setup.orientation == "landscape"
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4) == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.print_title_rows == "$9:$12"
        texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
        assert "THỦ TRƯỞNG ĐƠN VỊ" in texts and "NGƯỜI LẬP BIỂU" in texts
        assert any(t.startswith("……………, ngày") for t in texts)
    # The index: every unit with its name, its sheet (a link) and its total (1).
    index = wb["Mục lục"]
    listed = [[c.value for c in row] for row in index.iter_rows(min_row=6)]
    assert [r[4] for r in listed] == wb.sheetnames[1:]
    assert listed[0][1:3] == ["000.00.00.H52", "UBND tỉnh Tây Ninh"]
    assert listed[0][5] == total["carried_over"] + total["received_online"] + total[
        "received_in_person_or_postal"]
    assert index.cell(row=6, column=5).hyperlink.location == "'000.00.00.H52'!A1" or \
        index.cell(row=6, column=5).hyperlink.target == "#'000.00.00.H52'!A1"


def test_latest_moves_forward_only_and_reruns_replace(filled, tmp_path):
    publish(DAYS[1], engine=filled, root=tmp_path / "reports")
    assert read_latest(tmp_path / "reports")["as_of"] == "2025-05-30"
    publish(AS_OF, engine=filled, root=tmp_path / "reports")
    latest = read_latest(tmp_path / "reports")
    assert latest["as_of"] == "2025-05-31" and latest["report"] == "2025-05-31/targets.html"
    assert (tmp_path / "reports" / latest["report"]).is_file()
    publish(DAYS[0], engine=filled, root=tmp_path / "reports")  # a backfilled day
    assert read_latest(tmp_path / "reports")["as_of"] == "2025-05-31"
    root = tmp_path / "reports"
    latest_html = (root / "latest" / "targets.html").read_text(encoding="utf-8")
    assert 'data-as-of="2025-05-31"' in latest_html
    (root / "2025-05-31" / "stray.txt").write_text("x")
    publish(AS_OF, engine=filled, root=tmp_path / "reports")  # a rerun replaces the folder whole
    assert not (root / "2025-05-31" / "stray.txt").exists()
    names = sorted(p.name for p in root.iterdir())
    assert names == ["2025-05-29", "2025-05-30", "2025-05-31", "latest", "latest.json"]
    manifest = json.loads((root / "2025-05-31" / "manifest.json").read_text())
    assert manifest["as_of"] == "2025-05-31" and "targets.html" == manifest["report"]


def test_report_renders_in_headless_chromium(filled, tmp_path):
    """The page as a browser shows it: the SVG charts are parsed as SVG; a screenshot is kept."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (apt-get install -y chromium)"
    result = publish(AS_OF, engine=filled, root=tmp_path / "reports")
    page = Path(result["dir"]) / "targets.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == len(
        [e for e in evaluations(filled, AS_OF).values() if e["indicator_code"]])
    assert "Báo cáo thực hiện chỉ tiêu cải cách hành chính" in dom.stdout
    shot = Path(os.environ.get("EGOV_TEST_ARTIFACTS")
                or Path(__file__).resolve().parent / "artifacts") / "report-targets.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1400,1800",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]


def test_form06_writes_one_spelling_per_field(tmp_path):
    """Issue 19, 6: a field name in NFD or with stray spaces is written as one NFC
    spelling (the CSV and the sheet)."""
    import unicodedata

    from openpyxl import load_workbook

    from egov.serve.reports.form06_export import clean_name, write_csv, write_xlsx

    nfd = unicodedata.normalize("NFD", "Hộ tịch")
    assert nfd != "Hộ tịch" and clean_name(f"  {nfd}  \t") == "Hộ tịch"
    assert clean_name("Hộ   tịch") == "Hộ tịch" and clean_name("  ") is None
    counts = dict.fromkeys(FORM06_COUNTS, 1_234)
    base = {"as_of_date": AS_OF, "portal_code": PORTAL, "unit_code": "U", "unit_name": "Xã A",
            "unit_level": "XA", "parent_code": None, "period_type": "year",
            "period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31), **counts}
    rows = [{**base, "field_code": None, "field_name": None},
            {**base, "field_code": "HT", "field_name": f" {nfd}  "}]
    write_csv(rows, tmp_path / "f.csv")
    assert "Hộ tịch," in (tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    wb = load_workbook(write_xlsx(rows, tmp_path / "f.xlsx", as_of=AS_OF))
    assert wb["U"]["B14"].value == "Hộ tịch (HT)"
    assert wb["U"]["C14"].value == 3 * 1_234 and wb["U"]["C14"].number_format == "#,##0"


def test_form06_names_each_field_one_way(filled, tmp_path):
    """Issue 19, 6: the portals send "Hộ tịch" as " hộ  tịch ", "HỘ TỊCH", "Hộ Tịch", in NFD
    and without diacritics; every sheet and the CSV write each field code one way: the most
    frequent spelling, in NFC."""
    import unicodedata
    from collections import Counter, defaultdict

    from openpyxl import load_workbook

    with filled.connect() as conn:
        seen = conn.execute(sa.text("SELECT field_code, field_name, count(*) AS n FROM "
                                    "fct_dossier WHERE field_code IS NOT NULL AND field_name "
                                    "IS NOT NULL GROUP BY field_code, field_name")).all()
    spellings: dict[str, Counter] = defaultdict(Counter)
    for code, name, n in seen:
        spellings[code][" ".join(unicodedata.normalize("NFC", name).split())] += n
    assert any(len(c) > 1 for c in spellings.values())  # the data does vary
    result = publish(AS_OF, engine=filled, root=tmp_path / "reports")
    folder = Path(result["dir"])
    labels: dict[str, set] = defaultdict(set)
    wb = load_workbook(folder / f"bieu06_{PORTAL}_2025-Q2.xlsx")
    for sheet in wb.worksheets[1:]:
        for line in range(14, sheet.max_row + 1):
            text = sheet[f"B{line}"].value
            found = re.fullmatch(r"(.+) \(([^()]+)\)", text or "")
            if found:
                labels[found.group(2)].add(found.group(1))
    with (folder / f"bieu06_{PORTAL}.csv").open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["field_code"]:
                labels[r["field_code"]].add(r["field_name"])
    assert labels
    for code, names in labels.items():
        want = min(spellings[code].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        assert names == {want}, (code, names)
        assert unicodedata.is_normalized("NFC", want)
