"""Property (portal-api.md, "Values nobody promised"): arbitrary JSON in any field of real
records, units and procedures (taken from the simulator) never stops a window. Through the
raw zone and the real load step (GX validation, warehouse writes) on SQLite and PostgreSQL:
the window commits, every item ends in fct_dossier or quarantine_record, the counts add up,
the quarantined versions are exactly those the contract (the oracle) calls malformed, and
each loaded record holds its parsed row, its odd values stored as null or cut.

EGOV_FUZZ_EXAMPLES (default 10) sets the examples per database."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from egov import pipeline
from egov.sources.onestop.records import (
    LOCAL_TZ,
    dedup_key,
    newest_versions,
    parse_version,
    record_key,
)
from egov.warehouse.schema import (
    etl_extract_window,
    etl_watermark,
    fct_dossier,
    metadata,
    quarantine_record,
)
from tests import oracle
from tests.boundary_support import DEEP, pipeline_env, write_window

EXAMPLES = int(os.environ.get("EGOV_FUZZ_EXAMPLES", "10"))
PORTAL = "binh-dinh"
RECORD_FIELDS = (
    "MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "MaDonVi", "KenhThucHien",
    "MucDo", "LoaiDoiTuong", "ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi",
    "TrangThaiHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat",
    "HinhThuc", "DuocThanhToanTrucTuyen", "HoSoCoThanhPhanSoHoa", "DanhSachLePhi",
    "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "MucDoHaiLong", "Extra")
DEEP_FIELDS = tuple(f for f in RECORD_FIELDS if f not in ("MaHoSo", "NgayCapNhat"))
UNIT_FIELDS = ("MaDonVi", "TenDonVi", "MaDonViCha", "CapDonVi")
PROCEDURE_FIELDS = ("MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "MucDo",
                    "DuDieuKienToanTrinh", "CoNghiaVuTaiChinh", "CoThanhToanTrucTuyen",
                    "DaTichHopDVCQG", "MaDonViThucHien")

ODD_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\x01\x1f\x7f\t\n", "9" * 40,
            "0" * 30 + "1", "C" * 300, "Ω" * 3000, "x" * 100_000, "20240101080000\n",
            "99991231235959", "20240230100000", "20240229120000", "4", "Toan trinh"]
ODD_NUMBERS = [2**63, -(2**63) - 1, 2**15, -(2**15) - 1, 40000, 10**12, 10**12 + 1, 10**20,
               20240101080000, 0, 1, 2, 3, 10]
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-10**40, 10**40)
           | st.sampled_from(ODD_NUMBERS) | st.floats() | st.text(max_size=12)
           | st.sampled_from(ODD_TEXT))
# NgayCapNhat stamped between the request and a day after it (a portal clock running ahead):
# kept, but never moving the watermark past the request (issue 20.2). Drawn as hours ahead.
AHEAD_HOURS = st.sampled_from([0.5, 1, 6, 23.5])
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8)


@functools.cache
def real_data():
    """Real record versions, units and procedures of one simulated portal."""
    from egov.simulator.world import build_world

    world = build_world(seed=5, scale=40, clock=datetime(2024, 6, 30, 20, 0),
                        malformed_rate=0.05)
    versions = [v.data for v in world.versions(PORTAL)]
    return versions[::19], world.units(PORTAL), world.procedures(PORTAL)[:12]


@st.composite
def hostile(draw, base: dict, fields: tuple[str, ...], nested: dict):
    """`base` with a few fields replaced by any JSON; sometimes no object at all."""
    if draw(st.integers(0, 11)) == 0:
        return draw(JSON)
    item = dict(base)
    for name in draw(st.lists(st.sampled_from(fields), max_size=4, unique=True)):
        item[name] = draw(JSON)
    for name, keys in nested.items():  # a value inside a list of objects
        if isinstance(item.get(name), list) and item[name] and draw(st.booleans()):
            inner = dict(item[name][0]) if isinstance(item[name][0], dict) else {}
            inner[draw(st.sampled_from(keys))] = draw(JSON)
            item[name] = [inner, *item[name][1:]]
    return item


@st.composite
def batches(draw):
    records, units, procedures = real_data()
    nested = {"DanhSachLePhi": ("Gia", "MaPhiLePhi"),
              "DanhSachGiayToKetQua": ("DuongDanTepTinKetQua",)}
    items = [draw(hostile(r, RECORD_FIELDS, nested)) for r in records]
    ahead = draw(st.lists(st.tuples(st.sampled_from(records), AHEAD_HOURS), max_size=3))
    now = datetime.now(LOCAL_TZ).replace(tzinfo=None)
    items += [dict(r, NgayCapNhat=(now + timedelta(hours=h)).strftime("%Y%m%d%H%M%S"))
              for r, h in ahead]
    # a value nested ~1,500 levels deep in one field (issue 20.3): only its item quarantined
    deep = draw(st.lists(st.tuples(st.sampled_from(records), st.sampled_from(DEEP_FIELDS)),
                         max_size=2))
    items += [dict(r, MaHoSo=f"{r.get('MaHoSo')}~deep{i}", **{name: DEEP})
              for i, (r, name) in enumerate(deep) if isinstance(r, dict)]
    items += draw(st.lists(st.sampled_from(items), max_size=3))  # the same version twice
    units = list(units) + [draw(hostile(u, UNIT_FIELDS, {}))
                           for u in draw(st.lists(st.sampled_from(units), max_size=3))]
    procedures = [draw(hostile(p, PROCEDURE_FIELDS, {})) for p in procedures]
    return items, units, procedures


def _unit_codes(units) -> set[str]:
    return {u["MaDonVi"] for u in units if isinstance(u, dict)
            and isinstance(u.get("MaDonVi"), str) and u["MaDonVi"].strip()}


def _from_the_future(item, now: datetime) -> bool:
    updated = item.get("NgayCapNhat") if isinstance(item, dict) else None
    try:
        moment = oracle.parse_timestamp(updated)
    except oracle.MalformedDate:
        return False
    return moment is not None and moment > now + timedelta(days=1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_env(request, tmp_path_factory):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade
    from tests.conftest import create_pg_database, drop_pg_database

    home = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = (f"sqlite:///{home / 'warehouse.db'}" if request.param == "sqlite"
           else create_pg_database("egov_fuzz"))
    saved = dict(os.environ)
    os.environ.update(pipeline_env(url, home))
    engine = make_engine(url)
    upgrade(engine)
    yield engine, home
    engine.dispose()
    os.environ.clear()
    os.environ.update(saved)
    if request.param == "postgresql":
        drop_pg_database(url)


def _wipe(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(batch=batches())
def test_any_json_in_any_field_never_stops_a_window(fuzz_env, batch):
    engine, home = fuzz_env
    items, units, procedures = batch
    _wipe(engine)
    raw = Path(tempfile.mkdtemp(dir=home))
    try:
        location = write_window(raw, items, portal=PORTAL, units=units, procedures=procedures)
        now = datetime.now(LOCAL_TZ).replace(tzinfo=None)  # about when the page arrives
        result = pipeline.load({"portal_code": PORTAL, "manifest": location}, run_id="fuzz")
        after = datetime.now(LOCAL_TZ).replace(tzinfo=None)
    finally:
        shutil.rmtree(raw)
    assert result["status"] == "committed"

    with engine.connect() as conn:
        window = conn.execute(select(etl_extract_window)).mappings().one()
        watermark = conn.execute(select(etl_watermark.c.updated_through)).scalar()
    assert watermark is None or watermark <= after, "never past the request"
    with engine.connect() as conn:
        facts = {r["dossier_code"]: dict(r) for r in conn.execute(select(fct_dossier)).mappings()}
        quarantined = {(r.record_key, r.version_key) for r in conn.execute(
            select(quarantine_record.c.record_key, quarantine_record.c.version_key))}

    # The counts add up: received = distinct + duplicates; distinct = loaded + quarantined.
    last = {dedup_key(item): item for item in items}  # the same version twice: the later
    assert window["records_received"] == len(items)
    assert window["records_distinct"] == len(last)
    assert window["duplicates_dropped"] == len(items) - len(last)
    assert window["records_loaded"] + window["records_quarantined"] == len(last)
    assert window["records_quarantined"] == len(quarantined)

    # Every item ends in one of the two tables; quarantined are exactly the malformed ones.
    assert {record_key(i) for i in items} <= set(facts) | {k for k, _v in quarantined}
    unit_codes = _unit_codes(units)
    accepted = []
    for item in last.values():
        version = parse_version(item)
        malformed = (oracle.is_malformed(item, unit_codes) is not None
                     or _from_the_future(item, now)
                     or (isinstance(item, dict) and DEEP in item.values()))
        assert (version.identity in quarantined) == malformed, (malformed, version.checks)
        if not malformed:
            accepted.append(version)

    # Each loaded record holds the row of its newest accepted version (odd values null/cut).
    newest = newest_versions(accepted)
    assert set(facts) == {v.record_key for v in newest}
    for version in newest:
        stored = facts[version.record_key]
        assert {k: stored[k] for k in version.row} == version.row
