"""Two portals, two windows at once, on PostgreSQL: a unit code sent by two portals fails the
second portal's load naming both portals and the codes (unit codes are national and unique
across portals); two windows of one portal loading at the same time both commit."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from egov import pipeline
from egov.warehouse.db import make_engine
from egov.warehouse.load import UnitCodeConflict
from egov.warehouse.migrations import upgrade
from egov.warehouse.schema import (
    dim_unit,
    etl_extract_window,
    etl_portal_run,
    fct_dossier,
    unit_closure,
)
from tests.boundary_support import UNITS, pipeline_env, record, write_window


@pytest.fixture
def pg(pg_url, tmp_path, monkeypatch):
    env = pipeline_env(pg_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine, env
    engine.dispose()


def _units(engine):
    with engine.connect() as conn:
        units = {(r.unit_code, r.portal_code) for r in conn.execute(select(dim_unit))}
        closure = {(r.ancestor_code, r.descendant_code, r.portal_code)
                   for r in conn.execute(select(unit_closure))}
    return units, closure


def test_a_unit_code_of_another_portal_fails_the_load_naming_both(pg, tmp_path):
    engine, _env = pg
    first = write_window(tmp_path / "raw", [record("A")], portal="p1")
    pipeline.load({"portal_code": "p1", "manifest": first}, run_id="run-1")
    before = _units(engine)
    assert before[0] == {("P", "p1"), ("C", "p1")}

    theirs = [{"MaDonVi": "Q", "TenDonVi": "Tỉnh khác", "MaDonViCha": None, "CapDonVi": "TINH"},
              {"MaDonVi": "C", "TenDonVi": "Xã", "MaDonViCha": "Q", "CapDonVi": "XA"},
              {"MaDonVi": "P", "TenDonVi": "Tỉnh", "MaDonViCha": "Q", "CapDonVi": "SO"}]
    second = write_window(tmp_path / "raw", [record("B")], portal="p2", units=theirs)
    with pytest.raises(UnitCodeConflict) as caught:
        pipeline.run_portal_step("load", {"portal_code": "p2", "manifest": second},
                                 run_id="run-1")
    message = str(caught.value)
    assert "portal p2" in message and "p1" in message and "C, P" in message
    assert "unique across portals" in message
    assert _units(engine) == before, "the other portal's units are untouched"
    with engine.connect() as conn:
        status = dict(conn.execute(select(etl_portal_run.c.portal_code,
                                          etl_portal_run.c.status)).all())
        error = conn.execute(select(etl_portal_run.c.error).where(
            etl_portal_run.c.portal_code == "p2")).scalar_one()
        dossiers = set(conn.execute(select(fct_dossier.c.dossier_code)).scalars())
    assert status == {"p1": "loaded", "p2": "failed"}
    assert "C, P" in error and "p1" in error
    assert dossiers == {"A"}, "nothing of the failed load is committed"


def _load_in_a_process(env: dict, location: str, portal: str) -> subprocess.Popen:
    code = ("import sys; from egov import pipeline; "
            "pipeline.load({'portal_code': sys.argv[1], 'manifest': sys.argv[2]}, "
            "run_id='run-1')")
    return subprocess.Popen([sys.executable, "-c", code, portal, location],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _waiting_for_advisory_locks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )).scalar_one()


def test_two_windows_of_one_portal_loading_at_once_both_commit(pg, tmp_path):
    """The two windows of a first load start together; each replaces the portal's units.
    The test holds the portal's lock until both loads wait for it, so they really meet."""
    from egov.warehouse.load import lock_portal

    engine, env = pg
    many_units = UNITS + [{"MaDonVi": f"X{i}", "TenDonVi": f"Xã {i}", "MaDonViCha": "P",
                           "CapDonVi": "XA"} for i in range(300)]
    windows = [
        write_window(tmp_path / "raw", [record(f"A{i}", "20230105000000") for i in range(50)],
                     seq=0, windows=2, units=many_units, window_from="2021-01-01T00:00:00"),
        write_window(tmp_path / "raw", [record(f"B{i}", "20250302100000") for i in range(50)],
                     seq=1, windows=2, units=many_units, window_from="2024-01-01T00:00:00"),
    ]
    holder = engine.connect()
    transaction = holder.begin()
    lock_portal(holder, "p")
    loads = [_load_in_a_process(env, location, "p") for location in windows]
    try:
        deadline = time.monotonic() + 180
        while _waiting_for_advisory_locks(engine) < 2:
            assert time.monotonic() < deadline, "the loads never reached the lock"
            assert all(p.poll() is None for p in loads), [p.communicate()[0] for p in loads]
            time.sleep(0.2)
    finally:
        transaction.commit()
        holder.close()
    outputs = [p.communicate(timeout=300)[0] for p in loads]
    assert [p.returncode for p in loads] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    units, closure = _units(engine)
    assert len(units) == 302 and {p for _u, p in units} == {"p"}
    assert len(closure) == 302 + 301  # each unit with itself, and under P
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fct_dossier)).scalar() == 100
        states = conn.execute(select(etl_extract_window.c.seq, etl_extract_window.c.status)
                              .order_by(etl_extract_window.c.seq)).all()
        run = conn.execute(select(etl_portal_run.c.status, etl_portal_run.c.records_loaded)
                           ).one()
    assert [tuple(s) for s in states] == [(0, "committed"), (1, "committed")]
    assert tuple(run) == ("loaded", 100)
