"""Data quality beyond the record contract: catalogue and unit suites, batch-level warnings,
the quality gate, stored results (SQLite and PostgreSQL) and the recent-run history."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from egov.quality.gate import QualityGateError, check_gate, gate_decision
from egov.quality.history import BatchHistory, recent_history
from egov.quality.portal import validate_portal
from egov.quality.records import validate_dossiers
from egov.quality.results import store_results
from egov.quality.suites import validate_catalogue, validate_units
from tests.test_validation import GOOD

UNITS = [
    {"MaDonVi": "U0", "TenDonVi": "UBND tỉnh", "MaDonViCha": None, "CapDonVi": "TINH"},
    {"MaDonVi": "U1", "TenDonVi": "Sở A", "MaDonViCha": "U0", "CapDonVi": "SO"},
    {"MaDonVi": "U2", "TenDonVi": "Huyện B", "MaDonViCha": "U0", "CapDonVi": "HUYEN"},
]
UNIT_CODES = {u["MaDonVi"] for u in UNITS}
PROC = {"MaTTHC": "P1", "TenTTHC": "x", "MucDo": "4", "DuDieuKienToanTrinh": 1,
        "CoNghiaVuTaiChinh": 0, "CoThanhToanTrucTuyen": "1", "DaTichHopDVCQG": 0,
        "MaDonViThucHien": ["U1", "U2"]}


def _failed(outcome) -> dict:
    return {(s["rule"], s["field"]): s for s in outcome.expectations if not s["success"]}


def test_a_clean_unit_tree_and_catalogue_pass():
    assert not _failed(validate_units(UNITS))
    assert not _failed(validate_catalogue([PROC, {**PROC, "MaTTHC": "P2",
                                                  "MaDonViThucHien": "U1"}], UNIT_CODES))


def test_unit_rules_each_fire():
    units = UNITS + [
        {"MaDonVi": "", "MaDonViCha": "U0", "CapDonVi": "XA"},        # code missing: error
        {"MaDonVi": "U1", "MaDonViCha": "U0", "CapDonVi": "SO"},      # duplicate
        {"MaDonVi": "U3", "MaDonViCha": "U9", "CapDonVi": "PHUONG"},  # parent unknown, level
        {"MaDonVi": "U4", "MaDonViCha": None, "CapDonVi": "TINH"},    # a second root
    ]
    outcome = validate_units(units)
    failed = _failed(outcome)
    assert set(failed) == {("unit_code_present", "MaDonVi"), ("unit_code_unique", "MaDonVi"),
                           ("unit_level_valid", "CapDonVi"), ("parent_known", "MaDonViCha"),
                           ("one_root", "MaDonViCha")}
    assert failed[("one_root", "MaDonViCha")]["observed_value"] == 2
    assert failed[("unit_code_present", "MaDonVi")]["severity"] == "error"
    assert {s["severity"] for k, s in failed.items() if k[0] != "unit_code_present"} == {
        "warning"}
    assert [item for item, _ in outcome.errors] == [units[3]]
    no_root = [{**u, "MaDonViCha": u["MaDonViCha"] or "U1"} for u in UNITS]
    assert ("one_root", "MaDonViCha") in _failed(validate_units(no_root))


def test_catalogue_rules_each_fire():
    items = [
        PROC,
        {**PROC, "MaTTHC": None},                          # missing code: error
        {**PROC},                                          # duplicate P1
        {**PROC, "MaTTHC": "P3", "MucDo": 4},              # MucDo not the string "4"
        {**PROC, "MaTTHC": "P4", "MucDo": "1", "CoNghiaVuTaiChinh": 2},
        {**PROC, "MaTTHC": "P5", "DaTichHopDVCQG": None},
        {**PROC, "MaTTHC": "P6", "MaDonViThucHien": ["U1", "U9"]},
        {**PROC, "MaTTHC": "P7", "MaDonViThucHien": None},
    ]
    outcome = validate_catalogue(items, UNIT_CODES)
    failed = _failed(outcome)
    assert set(failed) == {
        ("procedure_code_present", "MaTTHC"), ("procedure_code_unique", "MaTTHC"),
        ("service_level_valid", "MucDo"), ("flag_valid", "CoNghiaVuTaiChinh"),
        ("flag_valid", "DaTichHopDVCQG"), ("handling_units_known", "MaDonViThucHien")}
    assert failed[("service_level_valid", "MucDo")]["unexpected_count"] == 2
    assert failed[("handling_units_known", "MaDonViThucHien")]["unexpected_count"] == 2
    assert [item for item, _ in outcome.errors] == [items[1]]
    assert {id(i) for i, _ in outcome.warnings} >= {id(items[3]), id(items[6])}


def _records(n, *, null_channels=0, null_due=0):
    out = []
    for i in range(n):
        rec = {**GOOD, "MaHoSo": f"A{i}", "MaDonVi": "U1"}
        if i < null_channels:
            rec["KenhThucHien"] = None
        if i < null_due:
            rec["NgayHenTra"] = None
        out.append(rec)
    return out


def test_batch_warnings_fire_on_volume_and_null_share_jumps_but_reject_nothing():
    history = BatchHistory(volumes=[100, 90, 110, 95], null_channel_shares=[0.1, 0.12, 0.1],
                           null_due_shares=[0.0, 0.01, 0.0])
    records = _records(10, null_channels=8, null_due=5)
    outcome = validate_dossiers(records, {"U1"}, history=history)
    assert outcome.rejected == [] and len(outcome.accepted) == 10
    batch = {s["rule"]: s for s in outcome.expectations if s["suite"] == "dossier_batch"}
    assert set(batch) == {"volume_typical", "null_channel_share", "null_due_date_share"}
    assert all(not s["success"] and s["severity"] == "warning" for s in batch.values())
    assert batch["volume_typical"]["observed_value"] == 10
    assert batch["volume_typical"]["details"] == {"min_value": 32, "max_value": 293}
    assert outcome.batch_warnings and outcome.warnings == []

    calm = validate_dossiers(_records(100, null_channels=10), {"U1"}, history=history)
    assert all(s["success"] for s in calm.expectations if s["suite"] == "dossier_batch")


def test_no_batch_checks_without_enough_history():
    outcome = validate_dossiers(_records(3), {"U1"}, history=BatchHistory(volumes=[100, 100]))
    assert not [s for s in outcome.expectations if s["suite"] == "dossier_batch"]


def test_an_empty_batch_against_a_busy_history_is_a_volume_warning():
    outcome = validate_dossiers([], {"U1"}, history=BatchHistory(volumes=[50, 60, 70]))
    [volume] = outcome.expectations
    assert volume["rule"] == "volume_typical" and not volume["success"]


# --- the gate -------------------------------------------------------------------------------

def _outcome(n_good, bad):
    records = _records(n_good) + [{**GOOD, "MaHoSo": f"B{i}", "MaDonVi": "U1", **change}
                                  for i, change in enumerate(bad)]
    return validate_dossiers(records, {"U1"})


def test_gate_passes_under_the_threshold_and_fails_above_it(monkeypatch):
    bad = [{"TrangThaiHoSo": 0}] * 8 + [{"KenhThucHien": 7}] * 4 + [{"MaDonVi": "U9"}] * 3
    outcome = _outcome(35, bad)  # 15 of 50 rejected: 30 %
    monkeypatch.delenv("EGOV_MAX_REJECTED_SHARE", raising=False)
    with pytest.raises(QualityGateError) as err:
        check_gate(outcome, "binh-dinh")
    message = str(err.value)
    for part in ("binh-dinh", "30.0%", "20.0%", "status_valid (TrangThaiHoSo): 8",
                 "channel_valid (KenhThucHien): 4", "unit_known (MaDonVi): 3"):
        assert part in message, message
    assert err.value.decision.top_rules[0] == ("status_valid (TrangThaiHoSo)", 8)

    monkeypatch.setenv("EGOV_MAX_REJECTED_SHARE", "0.35")
    assert check_gate(outcome, "binh-dinh").passed
    assert not gate_decision(outcome, "binh-dinh", max_share=0.1).passed


def test_gate_ignores_a_handful_of_rejections_in_a_tiny_batch(monkeypatch):
    monkeypatch.delenv("EGOV_GATE_MIN_REJECTED", raising=False)
    outcome = _outcome(2, [{"TrangThaiHoSo": 0}])  # 1 of 3 rejected
    assert check_gate(outcome, "p").passed
    assert not gate_decision(outcome, "p", min_count=1).passed
    assert check_gate(validate_dossiers([], set()), "p").passed


def test_gate_setting_is_checked(monkeypatch):
    from egov.settings import ConfigError

    monkeypatch.setenv("EGOV_MAX_REJECTED_SHARE", "20%")
    with pytest.raises(ConfigError, match="EGOV_MAX_REJECTED_SHARE"):
        check_gate(_outcome(1, []), "p")


# --- stored results and history ----------------------------------------------------------------

def test_results_are_stored_replaced_on_rerun_and_feed_the_history(warehouse):
    from sqlalchemy import func, select

    from egov.warehouse.schema import dq_validation_result as t

    quality = validate_portal(UNITS, [PROC], _records(20, null_channels=4, null_due=2)
                              + [{**GOOD, "MaHoSo": "X", "MaDonVi": "U9"}])
    results = quality.results
    suites = {r["suite"] for r in results}
    assert suites == {"unit_tree", "procedure_catalogue", "dossier_versions"}
    with warehouse.begin() as conn:
        n = store_results(conn, "binh-dinh", "run-1", results,
                          validated_at=datetime(2025, 7, 1, 1, 0))
        assert n == len(results)
        store_results(conn, "binh-dinh", "run-1", results,
                      validated_at=datetime(2025, 7, 1, 1, 5))  # rerun: replaced
        store_results(conn, "binh-dinh", "run-2", quality.records.expectations,
                      validated_at=datetime(2025, 7, 2, 1, 0))
        store_results(conn, "tay-ninh", "run-1", results,
                      validated_at=datetime(2025, 7, 1, 1, 0))
        # a first load in two windows: both kept, they add up in the history
        store_results(conn, "thanh-hoa", "run-1", results, window_seq=0,
                      validated_at=datetime(2025, 7, 1, 1, 0))
        store_results(conn, "thanh-hoa", "run-1", results, window_seq=1,
                      validated_at=datetime(2025, 7, 1, 1, 2))
    with warehouse.connect() as conn:
        count = conn.execute(select(func.count()).select_from(t).where(
            t.c.run_id == "run-1", t.c.portal_code == "binh-dinh")).scalar_one()
        assert count == len(results)
        row = conn.execute(select(t).where(
            t.c.run_id == "run-1", t.c.portal_code == "binh-dinh",
            t.c.rule == "unit_known")).mappings().one()
        assert row["severity"] == "error" and row["success"] is False
        assert (row["element_count"], row["unexpected_count"]) == (21, 1)
        assert json.loads(row["partial_unexpected_list"]) == ["U9"]
        assert row["expectation_type"] == "expect_column_values_to_be_in_set"
        assert row["validated_at"] == datetime(2025, 7, 1, 1, 5)
        history = recent_history(conn, "binh-dinh", before_run_id="run-3")
        assert history.volumes == [21, 21]
        assert history.null_channel_shares == pytest.approx([4 / 21, 4 / 21])
        assert history.null_due_shares == pytest.approx([2 / 21, 2 / 21])
        assert recent_history(conn, "binh-dinh", before_run_id="run-2").volumes == [21]
        assert recent_history(conn, "vinh-phuc").volumes == []
        windows = recent_history(conn, "thanh-hoa")
        assert windows.volumes == [42]
        assert windows.null_channel_shares == pytest.approx([8 / 42])


def test_portal_quality_logs_findings_without_personal_data(caplog):
    secret = "Trần Thị Riêng Tư"
    records = [{**GOOD, "MaDonVi": "U1", "ChuHoSo": secret, "Email": "rieng.tu@example.vn",
                "MaTTHC": "P-unknown", "TrangThaiHoSo": 42}]
    quality = validate_portal(UNITS, [PROC], records)
    with caplog.at_level("INFO"):
        quality.log_findings("binh-dinh")
    text = caplog.text
    assert "ERROR dossier_versions.status_valid" in text
    assert "WARNING dossier_versions.procedure_known" in text
    assert "great_expectations" not in text  # its INFO chatter is silenced
    assert secret not in text and "rieng.tu@example.vn" not in text


def test_validate_batch_reads_the_history_only_for_incremental_runs(tmp_path, caplog):
    from egov.quality.portal import validate_batch
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    busy = validate_dossiers(_records(100), {"U1"})
    with engine.begin() as conn:
        for i in range(3):
            store_results(conn, "p", f"run-{i}", busy.expectations,
                          validated_at=datetime(2025, 7, 1 + i))
    args = {"run_id": "run-9", "units": UNITS, "procedures": [PROC], "records": _records(5)}
    with caplog.at_level("INFO"):
        quality = validate_batch(engine, "p", incremental=True, **args)
    assert [r["rule"] for r in quality.records.batch_warnings] == ["volume_typical"]
    assert "dossier_batch.volume_typical" in caplog.text
    first_load = validate_batch(engine, "p", incremental=False, **args)
    assert not [r for r in first_load.results if r["suite"] == "dossier_batch"]
    engine.dispose()


def test_rules_with_the_same_expectation_each_get_their_result():
    """Two rules may run one expectation with the same arguments (their names, severities
    and messages differ): each is its own expectation, with its own result."""
    import pandas as pd

    from egov.quality.gxrun import build_suite, run_rules
    from egov.quality.rules import WARNING, Rule

    same = {"column": "x", "value_set": ["a"]}
    rules = [Rule("first", "x", "x is a", "ExpectColumnValuesToBeInSet", dict(same)),
             Rule("second", "x", "x is a (warning)", "ExpectColumnValuesToBeInSet", dict(same),
                  severity=WARNING)]
    assert len(build_suite("s", rules).expectations) == 2
    results = run_rules("s", rules, pd.DataFrame({"x": ["a", "b", "a"]}))
    assert [(r.rule.name, r.summary["severity"], r.rows) for r in results] == [
        ("first", "error", [1]), ("second", "warning", [1])]
