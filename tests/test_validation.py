"""Each contract rule of portal-api.md, run through the real GX suite, rejects what it must
and nothing else; the oracle agrees on every case."""

from __future__ import annotations

import functools
import os

import pytest

from egov.quality.records import validate_dossiers
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
    ("fee_valid", {"DanhSachLePhi": [{"Gia": 10**20}]}),
    ("fee_valid", {"DanhSachLePhi": [{"Gia": 10**12 + 1}]}),
    ("dossier_code_present", {"MaHoSo": ["A1"]}),
    ("dossier_code_present", {"MaHoSo": 12.5}),
    ("unit_code_present", {"MaDonVi": 5}),
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
    {"DanhSachLePhi": [{"Gia": 10**12}]},
    {"DanhSachLePhi": "none", "MucDo": "Toan trinh", "LoaiDoiTuong": 40000},  # kept
    {"DanhSachLePhi": [5, None, {"Gia": 0}], "TenTTHC": "a\x00b", "MaTTHC": "1." + "9" * 200},
]


@functools.cache
def _bad_outcome():
    """One GX run over GOOD and every BAD case (each test below reads its own case)."""
    records = [GOOD] + [{**GOOD, **change} for _rule, change in BAD]
    return records, validate_dossiers(records, UNITS)


@functools.cache
def _accepted_outcome():
    records = [{**GOOD, **change} for change in ACCEPTED]
    return records, validate_dossiers(records, UNITS)


@pytest.mark.parametrize("case", range(len(BAD)), ids=[f"{r}-{i}" for i, (r, _) in enumerate(BAD)])
def test_each_rule_rejects_its_case(case):
    rule, _change = BAD[case]
    records, outcome = _bad_outcome()
    record = records[case + 1]
    assert [v.payload for v in outcome.accepted] == [GOOD]
    [failures] = [f for v, f in outcome.rejected if v.payload is record]
    assert rule in {f.rule for f in failures}
    assert all(f.reason.startswith(f.rule) for f in failures)
    assert oracle.is_malformed(record, UNITS) is not None


@pytest.mark.parametrize("case", range(len(ACCEPTED)))
def test_good_variants_are_accepted(case):
    records, outcome = _accepted_outcome()
    record = records[case]
    assert outcome.rejected == []
    assert any(v.payload is record for v in outcome.accepted)
    assert oracle.is_malformed(record, UNITS) is None


def test_expectation_summaries_cover_every_rule():
    outcome = validate_dossiers([GOOD, {**GOOD, "TrangThaiHoSo": 0}], UNITS)
    rules = {s["rule"] for s in outcome.expectations}
    assert {"dossier_code_present", "unit_known", "status_valid", "channel_valid",
            "date_format", "date_exists", "updated_at_present", "required_by_status",
            "due_not_before_received", "fee_valid"} <= rules
    failed = [s for s in outcome.expectations if not s["success"]]
    assert [(s["rule"], s["unexpected_count"]) for s in failed] == [("status_valid", 1)]


def test_a_missing_value_is_reported_as_null_and_the_summary_is_json():
    import json

    outcome = validate_dossiers([GOOD, {**GOOD, "MaHoSo": "H2", "NgayTiepNhan": None}], UNITS)
    [required] = [s for s in outcome.expectations
                  if s["rule"] == "required_by_status" and s["field"] == "NgayTiepNhan"]
    assert required["unexpected_count"] == 1 and required["partial_unexpected_list"] == [None]
    json.loads(json.dumps(outcome.expectations, allow_nan=False))  # no NaN reaches the store


# --- property-based: generated records, one mutation each -------------------------------------

from datetime import datetime, timedelta  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from egov.sources.onestop.records import DATE_FIELDS  # noqa: E402

PROCEDURES = {"1.000001.000.00.00.H08", "2.000002.000.00.00.H08"}
# The oracle's rule -> the suite's rule(s) that must fire for it.
ORACLE_TO_SUITE = {
    "missing_code": {"dossier_code_present", "unit_code_present"},
    "unknown_unit": {"unit_known"},
    "bad_status": {"status_valid"},
    "bad_channel": {"channel_valid"},
    "malformed_date": {"date_format", "date_exists"},
    "missing_updated_at": {"updated_at_present"},
    "missing_required_date": {"required_by_status"},
    "due_before_received": {"due_not_before_received"},
    "bad_fee": {"fee_valid"},
}
PROPERTY = settings(max_examples=int(os.environ.get("EGOV_HYPOTHESIS_EXAMPLES", "8")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


@st.composite
def valid_records(draw):
    status = draw(st.integers(1, 10))
    received = draw(st.datetimes(datetime(2021, 1, 1), datetime(2025, 6, 1))).replace(
        microsecond=0)
    rec = {
        "MaHoSo": draw(st.text("ABCDEFGH0123456789.-", min_size=1, max_size=12).filter(
            lambda s: s.strip())),
        "MaDonVi": draw(st.sampled_from(sorted(UNITS))),
        "MaTTHC": draw(st.sampled_from(sorted(PROCEDURES))),
        "TrangThaiHoSo": draw(st.sampled_from([status, str(status), f"{status:02d}"])),
        "KenhThucHien": draw(st.sampled_from([None, 1, 2, 3, "1", "2", "3"])),
        "LoaiDoiTuong": draw(st.sampled_from([None, 1, 2, 3, 4])),
        "MucDoHaiLong": draw(st.sampled_from([None, 1, 2, 3])),
        "ChuHoSo": draw(st.text(min_size=0, max_size=20)),
        "SoDienThoai": draw(st.sampled_from([None, "0912345678"])),
        "DanhSachLePhi": draw(st.sampled_from([None, []]) | st.lists(
            st.fixed_dictionaries({"Gia": st.integers(0, 10**9)}), max_size=3)),
    }
    due = draw(st.sampled_from([None, received + timedelta(days=draw(st.integers(0, 60)),
                                                           hours=draw(st.integers(-12, 12)))]))
    if due is not None and due.date() < received.date():
        due = received
    ended = received + timedelta(days=draw(st.integers(0, 90)), minutes=draw(st.integers(0, 999)))
    returned = ended + timedelta(hours=draw(st.integers(0, 200)))
    rec["NgayTiepNhan"] = (draw(st.sampled_from([None, "", _ts(received)]))
                           if status in (1, 3) else _ts(received))
    rec["NgayHenTra"] = None if due is None or not rec["NgayTiepNhan"] else _ts(due)
    rec["NgayKetThucXuLy"] = (_ts(ended) if status >= 7 or draw(st.booleans())
                              else draw(st.sampled_from([None, ""])))
    rec["NgayTra"] = _ts(returned) if status == 10 or draw(st.booleans()) else None
    rec["NgayCapNhat"] = _ts(returned + timedelta(minutes=5))
    return rec


def _date_field():
    return st.sampled_from(DATE_FIELDS)


MUTATIONS = st.one_of(
    st.tuples(st.just("dossier_code_present"), st.sampled_from(
        [None, "", "   ", 12.5, 7, ["A1"], {"x": 1}, True])),
    st.tuples(st.just("unit_code_present"), st.sampled_from([None, "", " ", 5, ["U1"], 1.5])),
    st.tuples(st.just("unit_known"), st.text(max_size=10).filter(
        lambda s: s.strip() and s not in UNITS) | st.sampled_from([" U1", "U1 ", "u1"])),
    st.tuples(st.just("status_valid"), st.sampled_from([0, 11, 99, -1, "x", None, "1.0", True,
                                                         2.0, "", " 2", "+2"])),
    st.tuples(st.just("channel_valid"), st.sampled_from([0, 4, "", "x", "4", True, 2.5, "-1",
                                                          " 2"])),
    st.tuples(st.just("date_format"), st.tuples(_date_field(), st.sampled_from(
        ["2024-01-01 08:00:00", "20240101", 20240101080000, " ", "2024010108000x",
         "202401010800000", [], "01/01/2024 08:00"]))),
    st.tuples(st.just("date_exists"), st.tuples(_date_field(), st.sampled_from(
        ["20240230100000", "20241301000000", "20240101250000", "20230229120000",
         "20240431000000", "20240101126000"]))),
    st.tuples(st.just("updated_at_present"), st.sampled_from([None, ""])),
    st.tuples(st.just("required_by_status"), st.tuples(
        st.sampled_from(["NgayTiepNhan", "NgayKetThucXuLy", "NgayTra"]), st.integers(0, 3),
        st.sampled_from([None, ""]))),
    st.tuples(st.just("due_not_before_received"), st.integers(1, 400)),
    st.tuples(st.just("fee_valid"), st.sampled_from([-1, -10**6, "100", 1.5, None, True, "0",
                                                      10**12 + 1, 10**20])),
)

# What else a mutation may legitimately make fire: a malformed date also fails date_exists.
ALSO = {"date_format": {"date_exists"}}


def _mutate(rec: dict, mutation) -> dict:
    rule, arg = mutation
    rec = dict(rec)
    status = int(str(rec["TrangThaiHoSo"]))
    if rule == "dossier_code_present":
        rec["MaHoSo"] = arg
    elif rule in ("unit_code_present", "unit_known"):
        rec["MaDonVi"] = arg
    elif rule == "status_valid":
        rec["TrangThaiHoSo"] = arg
    elif rule == "channel_valid":
        rec["KenhThucHien"] = arg
    elif rule in ("date_format", "date_exists"):
        name, value = arg
        rec[name] = value
    elif rule == "updated_at_present":
        rec["NgayCapNhat"] = arg
    elif rule == "required_by_status":
        name, pick, blank = arg
        received = rec["NgayTiepNhan"] or rec["NgayCapNhat"]
        if name == "NgayTiepNhan":
            rec["TrangThaiHoSo"] = [2, 4, 5, 6][pick]
            rec["NgayHenTra"] = None
        elif name == "NgayKetThucXuLy":
            rec["TrangThaiHoSo"] = [7, 8, 9, 10][pick]
            rec["NgayTiepNhan"] = received
            rec["NgayTra"] = rec["NgayTra"] or rec["NgayCapNhat"]
        else:
            rec["TrangThaiHoSo"] = 10
            rec["NgayTiepNhan"] = received
            rec["NgayKetThucXuLy"] = rec["NgayKetThucXuLy"] or rec["NgayCapNhat"]
        if rec["NgayHenTra"] and rec["NgayTiepNhan"] and rec["NgayHenTra"] < rec["NgayTiepNhan"]:
            rec["NgayHenTra"] = rec["NgayTiepNhan"]
        rec[name] = blank
    elif rule == "due_not_before_received":
        if not rec["NgayTiepNhan"]:
            rec["NgayTiepNhan"] = rec["NgayCapNhat"]
        received = datetime.strptime(rec["NgayTiepNhan"], "%Y%m%d%H%M%S")
        rec["NgayHenTra"] = _ts(received.replace(hour=23, minute=59) - timedelta(days=arg))
    elif rule == "fee_valid":
        rec["DanhSachLePhi"] = [{"Gia": 0}, {"Gia": arg}]
    del status
    return rec


@PROPERTY
@given(st.lists(valid_records(), min_size=1, max_size=40))
def test_generated_valid_records_are_accepted(records):
    outcome = validate_dossiers(records, UNITS, PROCEDURES)
    assert outcome.rejected == []
    assert [v.payload for v in outcome.accepted] == records
    assert outcome.warnings == []
    for rec in records:
        assert oracle.is_malformed(rec, UNITS) is None


@PROPERTY
@given(st.lists(st.tuples(valid_records(), MUTATIONS), min_size=1, max_size=40))
def test_one_mutation_fires_exactly_its_rule_and_the_oracle_agrees(cases):
    records = [_mutate(rec, mutation) for rec, mutation in cases]
    outcome = validate_dossiers(records, UNITS, PROCEDURES)
    assert outcome.accepted == []
    assert len(outcome.rejected) == len(records)
    for (version, failures), (_base, (rule, _arg)) in zip(outcome.rejected, cases, strict=True):
        rec = version.payload
        fired = {f.rule for f in failures}
        assert rule in fired, (rule, rec, fired)
        assert fired <= {rule} | ALSO.get(rule, set()), (rule, rec, fired)
        assert all(f.severity == "error" for f in failures)
        verdict = oracle.is_malformed(rec, UNITS)
        assert verdict is not None, (rule, rec)
        assert rule in ORACLE_TO_SUITE[verdict], (rule, verdict, rec)


def test_warnings_keep_the_record_and_are_reported():
    odd = {**GOOD, "MaTTHC": "unknown", "LoaiDoiTuong": 9, "MucDoHaiLong": 7}
    outcome = validate_dossiers([GOOD, odd], UNITS, {"1.000001"})
    assert outcome.rejected == []
    assert [v.payload for v in outcome.accepted] == [GOOD, odd]
    by_record = {id(v.payload): {f.rule for f in fs} for v, fs in outcome.warnings}
    assert by_record[id(odd)] == {"procedure_known", "applicant_type_valid",
                                  "satisfaction_valid"}
    assert by_record[id(GOOD)] == {"procedure_known"}  # GOOD has no MaTTHC
    severities = {s["rule"]: s["severity"] for s in outcome.expectations}
    assert severities["procedure_known"] == severities["satisfaction_valid"] == "warning"
    assert severities["unit_known"] == "error"


def test_failures_never_carry_more_than_the_failing_field():
    secret = "Nguyễn Văn Bí Mật 0912345678"
    record = {**GOOD, "ChuHoSo": secret, "SoDienThoai": "0912345678", "KenhThucHien": 9,
              "NgayHenTra": "2023-12-31", "DanhSachLePhi": [{"Gia": -1}]}
    [(_rec, failures)] = validate_dossiers([record], UNITS).rejected
    for failure in failures:
        assert secret not in failure.reason and "0912345678" not in failure.reason
        assert failure.field in failure.reason
    from egov.quality.rules import Failure

    personal = Failure("x", "SoGiayToChuHoSo", "079123456789", "m")
    assert personal.value != "079123456789" and "079123456789" not in personal.reason
    long_value = Failure("x", "DanhSachLePhi", [{"Gia": -1}] * 200, "m")
    assert len(long_value.reason) < 200
