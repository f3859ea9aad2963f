"""Hand-worked tests of the reference implementation in ``tests/oracle.py``.

Every expected figure below is worked out by hand from indicators.md / portal-api.md; the
comments show the arithmetic.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from tests.oracle import (
    INDICATOR_CODES,
    compute_run,
    compute_snapshots,
    evaluate_target,
    expected_snapshot_keys,
    fold,
    is_malformed,
    newest_accepted,
    period_bounds,
    value_pct,
)

# Unit tree:  R (province) -> S (department), R -> H (district) -> X (commune)
UNITS = [
    {"MaDonVi": "R", "TenDonVi": "Tỉnh", "MaDonViCha": None, "CapDonVi": "TINH"},
    {"MaDonVi": "S", "TenDonVi": "Sở", "MaDonViCha": "R", "CapDonVi": "SO"},
    {"MaDonVi": "H", "TenDonVi": "Huyện", "MaDonViCha": "R", "CapDonVi": "HUYEN"},
    {"MaDonVi": "X", "TenDonVi": "Xã", "MaDonViCha": "H", "CapDonVi": "XA"},
]
CODES = {u["MaDonVi"] for u in UNITS}
MARCH = ("month", date(2024, 3, 1))
_seq = itertools.count(1)


def ts(value: str | None) -> str | None:
    """'20240305' -> '20240305080000' (08:00); 14-char values and None pass through."""
    return value + "080000" if value is not None and len(value) == 8 else value


def rec(status=2, unit="X", received="20240305", due=None, ended=None, returned=None, **extra):
    """A record in its accepted state; status 10 gets NgayTra = NgayKetThucXuLy by default."""
    if status == 10 and returned is None:
        returned = ended
    record = {
        "MaHoSo": f"HS{next(_seq):04d}",
        "MaTTHC": "1.000001.000.00.00.H99",
        "MaDonVi": unit,
        "TrangThaiHoSo": status,
        "KenhThucHien": 1,
        "NgayTiepNhan": ts(received),
        "NgayHenTra": ts(due),
        "NgayKetThucXuLy": ts(ended),
        "NgayTra": ts(returned),
        "NgayCapNhat": "20240401000000",
    }
    record.update(extra)
    return record


def snap(records, code, unit="X", as_of=date(2024, 3, 31), period=MARCH, procedures=()):
    """(numerator, denominator, value_pct) of one indicator for one unit."""
    return compute_snapshots(records, procedures, UNITS, as_of, *period)[(unit, code)]


def pct(text: str) -> Decimal:
    return Decimal(text)


# --------------------------------------------------------------------------------------------
# Record sets
# --------------------------------------------------------------------------------------------


def test_received_excludes_statuses_1_and_3():
    """Statuses 2 and 4..10 received on 5 March are RECEIVED; 1 and 3 never are (8 of 10)."""
    records = [rec(s, ended="20240306" if s >= 7 else None, KenhThucHien=2) for s in range(1, 11)]
    assert snap(records, "online_rate") == (8, 8, pct("100.00"))


def test_received_period_cut_at_as_of():
    """A = 20 March: March is cut to [1 Mar, 20 Mar]; Q1 and the year to [1 Jan, 20 Mar]."""
    records = [
        rec(received="20240229", KenhThucHien=2),  # Feb: quarter and year only
        rec(received="20240301"),  # in
        rec(received="20240320235959", KenhThucHien=2),  # last second of A: in
        rec(received="20240321"),  # after A: out everywhere
        rec(received="20240401"),  # out
        rec(received="20231231", KenhThucHien=2),  # 2023 only
    ]
    a = date(2024, 3, 20)
    # March: 2 received, 1 online -> 50.00
    assert snap(records, "online_rate", as_of=a) == (1, 2, pct("50.00"))
    # Q1 and 2024: 29 Feb, 1 Mar, 20 Mar -> 2/3 = 66.666.. -> 66.67
    assert snap(records, "online_rate", as_of=a, period=("quarter", date(2024, 1, 1))) == (
        2,
        3,
        pct("66.67"),
    )
    assert snap(records, "online_rate", as_of=a, period=("year", date(2024, 1, 1))) == (
        2,
        3,
        pct("66.67"),
    )
    # a past year is not cut: 2023 -> 1 received, online
    assert snap(records, "online_rate", as_of=a, period=("year", date(2023, 1, 1))) == (
        1,
        1,
        pct("100.00"),
    )


def test_resolved_is_status_9_10_ended_in_period():
    """Only 9/10 ended in P' are RESOLVED; 7/8 are not; 2/4/5/6 ignore NgayKetThucXuLy."""
    records = [rec(s, ended="20240310") for s in (2, 4, 5, 6, 7, 8, 9, 10)]
    records += [
        rec(9, received="20240220", ended="20240228"),  # ended in February
        rec(10, ended="20240401"),  # ended in April
    ]
    # resolved: the 9 and the 10 ended on 10 March -> 2, both on time (no due date)
    assert snap(records, "on_time_rate") == (2, 2, pct("100.00"))


def test_resolved_cut_at_as_of():
    """A = 20 March: ended on 20 March counts, ended on 21 March does not."""
    records = [rec(9, ended="20240320"), rec(9, ended="20240321")]
    assert snap(records, "on_time_rate", as_of=date(2024, 3, 20)) == (1, 1, pct("100.00"))


def test_open_at_end_and_progress():
    """A = 20 March, P' = [1 Mar, 20 Mar]; progress = (resolved on time + open within) / both.

    a  status 4, ended 2 Mar ignored, due 20 Mar   -> open, within (due = end(P'))
    b  status 9, ended 25 Mar, due 19 Mar          -> open (ends after P'), not within
    c  status 7, ended 10 Mar                      -> neither
    d  status 8, ended 22 Mar, no due date         -> open, within
    e  status 2, received 10 Feb, due 25 Mar       -> open (received before P), within
    f  status 2, received 21 Mar                   -> not yet received at end(P')
    g  statuses 1 and 3                            -> never
    h  status 10, ended 15 Mar 17:00, due 15 Mar   -> resolved, on time
    resolved 1 + open 4 = 5; numerator 1 + 3 = 4 -> 80.00
    """
    records = [
        rec(4, received="20240301", ended="20240302", due="20240320"),
        rec(9, received="20240301", ended="20240325", due="20240319"),
        rec(7, received="20240301", ended="20240310"),
        rec(8, received="20240301", ended="20240322"),
        rec(2, received="20240210", due="20240325"),
        rec(2, received="20240321"),
        rec(1, received=None),
        rec(3, received=None),
        rec(10, received="20240301", ended="20240315170000", due="20240315"),
    ]
    a = date(2024, 3, 20)
    assert snap(records, "progress_rate", as_of=a) == (4, 5, pct("80.00"))
    assert snap(records, "on_time_rate", as_of=a) == (1, 1, pct("100.00"))


def test_statuses_2_4_5_6_ignore_ended_date():
    """Still being handled: an NgayKetThucXuLy of 2 March is ignored, so all 4 are open at
    end(P') = 20 March (no due date -> within): progress 4/4; nothing resolved."""
    records = [rec(s, received="20240301", ended="20240302") for s in (2, 4, 5, 6)]
    a = date(2024, 3, 20)
    assert snap(records, "progress_rate", as_of=a) == (4, 4, pct("100.00"))
    assert snap(records, "on_time_rate", as_of=a) == (0, 0, None)


def test_open_at_end_of_past_year():
    """Received 20 Dec 2023, ended 5 Jan 2024, due 10 Jan: open and within at end of 2023,
    resolved and on time in 2024."""
    records = [rec(9, received="20231220", ended="20240105", due="20240110")]
    a = date(2024, 3, 20)
    y2023 = ("year", date(2023, 1, 1))
    assert snap(records, "progress_rate", as_of=a, period=y2023) == (1, 1, pct("100.00"))
    assert snap(records, "on_time_rate", as_of=a, period=y2023) == (0, 0, None)
    q1 = ("quarter", date(2024, 1, 1))
    assert snap(records, "on_time_rate", as_of=a, period=q1) == (1, 1, pct("100.00"))


def test_on_time_day_granularity():
    """Early, same day later hour and no due date are on time; a day late is not: 3/4."""
    records = [
        rec(9, ended="20240310", due="20240315"),  # early
        rec(9, ended="20240310170000", due="20240310080000"),  # same day
        rec(9, ended="20240310", due="20240309"),  # late
        rec(9, ended="20240310", due=None),  # settled at once
    ]
    assert snap(records, "on_time_rate") == (3, 4, pct("75.00"))
    assert snap(records, "progress_rate") == (3, 4, pct("75.00"))


# --------------------------------------------------------------------------------------------
# Record indicator conditions
# --------------------------------------------------------------------------------------------


def test_channels_and_full_online():
    """8 received: channels null,1,"1",2,"2",3,"3",1.

    online 2/8 = 25.00; postal 2/8 = 25.00; full online only channel "2" with MucDo "4"
    (the channel-2 one has the integer 4, the channel-1 one is not online) -> 1/8 = 12.50.
    """
    records = [
        rec(KenhThucHien=None),
        rec(KenhThucHien=1),
        rec(KenhThucHien="1"),
        rec(KenhThucHien=2, MucDo=4),
        rec(KenhThucHien="2", MucDo="4"),
        rec(KenhThucHien=3),
        rec(KenhThucHien="3"),
        rec(KenhThucHien=1, MucDo="4"),
    ]
    assert snap(records, "online_rate") == (2, 8, pct("25.00"))
    assert snap(records, "postal_intake_rate") == (2, 8, pct("25.00"))
    assert snap(records, "full_online_rate") == (1, 8, pct("12.50"))


def test_online_payment():
    """Fee-bearing = some Gia > 0 (5 records); paid online = 1 or 2 (3 of them) -> 60.00."""
    records = [
        rec(DanhSachLePhi=[{"Gia": 0}], DuocThanhToanTrucTuyen=1),  # no fee
        rec(DanhSachLePhi=[{"Gia": 0}, {"Gia": 5000}], DuocThanhToanTrucTuyen=1),  # paid
        rec(DanhSachLePhi=[{"Gia": 20000}], DuocThanhToanTrucTuyen=2),  # paid
        rec(DanhSachLePhi=[{"Gia": 1}], DuocThanhToanTrucTuyen="2"),  # paid (digit string)
        rec(DanhSachLePhi=[{"Gia": 20000}], DuocThanhToanTrucTuyen=3),  # not paid online
        rec(DanhSachLePhi=[{"Gia": 20000}], DuocThanhToanTrucTuyen=None),  # not paid online
        rec(DanhSachLePhi=[], DuocThanhToanTrucTuyen=1),  # no fee
        rec(DuocThanhToanTrucTuyen=1),  # no fee list
    ]
    assert snap(records, "online_payment_rate") == (3, 5, pct("60.00"))


def test_digitized_dossier():
    """HoSoCoThanhPhanSoHoa 1, "1", 0, null -> 2/4 = 50.00."""
    records = [rec(HoSoCoThanhPhanSoHoa=v) for v in (1, "1", 0, None)]
    assert snap(records, "digitized_dossier_rate") == (2, 4, pct("50.00"))


def link(*urls):
    return [{"MaGiayToKetQua": f"KQ{i}", "DuongDanTepTinKetQua": u} for i, u in enumerate(urls)]


def test_digitized_result_and_e_certification():
    """6 resolved (the status-4 one is not resolved).

    electronic: #1, #3, #4 -> digitized_result 3/6 = 50.00
    certification: #1, #2, #3, #6 (folded "chung thuc"); electronic among them #1, #3 -> 2/4
    """
    records = [
        rec(
            10,
            ended="20240310",
            TenLinhVuc="  CHỨNG   THỰC ",
            DanhSachGiayToKetQua=link("https://a"),
        ),
        rec(10, ended="20240310", TenLinhVuc="Chứng thực", DanhSachGiayToKetQua=link("   ")),
        rec(10, ended="20240310", TenLinhVuc="chung thuc", DanhSachGiayToKetQua=link("", "u")),
        rec(10, ended="20240310", TenLinhVuc="Chứng thực bản sao", DanhSachGiayToKetQua=link("u")),
        rec(10, ended="20240310", TenLinhVuc="Đất đai"),
        rec(10, ended="20240310", TenLinhVuc="Chứng thực", DanhSachGiayToKetQua=link(None)),
        rec(4, TenLinhVuc="Chứng thực", DanhSachGiayToKetQua=link("https://b")),
    ]
    assert snap(records, "digitized_result_rate") == (3, 6, pct("50.00"))
    assert snap(records, "e_certification_rate") == (2, 4, pct("50.00"))


def test_postal_return():
    """HinhThuc 1, "1", 0, null among resolved -> 2/4 = 50.00."""
    records = [rec(9, ended="20240310", HinhThuc=v) for v in (1, "1", 0, None)]
    assert snap(records, "postal_return_rate") == (2, 4, pct("50.00"))


def test_satisfaction():
    """Ratings 1, 2, 3 count (null and 4 match nothing) -> 2/3 = 66.666.. -> 66.67."""
    records = [rec(10, ended="20240310", MucDoHaiLong=v) for v in (1, 2, 3, None, 4)]
    assert snap(records, "satisfaction_rate") == (2, 3, pct("66.67"))


# --------------------------------------------------------------------------------------------
# Units, zero denominators, catalogue
# --------------------------------------------------------------------------------------------


def test_subtree_aggregation():
    """Received: R 1, S 2, H 1, X 3 (all 3 online), plus one in an unknown unit (ignored).

    R = 7 (3 online, 42.857.. -> 42.86); H = H + X = 4 (75.00); S = 2 (0.00); X = 3 (100.00)
    """
    records = [rec(unit="R"), rec(unit="S"), rec(unit="S"), rec(unit="H")]
    records += [rec(unit="X", KenhThucHien=2) for _ in range(3)]
    records += [rec(unit="ELSEWHERE", KenhThucHien=2)]
    assert snap(records, "online_rate", unit="R") == (3, 7, pct("42.86"))
    assert snap(records, "online_rate", unit="H") == (3, 4, pct("75.00"))
    assert snap(records, "online_rate", unit="S") == (0, 2, pct("0.00"))
    assert snap(records, "online_rate", unit="X") == (3, 3, pct("100.00"))


def test_every_unit_and_indicator_zero_denominator_is_null():
    """No data: 4 units x 18 indicators, each (0, 0, None) -- never 0 nor 100."""
    expected_codes = {
        "on_time_rate", "progress_rate", "online_rate", "full_online_rate",
        "postal_intake_rate", "postal_return_rate", "online_payment_rate",
        "digitized_dossier_rate", "digitized_result_rate", "e_certification_rate",
        "satisfaction_rate", "catalog_online_rate", "catalog_full_online_rate",
        "catalog_full_online_eligible_rate", "catalog_active_online_rate",
        "catalog_national_portal_rate", "catalog_online_national_portal_rate",
        "catalog_online_payment_rate",
    }  # fmt: skip
    assert set(INDICATOR_CODES) == expected_codes
    result = compute_snapshots([], [], UNITS, date(2024, 3, 31), *MARCH)
    assert set(result) == {(u, c) for u in CODES for c in expected_codes}
    assert set(result.values()) == {(0, 0, None)}


def test_no_resolved_gives_null_not_zero():
    """One open record, no due date: on_time has no denominator (None); progress 1/1."""
    records = [rec(4)]
    assert snap(records, "on_time_rate") == (0, 0, None)
    assert snap(records, "progress_rate") == (1, 1, pct("100.00"))


PROCEDURES = [
    # code, MucDo, eligible, fee, pays online, national portal, handlers
    dict(MaTTHC="P1", MucDo="4", DuDieuKienToanTrinh=1, CoNghiaVuTaiChinh=1,
         CoThanhToanTrucTuyen=1, DaTichHopDVCQG=1, MaDonViThucHien=["X"]),
    dict(MaTTHC="P2", MucDo="3", DuDieuKienToanTrinh=1, CoNghiaVuTaiChinh=1,
         CoThanhToanTrucTuyen=0, DaTichHopDVCQG=0, MaDonViThucHien=["X", "H"]),
    dict(MaTTHC="P3", MucDo="2", DuDieuKienToanTrinh=0, CoNghiaVuTaiChinh=0,
         CoThanhToanTrucTuyen=0, DaTichHopDVCQG=1, MaDonViThucHien=["S"]),
    dict(MaTTHC="P4", MucDo=4, DuDieuKienToanTrinh="1", CoNghiaVuTaiChinh=0,
         CoThanhToanTrucTuyen=0, DaTichHopDVCQG=0, MaDonViThucHien=["H"]),
    dict(MaTTHC="P5", MucDo="4", DuDieuKienToanTrinh=1, CoNghiaVuTaiChinh=1,
         CoThanhToanTrucTuyen=1, DaTichHopDVCQG=1, MaDonViThucHien=["NOT-A-UNIT"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("unit", "code", "expected"),
    [
        # R: P1..P4 (P2 once though handled by X and H; P5 belongs to no unit)
        ("R", "catalog_online_rate", (2, 4, "50.00")),  # P1, P2 (P4's MucDo is int 4)
        ("R", "catalog_full_online_rate", (1, 4, "25.00")),  # P1
        ("R", "catalog_full_online_eligible_rate", (1, 3, "33.33")),  # P1 of P1, P2, P4
        ("R", "catalog_national_portal_rate", (2, 4, "50.00")),  # P1, P3
        ("R", "catalog_online_national_portal_rate", (1, 2, "50.00")),  # P1 of P1, P2
        ("R", "catalog_online_payment_rate", (1, 2, "50.00")),  # P1 of P1, P2
        # H: P1, P2, P4
        ("H", "catalog_online_rate", (2, 3, "66.67")),
        ("H", "catalog_full_online_eligible_rate", (1, 3, "33.33")),
        # X: P1, P2
        ("X", "catalog_full_online_rate", (1, 2, "50.00")),
        ("X", "catalog_online_rate", (2, 2, "100.00")),
        # S: P3 only
        ("S", "catalog_online_rate", (0, 1, "0.00")),
        ("S", "catalog_national_portal_rate", (1, 1, "100.00")),
        ("S", "catalog_full_online_eligible_rate", (0, 0, None)),
        ("S", "catalog_online_national_portal_rate", (0, 0, None)),
        ("S", "catalog_online_payment_rate", (0, 0, None)),
    ],
)
def test_catalogue_indicators(unit, code, expected):
    num, den, value = expected
    got = snap([], code, unit=unit, procedures=PROCEDURES)
    assert got == (num, den, None if value is None else pct(value))


def test_catalogue_duplicate_procedure_last_wins():
    """P3 listed again without national-portal integration: S counts it once, as 0/1."""
    procedures = PROCEDURES + [dict(PROCEDURES[2], DaTichHopDVCQG=0)]
    got = snap([], "catalog_national_portal_rate", unit="S", procedures=procedures)
    assert got == (0, 1, pct("0.00"))


def test_catalog_active_online_rate():
    """Procedures: P1 "3" (X), P2 "2" (X), P3 "4" (S). RECEIVED in March:
    P1 in H, P2 in X, P3 in R; P3 in S only with statuses 1 and 3; P1 in X only in February.

    X: P1, P2 active only P2 -> 0/1;  H: P1 (in H), P2 (in X) -> 1/2;
    S: P3 has no received record in S -> 0/0;  R: P1, P2, P3 all active -> 2/3 = 66.67
    """
    procedures = [
        {"MaTTHC": "P1", "MucDo": "3", "MaDonViThucHien": ["X"]},
        {"MaTTHC": "P2", "MucDo": "2", "MaDonViThucHien": ["X"]},
        {"MaTTHC": "P3", "MucDo": "4", "MaDonViThucHien": ["S"]},
    ]
    records = [
        rec(4, unit="H", MaTTHC="P1"),
        rec(2, unit="X", MaTTHC="P2"),
        rec(9, unit="R", ended="20240306", MaTTHC="P3"),
        rec(1, unit="S", received=None, MaTTHC="P3"),
        rec(3, unit="S", received=None, MaTTHC="P3"),
        rec(2, unit="X", received="20240215", MaTTHC="P1"),
    ]
    code = "catalog_active_online_rate"
    kw = {"procedures": procedures}
    assert snap(records, code, unit="X", **kw) == (0, 1, pct("0.00"))
    assert snap(records, code, unit="H", **kw) == (1, 2, pct("50.00"))
    assert snap(records, code, unit="S", **kw) == (0, 0, None)
    assert snap(records, code, unit="R", **kw) == (2, 3, pct("66.67"))


# --------------------------------------------------------------------------------------------
# Rounding, folding, periods
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (2, 3, "66.67"),  # 66.666..
        (1, 3, "33.33"),  # 33.333..
        (1, 8, "12.50"),  # exact
        (1, 800, "0.13"),  # 0.125 exactly: half away from zero (float round gives 0.12)
        (2469, 20000, "12.35"),  # 12.345 exactly -> 12.35 (banker's would give 12.34)
        (19797, 20000, "98.99"),  # 98.985 -> 98.99
        (0, 5, "0.00"),
        (5, 5, "100.00"),
        (0, 0, None),
    ],
)
def test_value_pct_rounding(num, den, expected):
    assert value_pct(num, den) == (None if expected is None else Decimal(expected))


def test_fold():
    """Accents, đ, case and whitespace runs disappear."""
    assert fold("  CHỨNG   THỰC ") == "chung thuc"
    assert fold("Chứng\tthực\n") == "chung thuc"
    assert fold("ĐẤT ĐAI") == "dat dai"
    assert fold("Chứng thực bản sao") != fold("Chứng thực")


def test_period_bounds():
    d = date(2024, 2, 10)
    assert period_bounds("month", d) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds("quarter", date(2024, 11, 15)) == (date(2024, 10, 1), date(2024, 12, 31))
    assert period_bounds("quarter", d) == (date(2024, 1, 1), date(2024, 3, 31))
    assert period_bounds("year", d) == (date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(ValueError):
        period_bounds("week", d)


def test_period_start_must_start_the_period():
    with pytest.raises(ValueError):
        compute_snapshots([], [], UNITS, date(2024, 3, 31), "month", date(2024, 3, 2))


def test_expected_snapshot_keys():
    """Month, quarter and year of A, plus target years up to year(A) (2025 is later)."""
    keys = expected_snapshot_keys(date(2024, 5, 15), {2021, 2024, 2025})
    assert keys == {
        ("month", date(2024, 5, 1)),
        ("quarter", date(2024, 4, 1)),
        ("year", date(2024, 1, 1)),
        ("year", date(2021, 1, 1)),
    }


def test_compute_run_covers_all_keys():
    """4 snapshot keys (May, Q2, 2024, 2021) x 4 units x 18 indicators."""
    run = compute_run([rec()], [], UNITS, date(2024, 5, 15), {2021})
    assert len(run) == 4 * 4 * 18
    assert run[("X", "online_rate", "year", date(2021, 1, 1))] == (0, 0, None)


# --------------------------------------------------------------------------------------------
# Malformed record versions
# --------------------------------------------------------------------------------------------


def good() -> dict:
    """A valid status-10 version with every date and a fee."""
    return rec(
        10,
        received="20240305080000",
        due="20240315170000",
        ended="20240310090000",
        returned="20240311090000",
        DanhSachLePhi=[{"MaPhiLePhi": "L1", "Gia": 50000}, {"Gia": 0}],
    )


ABSENT = object()


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"MaHoSo": ABSENT}, "missing_code"),
        ({"MaHoSo": None}, "missing_code"),
        ({"MaHoSo": "   "}, "missing_code"),
        ({"MaDonVi": ""}, "missing_code"),
        ({"MaDonVi": ABSENT}, "missing_code"),
        ({"MaDonVi": "NOPE"}, "unknown_unit"),
        ({"MaDonVi": " X"}, "unknown_unit"),
        ({"TrangThaiHoSo": 0}, "bad_status"),
        ({"TrangThaiHoSo": 11}, "bad_status"),
        ({"TrangThaiHoSo": "11"}, "bad_status"),
        ({"TrangThaiHoSo": "abc"}, "bad_status"),
        ({"TrangThaiHoSo": " 5"}, "bad_status"),
        ({"TrangThaiHoSo": ""}, "bad_status"),
        ({"TrangThaiHoSo": None}, "bad_status"),
        ({"TrangThaiHoSo": True}, "bad_status"),
        ({"TrangThaiHoSo": 9.0}, "bad_status"),
        ({"KenhThucHien": 0}, "bad_channel"),
        ({"KenhThucHien": 4}, "bad_channel"),
        ({"KenhThucHien": "4"}, "bad_channel"),
        ({"KenhThucHien": ""}, "bad_channel"),
        ({"KenhThucHien": True}, "bad_channel"),
        ({"KenhThucHien": 2.0}, "bad_channel"),
        ({"NgayTiepNhan": "2024-03-05 08:00:00"}, "malformed_date"),
        ({"NgayTiepNhan": "20240230080000"}, "malformed_date"),  # 30 February
        ({"NgayTiepNhan": "2024030508000"}, "malformed_date"),  # 13 digits
        ({"NgayTiepNhan": 20240305080000}, "malformed_date"),  # a number
        ({"NgayTiepNhan": " "}, "malformed_date"),
        ({"NgayHenTra": "20241301000000"}, "malformed_date"),  # month 13
        ({"NgayTra": "20240311240000"}, "malformed_date"),  # hour 24
        ({"NgayCapNhat": "20240401000060"}, "malformed_date"),  # second 60
        ({"NgayCapNhat": None}, "missing_updated_at"),
        ({"NgayCapNhat": ""}, "missing_updated_at"),
        ({"TrangThaiHoSo": 2, "NgayTiepNhan": None}, "missing_required_date"),
        ({"TrangThaiHoSo": 7, "NgayKetThucXuLy": ""}, "missing_required_date"),
        ({"TrangThaiHoSo": 9, "NgayKetThucXuLy": None}, "missing_required_date"),
        ({"NgayTra": None}, "missing_required_date"),  # status 10
        ({"NgayHenTra": "20240304235959"}, "due_before_received"),
        ({"DanhSachLePhi": [{"Gia": -1}]}, "bad_fee"),
        ({"DanhSachLePhi": [{"Gia": 1.5}]}, "bad_fee"),
        ({"DanhSachLePhi": [{"Gia": 1000.0}]}, "bad_fee"),
        ({"DanhSachLePhi": [{"Gia": "100"}]}, "bad_fee"),  # strict JSON ints only
        ({"DanhSachLePhi": [{"Gia": True}]}, "bad_fee"),
        ({"DanhSachLePhi": [{"Gia": None}]}, "bad_fee"),
        ({"DanhSachLePhi": [{"Gia": 0}, {"TenPhiLePhi": "no price"}]}, "bad_fee"),
        # several broken: the first rule in portal-api.md's order wins
        ({"MaDonVi": "NOPE", "TrangThaiHoSo": 99}, "unknown_unit"),
        ({"KenhThucHien": 9, "NgayTiepNhan": "bad"}, "bad_channel"),
        ({"NgayCapNhat": "yesterday", "NgayTra": None}, "malformed_date"),
        ({"NgayHenTra": "20240301000000", "DanhSachLePhi": [{"Gia": -5}]}, "due_before_received"),
    ],
)
def test_malformed_rules(changes, rule):
    record = good()
    for key, value in changes.items():
        if value is ABSENT:
            del record[key]
        else:
            record[key] = value
    assert is_malformed(record, CODES) == rule


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"TrangThaiHoSo": "10"},  # digit string
        {"KenhThucHien": None},
        {"KenhThucHien": "3"},
        {"NgayHenTra": None},
        {"NgayHenTra": "20240305070000"},  # earlier hour, same day as receipt: fine
        {"TrangThaiHoSo": 9, "NgayTra": None},  # NgayTra only required for 10
        {"TrangThaiHoSo": 4, "NgayKetThucXuLy": None, "NgayTra": None},
        {"TrangThaiHoSo": 1, "NgayTiepNhan": None, "NgayHenTra": None},
        {"TrangThaiHoSo": 3, "NgayTiepNhan": ""},
        {"DanhSachLePhi": None},
        {"DanhSachLePhi": [{"Gia": 0}]},
        # kept, at most a warning:
        {"MaTTHC": "UNKNOWN", "LoaiDoiTuong": 9, "MucDoHaiLong": 7, "TruongLa": {"x": 1}},
        {"DanhSachHoSoBoSung": [{"NgayYeuCauBoSung": "not a date"}]},  # only top-level dates
    ],
)
def test_accepted_versions(changes):
    record = good()
    record.update(changes)
    assert is_malformed(record, CODES) is None


# --------------------------------------------------------------------------------------------
# Newest accepted version
# --------------------------------------------------------------------------------------------


def version(code, updated, **changes):
    record = good()
    record.update(MaHoSo=code, NgayCapNhat=updated, **changes)
    return record


def test_newest_accepted_keeps_older_when_newest_is_malformed():
    """A: 1 Mar (ok), 5 Mar (ok), 10 Mar (malformed) -> 5 Mar, whatever the input order.
    B: only a malformed version -> absent. C: two equal NgayCapNhat -> the later given."""
    a1 = version("A", "20240301000000", KenhThucHien=1)
    a2 = version("A", "20240305000000", KenhThucHien=2)
    a3 = version("A", "20240310000000", KenhThucHien=9)
    b1 = version("B", "20240301000000", MaDonVi="NOPE")
    c1 = version("C", "20240301000000", KenhThucHien=1)
    c2 = version("C", "20240301000000", KenhThucHien=3)
    result = newest_accepted([a3, a2, b1, a1, c1, c2], CODES)
    assert set(result) == {"A", "C"}
    assert result["A"] is a2
    assert result["C"] is c2


# --------------------------------------------------------------------------------------------
# Target evaluation
# --------------------------------------------------------------------------------------------

MID_2024 = date(2024, 6, 30)
END_2024 = date(2024, 12, 31)


@pytest.mark.parametrize(
    ("num", "den", "comparator", "threshold", "as_of", "status"),
    [
        # 989/1000 = 98.9 exactly: "> 98.9" fails, ">= 98.9" passes
        (989, 1000, ">", "98.9", MID_2024, "at_risk"),
        (989, 1000, ">", "98.9", END_2024, "missed"),
        (989, 1000, ">=", "98.9", MID_2024, "on_track"),
        (989, 1000, ">=", "98.9", END_2024, "met"),
        # 19797/20000 = 98.985 rounds to 98.99 but is below 98.99
        (19797, 20000, ">=", "98.99", END_2024, "missed"),
        (19797, 20000, ">=", "98.985", END_2024, "met"),
        # 2/3 = 66.666.. (rounded 66.67): below 66.67, above 66.66
        (2, 3, ">=", "66.67", MID_2024, "at_risk"),
        (2, 3, ">", "66.66", MID_2024, "on_track"),
        # 1/3 = 33.333.. > 33.33 although the rounded value equals it
        (1, 3, ">", "33.33", END_2024, "met"),
        # 100% targets
        (50, 50, ">=", "100", END_2024, "met"),
        (99, 100, ">=", "100", END_2024, "missed"),
        (0, 7, ">=", "0", MID_2024, "on_track"),
        (0, 7, ">", "0", MID_2024, "at_risk"),
        # year boundary: 30 Dec still running, a later year's A is final
        (1, 2, ">=", "60", date(2024, 12, 30), "at_risk"),
        (1, 2, ">=", "40", date(2025, 1, 15), "met"),
        # no data
        (0, 0, ">=", "50", MID_2024, "no_data"),
        (0, 0, ">=", "50", END_2024, "no_data"),
    ],
)
def test_evaluate_target(num, den, comparator, threshold, as_of, status):
    assert evaluate_target(num, den, comparator, Decimal(threshold), 2024, as_of, True) == status


def test_rounded_value_equals_threshold_but_exact_is_below():
    """The rounded value_pct equals 98.99, still the target is missed."""
    assert value_pct(19797, 20000) == Decimal("98.99")
    assert evaluate_target(19797, 20000, ">=", Decimal("98.99"), 2024, END_2024, True) == "missed"


def test_not_measured():
    """No indicator: not_measured whatever the counts or the date."""
    assert evaluate_target(None, None, ">=", Decimal("80"), 2024, MID_2024, False) == (
        "not_measured"
    )
    assert evaluate_target(None, None, ">", Decimal("80"), 2023, END_2024, False) == (
        "not_measured"
    )


def test_no_indicator_no_reported_figure_either_side_of_report_due():
    """reported-figures.md: awaiting_report once report_due is past, not_due until then."""
    due = date(2025, 1, 20)
    assert evaluate_target(None, None, ">=", Decimal("80"), 2024, date(2025, 1, 20), False,
                           report_due=due) == "not_due"
    assert evaluate_target(None, None, ">=", Decimal("80"), 2024, date(2025, 1, 21), False,
                           report_due=due) == "awaiting_report"
    assert evaluate_target(None, None, ">=", Decimal("80"), 2024, MID_2024, False,
                           report_due=due) == "not_due"


def test_future_year_and_bad_comparator_are_errors():
    with pytest.raises(ValueError):
        evaluate_target(1, 1, ">=", Decimal("50"), 2025, END_2024, True)
    with pytest.raises(ValueError):
        evaluate_target(1, 1, "<", Decimal("50"), 2024, END_2024, True)
