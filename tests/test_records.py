"""The portal boundary: dates in local time, digit strings, folding, no personal data."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from egov.sources.onestop.records import (
    applicant_hash,
    as_int,
    dossier_row,
    fold_text,
    parse_portal_time,
    record_key,
)

BASE = {
    "MaHoSo": "H08.1", "MaDonVi": "000.00.00.H08", "TrangThaiHoSo": "10", "KenhThucHien": None,
    "MucDo": None, "TenLinhVuc": "  CHỨNG   THỰC ", "NgayTiepNhan": "20240101003000",
    "NgayHenTra": "20240105235959", "NgayKetThucXuLy": "20240104234500",
    "NgayTra": "20240105000100", "NgayCapNhat": "20240105000100", "HinhThuc": 1,
    "DuocThanhToanTrucTuyen": "2", "HoSoCoThanhPhanSoHoa": 1,
    "DanhSachLePhi": [{"Gia": 0}, {"Gia": 50000}],
    "DanhSachGiayToKetQua": [{"DuongDanTepTinKetQua": "  "}, {"DuongDanTepTinKetQua": "http://x/kq.pdf"}],
    "ChuHoSo": "Nguyễn Văn An", "SoGiayToChuHoSo": "079123456789", "SoDienThoai": "0912345678",
    "Email": "an@example.vn", "DiaChi": "12 Lê Lợi, Quy Nhơn",
}


def test_local_calendar_days_near_midnight():
    """00:30 local on 1 January is 2023-12-31 in UTC; the day must stay 2024-01-01."""
    row = dossier_row(BASE, portal_code="p", pii_key=b"k")
    assert row["received_date"] == date(2024, 1, 1)
    assert row["ended_date"] == date(2024, 1, 4)
    assert row["due_date"] == date(2024, 1, 5)
    assert row["received_at"] == datetime(2024, 1, 1, 0, 30)


def test_mapping_of_codes_and_flags():
    row = dossier_row(BASE, portal_code="p", pii_key=b"k")
    assert row["status"] == 10 and row["channel"] == 1  # null channel counts as in person
    assert row["is_certification"] is True
    assert row["has_fee"] is True and row["fee_total"] == 50000
    assert row["has_electronic_result"] is True
    assert row["online_payment"] == 2 and row["result_delivery"] == 1
    assert row["has_digitized_papers"] is True


@pytest.mark.parametrize("status", [2, 4, 5, 6])
def test_open_statuses_ignore_the_end_date(status):
    row = dossier_row({**BASE, "TrangThaiHoSo": status}, portal_code="p", pii_key=None)
    assert row["ended_date"] is None
    assert row["ended_at"] == datetime(2024, 1, 4, 23, 45)  # what was sent is kept


def test_no_personal_data_in_the_fact_row():
    row = dossier_row(BASE, portal_code="p", pii_key=b"secret")
    text = repr(row)
    for field in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi"):
        assert BASE[field] not in text
    assert row["applicant_id_hash"] == applicant_hash("079123456789", b"secret")
    assert row["applicant_id_hash"] != applicant_hash("079123456789", b"other")
    assert dossier_row(BASE, portal_code="p", pii_key=None)["applicant_id_hash"] is None


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("20240229235959", datetime(2024, 2, 29, 23, 59, 59)),
])
def test_parse_portal_time(value, expected):
    assert parse_portal_time(value) == expected


def test_digit_stamps_read_as_the_calendar_says():
    """`digits_moment` against datetime's constructor over every edge of each part: the same
    moments, the same refusals (no 30 February, no hour 24, no second 60)."""
    from itertools import product

    from egov.sources.onestop.records import digits_moment

    def reference(text):
        try:
            return datetime(*(int(text[a:b]) for a, b in
                              ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))))
        except ValueError:
            return None

    def ours(text):
        try:
            return digits_moment(text)
        except ValueError:
            return None

    parts = product(["0000", "0001", "1900", "2023", "2024", "9999"],
                    [0, 1, 2, 12, 13, 99], [0, 1, 28, 29, 30, 31, 32], [0, 23, 24, 99],
                    [0, 59, 60], [0, 59, 60, 61])
    stamps = [f"{y}{mo:02d}{d:02d}{h:02d}{mi:02d}{s:02d}" for y, mo, d, h, mi, s in parts]
    differ = [t for t in stamps if ours(t) != reference(t)]
    assert not differ, differ[:5]
    assert sum(reference(t) is not None for t in stamps) > 400


@pytest.mark.parametrize("value", ["20230229101010", "2024-01-01 10:00:00", "2024010110101",
                                   20240101101010, "20240101246000", "20240101240000"])
def test_malformed_times(value):
    with pytest.raises(ValueError):
        parse_portal_time(value)


@pytest.mark.parametrize("value, expected", [
    (3, 3), ("03", 3), ("3", 3), (True, None), (3.0, None), ("3a", None), ("", None),
    (" 3", None), (None, None),
])
def test_as_int(value, expected):
    assert as_int(value) == expected


def test_fold_text_and_record_key():
    assert fold_text("  Chứng   thực ") == fold_text("CHUNG THUC") == "chung thuc"
    assert fold_text("Đất đai") == "dat dai"
    assert record_key({"MaHoSo": " A1 "}) == "A1"
    keyless = {"MaHoSo": "  ", "x": 1}
    assert record_key(keyless) == record_key(dict(keyless)) and record_key(keyless).startswith("sha256:")


# --- one parse per record version: typed, bounded, never raising ------------------------------

from egov.sources.onestop.records import (  # noqa: E402
    CODE_MAX,
    OUT_OF_RANGE,
    bounded_code,
    dedup_key,
    parse_version,
    storable,
)


def test_codes_are_bounded_and_stay_distinct():
    assert bounded_code("000.00.00.H08") == ("000.00.00.H08", False)
    long_a, long_b = "A" * 300, "A" * 299 + "B"
    (a, cut_a), (b, _) = bounded_code(long_a), bounded_code(long_b)
    assert cut_a and len(a) == len(b) == CODE_MAX and a != b and a == bounded_code(long_a)[0]
    nul, cut = bounded_code("H08\x00X")
    assert cut and "\x00" not in nul and nul != bounded_code("H08\ufffdX")[0]
    assert storable("a\x00b\ud800") == ("a\ufffdb\ufffd", True)


def test_huge_digit_strings_are_out_of_range_not_small():
    assert as_int("9" * 5000) == OUT_OF_RANGE and as_int("0" * 5000 + "7") == 7
    assert as_int(10**40) == 10**40


@pytest.mark.parametrize("item", [None, "text", 12, [BASE], {"MaHoSo": ["x"]}, {},
                                  {"NgayCapNhat": ["x"], "DanhSachLePhi": "none"}])
def test_any_item_parses_and_keeps_one_identity(item):
    version = parse_version(item)
    assert version.record_key == record_key(item)
    key = dedup_key(item)
    assert key == (version.record_key, version.version_key) or key == ("", version.record_key)
    assert (version.row is None) == (not isinstance(item, dict))


def test_parse_notes_values_stored_null_or_cut():
    version = parse_version({**BASE, "LoaiDoiTuong": 40000, "MucDo": 4, "TenTTHC": "x" * 3000,
                             "MaTTHC": ["1.0"], "SoGiayToChuHoSo": {"so": 1}})
    assert version.row["applicant_type"] is None and version.row["service_level"] is None
    assert len(version.row["procedure_name"]) == 2000 and version.row["procedure_code"] is None
    assert sorted(version.adjusted) == [("LoaiDoiTuong", "null"), ("MaTTHC", "null"),
                                        ("MucDo", "null"), ("SoGiayToChuHoSo", "null"),
                                        ("TenTTHC", "cut")]
    assert dossier_row(version, portal_code="p", pii_key=b"k" * 16)["applicant_id_hash"] is None
