"""The nightly steps outside Airflow: a malformed plan stops a run before the warehouse is
touched; a portal window above the quality gate commits quarantine but no facts."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from egov import pipeline
from egov.compute.plans import PlanError
from egov.sources.raw_zone import PageWriter

UNITS = [{"MaDonVi": "P", "TenDonVi": "Tỉnh", "MaDonViCha": None, "CapDonVi": "TINH"},
         {"MaDonVi": "C", "TenDonVi": "Xã", "MaDonViCha": "P", "CapDonVi": "XA"}]


def record(i: int, **change) -> dict:
    return {"MaHoSo": f"H{i:04d}", "MaDonVi": "C", "TrangThaiHoSo": 4, "KenhThucHien": 1,
            "NgayTiepNhan": "20250301080000", "NgayHenTra": "20250305170000",
            "NgayCapNhat": f"202503021{i % 10}0000", "DanhSachLePhi": [], **change}


def write_window(tmp_path, records: list[dict]) -> str:
    writer = PageWriter("p", "run-1", root=str(tmp_path / "raw"))
    for endpoint, data in (("/api/donvi", UNITS), ("/api/tthc", []), ("/api/hoso", records)):
        body = json.dumps({"error_code": "0", "tongSo": len(data), "data": data}).encode()
        writer.on_page(endpoint, {}, 1, 200, body)
    return writer.finish(extracted_at="2025-03-03T01:00:00", as_of="2025-03-02", seq=0,
                         windows=1, full_refresh=False, window_from="2025-03-01T00:00:00",
                         window_to=None, client_stats={"retries": 0}, seconds=0.1)


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'wh' / 'warehouse.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", url)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("EGOV_DATA_DOCS", "false")
    monkeypatch.setenv("EGOV_PII_KEY", "pipeline-steps-test-key")
    return tmp_path


def test_a_malformed_plan_fails_prepare_before_the_warehouse_is_touched(env, monkeypatch):
    plans = env / "plans"
    plans.mkdir()
    (plans / "bad.yaml").write_text("code: x\ntitle: t\nportal: binh-dinh\nunit: U\n"
                                    "targets:\n  - code: a\n    indicator: nope\n"
                                    "    comparator: '>='\n    thresholds: {2025: 50}\n"
                                    "    clause: c\n", encoding="utf-8")
    monkeypatch.setenv("EGOV_PLANS_DIR", str(plans))
    with pytest.raises(PlanError, match=r"bad\.yaml.*indicator"):
        pipeline.prepare(params={}, logical_date=datetime(2025, 3, 3))
    assert not (env / "wh").exists()


def test_the_quality_gate_commits_quarantine_but_no_facts(env, monkeypatch):
    from egov.quality.gate import QualityGateError
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from egov.warehouse.schema import etl_watermark, fct_dossier, quarantine_record

    engine = make_engine()
    upgrade(engine)
    bad = [record(i, TrangThaiHoSo=99) for i in range(30)]
    location = write_window(env, [record(i) for i in range(30, 40)] + bad)
    monkeypatch.setenv("EGOV_MAX_REJECTED_SHARE", "0.5")
    with pytest.raises(QualityGateError, match="p"):
        pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fct_dossier)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(quarantine_record)).scalar() == 30
        assert conn.execute(select(etl_watermark)).first() is None

    monkeypatch.setenv("EGOV_MAX_REJECTED_SHARE", "0.9")  # an operator raises the gate
    pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fct_dossier)).scalar() == 10
        assert conn.execute(select(func.count()).select_from(quarantine_record)).scalar() == 30
        assert conn.execute(select(etl_watermark.c.updated_through)).scalar() == \
            datetime(2025, 3, 2, 19, 0)
    engine.dispose()
