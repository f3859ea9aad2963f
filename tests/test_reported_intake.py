"""Reported files: template, intake, receipts and hostile files
(docs/contracts/reported-figures.md, "The template" and "Intake")."""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import yaml

from egov.cells import text_cell as cell_out
from egov.compute.plans import load_plan_file
from egov.pipeline.reported.intake import take_inbox
from egov.sources.reported.client import receipt_text
from egov.sources.reported.files import safe_name
from egov.warehouse.schema import (
    dim_unit,
    etl_reported_file,
    fct_reported_figure,
    mart_target_evaluation,
)

PROV, DEPT, DIST = "000.00.00.H97", "000.00.01.H97", "000.00.21.H97"
NOW = datetime(2026, 1, 15, 10, 30)
HEADER = ["Mã kế hoạch [plan]", "Mã chỉ tiêu [target]", "Mã đơn vị [unit]", "Năm [year]",
          "Số liệu đến ngày [data_to]", "Tử số [numerator]", "Mẫu số [denominator]",
          "Tỷ lệ % [value_pct]", "Văn bản nguồn [source_doc]", "Người ký duyệt [approved_by]",
          "Ngày ký [approved_at]", "Căn cứ [basis]", "Ghi chú [note]", "Cột lạ không mã"]


@pytest.fixture
def plan(tmp_path):
    data = {"code": "rp-2025", "title": "Kế hoạch thử", "portal": "p1", "unit": PROV,
            "targets": [
                {"code": "docs", "indicator": None, "comparator": ">=",
                 "thresholds": {2025: 90}, "clause": "90% văn bản ký số"},
                {"code": "self-check", "indicator": None, "comparator": ">=",
                 "thresholds": {2025: 100}, "clause": "100% đơn vị tự kiểm tra",
                 "report_by": "children"},
                {"code": "online", "indicator": "online_rate", "comparator": ">=",
                 "thresholds": {2025: 50}, "clause": "50% hồ sơ trực tuyến"}]}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_plan_file(path)


def add_units(engine):
    rows = [(PROV, None, "TINH"), (DEPT, PROV, "SO"), (DIST, PROV, "HUYEN")]
    with engine.begin() as conn:
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": c, "portal_code": "p1", "unit_name": f"Đơn vị {c}", "parent_code": p,
             "unit_level": lvl} for c, p, lvl in rows])


def csv_bytes(rows, header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def good(target="docs", unit=PROV, num="45", den="50", pct="", doc="125/BC-UBND ngày 14/12/2025",
         approved="05/01/2026", basis="self_reported", data_to="2025-12-31", year="2025",
         note=""):
    return ["rp-2025", target, unit, year, data_to, num, den, pct, doc, "Chánh Văn phòng",
            approved, basis, note, "bỏ qua"]


def receipt_rows(path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def drop(base, name: str, data: bytes):
    inbox = base / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(data)


MIXED = [
    good(),                                                   # 2 accepted
    good(num="51"),                                           # 3 numerator > denominator
    good(target="self-check", unit=DEPT, num="", den="", pct="100"),   # 4 accepted (% only)
    good(target="self-check", unit=PROV),                     # 5 the province is no reporter
    good(target="nope"),                                      # 6 unknown target
    good(basis="maybe", approved="20/01/2026"),               # 7 two rules
    good(data_to="2024-12-31"),                               # 8 outside the year
    [""] * 14,                                                # blank: not a data row
    good(num="", den=""),                                     # 10 no figure
    good(num="=45", note="=HYPERLINK(\"http://x\")"),         # 11 formulas
    good(target="self-check", unit=DIST, num="3", den="4", pct="75"),  # 12 accepted (% agrees)
    good(num="9", den="10", pct="91"),                        # 13 % disagrees with counts
]
EXPECTED_RECEIPT = [
    ("2", "accepted", ""),
    ("3", "rejected", "numerator_above_denominator"),
    ("4", "accepted", ""),
    ("5", "rejected", "unit_not_reporter"),
    ("6", "rejected", "target_unknown;year_not_in_target;unit_not_reporter"),
    ("7", "rejected", "approved_at_future;basis_invalid"),
    ("8", "rejected", "data_to_outside_year"),
    ("10", "rejected", "figure_missing"),
    ("11", "rejected", "formula;figure_missing"),
    ("12", "accepted", ""),
    ("13", "rejected", "value_pct_mismatch"),
]


def test_a_file_mixing_good_and_bad_rows(warehouse, plan, tmp_path):
    base = tmp_path / "reported"
    add_units(warehouse)
    drop(base, "Báo cáo Sở Nội vụ 2025.csv", csv_bytes(MIXED))
    (outcome,) = take_inbox(warehouse, base=base, plans=[plan], now=NOW, run_id="r1")
    assert (outcome.status, outcome.accepted, outcome.rejected) == ("taken", 3, 8)
    assert outcome.name == "Bao_cao_So_Noi_vu_2025.csv"
    assert outcome.receipt == base / "receipts" / "Bao_cao_So_Noi_vu_2025.csv.receipt.csv"
    lines = receipt_rows(outcome.receipt)
    assert [(r["row"], r["status"], r["rule"]) for r in lines] == EXPECTED_RECEIPT
    assert lines[0]["message"] == "Đã nhận"
    assert lines[1]["message"] == "Tử số lớn hơn mẫu số"
    assert lines[5]["message"] == ("Ngày ký [approved_at] sau ngày nhận tệp (15/01/2026); "
                                   "Căn cứ [basis] phải là self_reported (đơn vị tự báo cáo) "
                                   "hoặc verified (đã thẩm định)")
    assert lines[8]["message"].startswith("Ô chứa công thức: không được tính")
    with warehouse.connect() as conn:
        stored = conn.execute(sa.select(fct_reported_figure).order_by(
            fct_reported_figure.c.row_number)).mappings().all()
        files = conn.execute(sa.select(etl_reported_file)).mappings().all()
    assert [(r["row_number"], r["target_code"], r["unit_code"]) for r in stored] == [
        (2, "docs", PROV), (4, "self-check", DEPT), (12, "self-check", DIST)]
    r = stored[0]
    assert (r["numerator"], r["denominator"], r["value_pct"], r["basis"]) == (
        45, 50, None, "self_reported")
    assert str(r["approved_at"])[:10] == "2026-01-05" and str(r["data_to"])[:10] == "2025-12-31"
    assert r["source_doc"] == "125/BC-UBND ngày 14/12/2025" and not r["is_sample"]
    assert float(stored[1]["value_pct"]) == 100.0 and stored[1]["numerator"] is None
    assert (stored[2]["numerator"], stored[2]["denominator"]) == (3, 4)
    assert len(files) == 1 and files[0]["rows_accepted"] == 3 and files[0]["taken_seq"] == 1
    # the file left the inbox for taken/, owner-only; folders too
    assert not list((base / "inbox").iterdir())
    (kept,) = (base / "taken").iterdir()
    assert kept.name.endswith("_Bao_cao_So_Noi_vu_2025.csv")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(outcome.receipt.stat().st_mode) == 0o600
    for sub in ("inbox", "receipts", "taken", "refused"):
        assert stat.S_IMODE((base / sub).stat().st_mode) == 0o700

    # the same content again, under another name: a no-op named in its receipt
    drop(base, "lan2.csv", csv_bytes(MIXED))
    (again,) = take_inbox(warehouse, base=base, plans=[plan], now=NOW, run_id="r2")
    assert again.status == "duplicate"
    (line,) = receipt_rows(again.receipt)
    assert (line["row"], line["status"], line["rule"]) == ("0", "duplicate", "duplicate_file")
    assert "Bao_cao_So_Noi_vu_2025.csv" in line["message"]
    # a new file repeating an accepted row: that row is a duplicate, the new one a revision
    drop(base, "lan3.csv", csv_bytes([good(), good(num="48", approved="10/01/2026")]))
    (third,) = take_inbox(warehouse, base=base, plans=[plan], now=NOW, run_id="r3")
    assert [(r["row"], r["status"], r["rule"]) for r in receipt_rows(third.receipt)] == [
        ("2", "duplicate", "duplicate_row"), ("3", "accepted", "")]
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(fct_reported_figure)
                            ).scalar() == 4

    # and the evaluation reads them: the revision signed last counts (48/50 = 96 %)
    from egov.compute.targets import evaluate_targets

    with warehouse.begin() as conn:
        evaluate_targets(conn, [plan], as_of=date(2026, 1, 14), portal_codes=["p1"],
                         run_id="e", computed_at=NOW)
        rows = {r["target_code"]: r for r in conn.execute(sa.select(mart_target_evaluation))
                .mappings()}
    assert (rows["docs"]["numerator"], rows["docs"]["status"]) == (48, "met")
    assert rows["docs"]["source_doc"] == "125/BC-UBND ngày 14/12/2025"
    assert (rows["self-check"]["percent_only"], rows["self-check"]["reported_units"],
            rows["self-check"]["expected_units"]) == (True, 2, 2)
    # the mean of 100 % and 75 %: 87.5 % < 100 %, the year is over
    assert rows["self-check"]["status"] == "missed"
    assert float(rows["self-check"]["value_pct"]) == 87.5


def test_template_filled_in_and_taken_back(sqlite_url, plan, tmp_path):
    """The template's rows, filled in a spreadsheet (key cells locked), come back accepted;
    a formula typed into a figure cell rejects its row (never evaluated)."""
    from openpyxl import load_workbook

    from egov.pipeline.reported.template import make_template
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_units(engine)
    import egov.compute.plans as plans_module

    path = tmp_path / "tpl.xlsx"
    original = plans_module.load_plans
    plans_module.load_plans = lambda *a, **k: [plan]
    try:
        make_template("rp-2025", 2025, path, engine=engine)
    finally:
        plans_module.load_plans = original
    book = load_workbook(path)
    sheet = book["so_lieu"]
    assert book.sheetnames == ["so_lieu", "huong_dan"] and sheet.protection.sheet
    header = [c.value for c in sheet[1]]
    col = {h.rsplit("[", 1)[1].rstrip("]"): i + 1 for i, h in enumerate(header)}
    keys = [(sheet.cell(r, col["target"]).value, sheet.cell(r, col["unit"]).value)
            for r in range(2, sheet.max_row + 1)]
    assert keys == [("docs", PROV), ("self-check", DEPT), ("self-check", DIST)]  # no "online"
    assert sheet.cell(2, col["plan"]).protection.locked
    assert not sheet.cell(2, col["numerator"]).protection.locked
    kinds = {dv.type for dv in sheet.data_validations.dataValidation}
    assert {"whole", "decimal", "list"} <= kinds
    assert "Người ký duyệt" in " ".join(str(c.value) for c in book["huong_dan"]["A"])
    for r, (num, den) in zip(range(2, 5), [(46, 50), (1, 1), ("=1+1", 1)], strict=True):
        sheet.cell(r, col["numerator"]).value = num
        sheet.cell(r, col["denominator"]).value = den
        sheet.cell(r, col["source_doc"]).value = "12/BC ngày 02/01/2026"
        sheet.cell(r, col["approved_by"]).value = "Giám đốc"
        sheet.cell(r, col["approved_at"]).value = datetime(2026, 1, 2)
    buffer = io.BytesIO()
    book.save(buffer)
    base = tmp_path / "reported"
    drop(base, "filled.xlsx", buffer.getvalue())
    (outcome,) = take_inbox(engine, base=base, plans=[plan], now=NOW)
    assert [(r["row"], r["status"], r["rule"]) for r in receipt_rows(outcome.receipt)] == [
        ("2", "accepted", ""), ("3", "accepted", ""), ("4", "rejected", "formula;figure_missing")]
    engine.dispose()


# ---------------------------------------------------------------------------- hostile files

def xlsx_with(extra: dict[str, bytes] | None = None, types_extra: bytes = b"") -> bytes:
    """A minimal valid-looking workbook archive with extra entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         b'<?xml version="1.0"?><Types xmlns="x">' + types_extra + b"</Types>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


HOSTILE = {
    "bomb.xlsx": (xlsx_with({"xl/worksheets/sheet1.xml": b"<a>" + b"0" * (60 * 1024 * 1024)
                             + b"</a>"}), "bom nén"),
    "macro.xlsx": (xlsx_with({"xl/vbaProject.bin": b"\x00" * 100}), "macro"),
    "macro-type.xlsx": (xlsx_with(types_extra=b'<Override ContentType="application/'
                                  b'vnd.ms-excel.sheet.macroEnabled.main+xml"/>'), "macro"),
    "entities.xlsx": (xlsx_with({"xl/workbook.xml": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'}),
                      "DTD/ENTITY"),
    "not-a-zip.xlsx": (b"this is not a workbook", "hỏng"),
    "latin1.csv": ("Mã kế hoạch [plan]\n".encode("latin-1", "replace") + b"\xff\xfe", "UTF-8"),
    "no-header.csv": (b"a,b,c\n1,2,3\n", "tiêu đề"),
    "missing-columns.csv": (csv_bytes([], header=["Mã kế hoạch [plan]"]), "Thiếu cột"),
}


def test_hostile_files_are_rejected_whole_with_their_reason(warehouse, plan, tmp_path):
    base = tmp_path / "reported"
    for name, (data, _) in HOSTILE.items():
        drop(base, name, data)
    outcomes = {o.name: o for o in take_inbox(warehouse, base=base, plans=[plan], now=NOW)}
    assert set(outcomes) == {safe_name(n) for n in HOSTILE}
    for name, (_, fragment) in HOSTILE.items():
        outcome = outcomes[safe_name(name)]
        assert outcome.status == "rejected", name
        (line,) = receipt_rows(outcome.receipt)
        assert (line["row"], line["status"]) == ("0", "rejected"), name
        assert fragment in line["message"], (name, line["message"])
    with warehouse.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(fct_reported_figure)
                            ).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(etl_reported_file)
                            ).scalar() == len(HOSTILE)


def test_refused_before_reading_and_nothing_outside_the_inbox_touched(sqlite_url, plan,
                                                                      tmp_path, monkeypatch):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    monkeypatch.setenv("EGOV_REPORTED_MAX_BYTES", "2048")
    base = tmp_path / "reported"
    outside = tmp_path / "secret.csv"
    outside.write_bytes(csv_bytes([good()]))
    before = outside.stat()
    drop(base, "big.csv", csv_bytes([good()] * 100))
    drop(base, "Macro.XLSM", b"PK whatever")
    drop(base, "report.exe", b"MZ")
    drop(base, ".in-transfer.csv", csv_bytes([good()]))  # skipped until renamed
    (base / "inbox" / "link.csv").symlink_to(outside)
    os.link(outside, base / "inbox" / "hard.csv")
    (base / "inbox" / "%2E%2E%2Fetc passwd;=cmd.csv").write_bytes(b"x")
    (base / "inbox" / "subfolder").mkdir()
    outcomes = {o.name: o for o in take_inbox(engine, base=base, plans=[plan], now=NOW)}
    assert set(outcomes) == {"big.csv", "Macro.XLSM", "report.exe", "link.csv", "hard.csv",
                             "2E_2E_2Fetc_passwd_cmd.csv"}
    reason = {n: receipt_rows(o.receipt)[0]["message"] for n, o in outcomes.items()}
    assert "quá lớn" in reason["big.csv"]
    assert "macro" in reason["Macro.XLSM"]
    assert "Chỉ nhận tệp .xlsx hoặc .csv" in reason["report.exe"]
    assert "symlink" in reason["link.csv"]
    assert "hard link" in reason["hard.csv"]
    # the link's target was neither read nor moved; the link itself left the inbox
    assert outside.read_bytes() == csv_bytes([good()]) and outside.stat().st_mtime == before.st_mtime
    assert stat.S_IMODE(outside.stat().st_mode) == stat.S_IMODE(before.st_mode)
    assert sorted(p.name for p in (base / "inbox").iterdir()) == [".in-transfer.csv",
                                                                  "subfolder"]
    for path in (base / "refused").iterdir():
        assert path.parent == base / "refused"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(fct_reported_figure)
                            ).scalar() == 0
    engine.dispose()


def test_names_are_sanitised():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\Báo cáo Đồng Nai.xlsx") == "Bao_cao_Dong_Nai.xlsx"
    assert safe_name("-rf =cmd|x.csv") == "rf_cmd_x.csv"
    assert safe_name("....") == "tep" and safe_name("") == "tep"
    assert len(safe_name("a" * 500 + ".csv")) == 120 and safe_name("a" * 500 + ".csv").endswith(
        ".csv")


@pytest.mark.parametrize("value, out", [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("bình thường", "bình thường"), (None, ""), (12, "12"),
])
def test_cells_going_out_carry_no_live_formula(value, out):
    assert cell_out(value) == out
    text = receipt_text([(2, "rejected", value, value)]).decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["rule"] == out and row["message"] == out


def test_permissions_of_an_existing_base_are_tightened(tmp_path):
    from egov.pipeline.reported.intake import folders

    base = tmp_path / "r"
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    dirs = folders(base)
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    assert set(dirs) == {"inbox", "receipts", "taken", "refused"}


def test_the_inbox_hook_reads_its_connection_else_the_setting(tmp_path, monkeypatch):
    import json

    from airflow.sdk import BaseHook

    from egov.sources.reported.client import InboxClient
    from egov.sources.reported.hook import ReportedInboxHook

    assert issubclass(ReportedInboxHook, BaseHook)
    monkeypatch.delenv("AIRFLOW_CONN_EGOV_REPORTED_INBOX", raising=False)
    monkeypatch.setenv("EGOV_REPORTED_DIR", str(tmp_path / "setting"))
    client = ReportedInboxHook().get_conn()
    assert isinstance(client, InboxClient)
    assert client.base == tmp_path / "setting"
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_REPORTED_INBOX", json.dumps(
        {"conn_type": "fs", "extra": {"path": str(tmp_path / "conn")}}))
    assert ReportedInboxHook().get_conn().base == tmp_path / "conn"
    assert sorted(p.name for p in ReportedInboxHook().get_conn().folders().values()) == [
        "inbox", "receipts", "refused", "taken"]
    assert (tmp_path / "conn" / "inbox").stat().st_mode & 0o777 == 0o700
