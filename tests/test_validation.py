"""Each contract rule of portal-api.md, run through the real GX suite, rejects what it must
and nothing else; the oracle agrees on every case."""

from __future__ import annotations

import pytest

from egov.validation import validate_dossiers
from tests import oracle

UNITS = {"U1", "U2"}
GOOD = {
    "MaHoSo": "A1", "MaDonVi": "U1", "TrangThaiHoSo": 10, "KenhThucHien": "2",
    "NgayTiepNhan": "20240101080000", "NgayHenTra": "20240101170000",
    "NgayKetThucXuLy": "20240103100000", "NgayTra": "20240104100000",
    "NgayCapNhat": "20240104100000", "DanhSachLePhi": [{"Gia": 1000}], "Extra": {"kept": True},
}

BAD = [
    ("dossier_code_present", {"MaHoSo": "  "}),
    ("dossier_code_present", {"MaHoSo": None}),
    ("unit_code_present", {"MaDonVi": ""}),
    ("unit_known", {"MaDonVi": "U9"}),
    ("unit_known", {"MaDonVi": " U1"}),
    ("status_valid", {"TrangThaiHoSo": 11}),
    ("status_valid", {"TrangThaiHoSo": "x"}),
    ("status_valid", {"TrangThaiHoSo": None}),
    ("channel_valid", {"KenhThucHien": 4}),
    ("channel_valid", {"KenhThucHien": ""}),
    ("date_format", {"NgayTiepNhan": "2024-01-01 08:00:00"}),
    ("date_exists", {"NgayKetThucXuLy": "20240230100000"}),
    ("updated_at_present", {"NgayCapNhat": None}),
    ("required_by_status", {"NgayTra": None}),
    ("required_by_status", {"TrangThaiHoSo": 7, "NgayKetThucXuLy": "", "NgayTra": None}),
    ("required_by_status", {"TrangThaiHoSo": 2, "NgayTiepNhan": None, "NgayHenTra": None}),
    ("due_not_before_received", {"NgayHenTra": "20231231235959"}),
    ("fee_valid", {"DanhSachLePhi": [{"Gia": -5}]}),
    ("fee_valid", {"DanhSachLePhi": [{"Gia": "100"}]}),
    ("fee_valid", {"DanhSachLePhi": [{"Gia": 1.5}]}),
]

ACCEPTED = [
    {},
    {"TrangThaiHoSo": "09", "NgayTra": None},
    {"TrangThaiHoSo": 1, "NgayTiepNhan": None, "NgayHenTra": None, "NgayKetThucXuLy": None,
     "NgayTra": None},
    {"TrangThaiHoSo": 3, "NgayTiepNhan": "", "NgayHenTra": None, "NgayKetThucXuLy": None,
     "NgayTra": None},
    {"KenhThucHien": None},
    {"NgayHenTra": None},
    {"NgayHenTra": "20240101000000"},  # same day as receipt, earlier hour: allowed
    {"DanhSachLePhi": None},
    {"DanhSachLePhi": [{"Gia": 0}]},
    {"MaTTHC": "unknown", "LoaiDoiTuong": 9, "MucDoHaiLong": 7},  # warnings at most
]


@pytest.mark.parametrize("rule, change", BAD, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BAD)])
def test_each_rule_rejects_its_case(rule, change):
    record = {**GOOD, **change}
    outcome = validate_dossiers([GOOD, record], UNITS)
    assert outcome.accepted == [GOOD]
    [(rejected, failures)] = outcome.rejected
    assert rejected is record
    assert rule in {f.rule for f in failures}
    assert all(f.reason.startswith(f.rule) for f in failures)
    assert oracle.is_malformed(record, UNITS) is not None


@pytest.mark.parametrize("change", ACCEPTED)
def test_good_variants_are_accepted(change):
    record = {**GOOD, **change}
    outcome = validate_dossiers([record], UNITS)
    assert outcome.rejected == []
    assert outcome.accepted == [record]
    assert oracle.is_malformed(record, UNITS) is None


def test_expectation_summaries_cover_every_rule():
    outcome = validate_dossiers([GOOD, {**GOOD, "TrangThaiHoSo": 0}], UNITS)
    rules = {s["rule"] for s in outcome.expectations}
    assert {"dossier_code_present", "unit_known", "status_valid", "channel_valid",
            "date_format", "date_exists", "updated_at_present", "required_by_status",
            "due_not_before_received", "fee_valid"} <= rules
    failed = [s for s in outcome.expectations if not s["success"]]
    assert [(s["rule"], s["unexpected_count"]) for s in failed] == [("status_valid", 1)]
