"""The simulated 766 index: served at the contract's paths over the simulator's world, read
by the real client and pipeline, consistent with the one-stop records but for the share of
records that never synced."""

from __future__ import annotations

from datetime import datetime

import pytest

from egov.pipeline.dvcqg import read_province
from egov.simulator.dvcqg import (
    IndexServer,
    crosswalk_yaml,
    department_id,
    provinces_yaml,
    root_department_id,
    unsynced_share,
)
from egov.simulator.world import build_world
from egov.sources.dvcqg.client import DvcqgClient, DvcqgError

PORTAL = "binh-dinh"
YEAR = {"timeType": "year", "year": 2025}


@pytest.fixture(scope="module")
def world():
    return build_world(seed=7, scale=200, clock=datetime(2025, 12, 31, 23, 0))


def _client(srv):
    return DvcqgClient(srv.base_url, province_code=PORTAL, pause=0, max_retries=0)


def _progress(srv, root):
    [data] = _client(srv).read_pages("/api/v1/reporting/evaluation/dvc-progress-tree",
                                     dict(YEAR, rootDepartmentId=root), 100)
    return data


def _one_stop_received(world, portal, year):
    n = 0
    for v in world.versions(portal, current_only=True):
        d = v.data
        status, rec = d.get("TrangThaiHoSo"), d.get("NgayTiepNhan")
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if status in (1, 3) or not isinstance(status, int) or not isinstance(rec, str):
            continue
        if rec[:4] == str(year) and len(rec) == 14 and rec.isdigit():
            n += 1
    return n


def test_with_every_record_synced_the_index_counts_what_the_portal_holds(world):
    with IndexServer(world, unsynced=0.0) as srv:
        data = _progress(srv, root_department_id(PORTAL))
    received = data["parent"]["totalReceived"]
    assert received == _one_stop_received(world, PORTAL, 2025) > 0
    units = {u["MaDonVi"] for u in world.units(PORTAL)}
    assert len(data["children"]) == len(units) - 1
    assert {c["departmentId"] for c in data["children"]} == {
        department_id(u["MaDonVi"]) for u in world.units(PORTAL) if u["MaDonViCha"]}
    p = data["parent"]
    assert p["totalScore"] == round(20 * p["totalOnTime"] / p["totalReceived"], 2)


def test_records_that_never_synced_are_missing_per_unit(world):
    with IndexServer(world, unsynced=0.2) as srv:
        lost = _progress(srv, root_department_id(PORTAL))["parent"]["totalReceived"]
    full = _one_stop_received(world, PORTAL, 2025)
    assert 0.6 * full < lost < full  # 0 to 40 % lost per unit
    shares = {unsynced_share(u["MaDonVi"], 0.2) for u in world.units(PORTAL)}
    assert len(shares) > 1  # units lose different shares


def test_the_pipeline_reads_all_six_groups_and_bad_requests_fail(world, warehouse, tmp_path):
    province = {"code": PORTAL, "name": "Bình Định", "conn_id": "dvcqg_sim",
                "root_department_id": root_department_id(PORTAL)}
    with IndexServer(world, unsynced=0.05) as srv:
        [result] = read_province(province, [{"period": "2025-12", "provisional": False}],
                                 as_of="2025-12-31", run_id="sim__1", engine=warehouse,
                                 client=_client(srv), raw_root=str(tmp_path))
        assert result["complete"] and result["score_warnings"] == 0
        with pytest.raises(DvcqgError, match="code NOT_FOUND"):
            _client(srv).post("/api/v1/reporting/evaluation/transparency",
                              dict(YEAR, rootDepartmentId="nope"))
    files = provinces_yaml(world, "dvcqg_sim") + crosswalk_yaml(world)
    assert root_department_id(PORTAL) in files and "000.00.00.H08" in files
