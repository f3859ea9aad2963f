"""egov_nightly with `recompute_only` (no portal is reachable: none is configured with a
connection) recomputes the marts of its as-of day from the warehouse; egov_reports then writes
the HTML report and Biểu 06 files. Real `airflow dags test` runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime

import pytest

from tests import oracle
from tests.e2e_support import (
    AIRFLOW,
    PORTALS,
    airflow_env,
    expected_snapshots,
    form06_table,
    migrate_metadata,
    run_dag,
    snapshot_table,
    target_years,
)
from tests.test_recompute import load

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def metadata_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_env(home)
    migrate_metadata(env)
    return home, env


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_recompute_only_run_then_reports(kind, metadata_home, tmp_path, request):
    from egov.simulator.world import build_world
    from egov.warehouse.db import make_engine
    from tests.conftest import create_pg_database, drop_pg_database

    home, env = metadata_home
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = create_pg_database("egov_e2e_reports")
        request.addfinalizer(lambda: drop_pg_database(url))
    world = build_world(seed=13, scale=80, clock=datetime(2025, 6, 30, 20, 0))
    engine = make_engine(url)
    load(engine, world, PORTALS)  # what earlier nightly runs left in the warehouse
    reports = tmp_path / "reports"
    # no AIRFLOW_CONN_PORTAL_*: a run that called a portal would fail on the connection
    env = {**env, "AIRFLOW_CONN_EGOV_WAREHOUSE": url, "EGOV_REPORTS_DIR": str(reports),
           "EGOV_RAW_DIR": str(tmp_path / "raw")}
    code, text = run_dag(env, "2025-06-01", {"recompute_only": True}, log_dir=tmp_path / "logs")
    assert code == 0, text[-5000:]
    assert "recompute_only: no portal is called" in text
    as_of = date(2025, 5, 31)
    clocks = [world.clock]
    assert snapshot_table(engine, as_of) == expected_snapshots(
        world, PORTALS, clocks, as_of, target_years(PORTALS))
    form = form06_table(engine, as_of)
    assert form and all(oracle.form06_reconciles(c) for _, c in form.values())
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*.json"))

    proc = subprocess.run([AIRFLOW, "dags", "test", "egov_reports", "2025-06-01"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    latest = json.loads((reports / "latest.json").read_text())
    assert latest["as_of"] == "2025-05-31"
    folder = reports / "2025-05-31"
    names = {p.name for p in folder.iterdir()}
    assert {"targets.html", "manifest.json"} <= names
    assert {f"bieu06_{p}.csv" for p in PORTALS} <= names
    assert {f"bieu06_{p}_2025-Q2.xlsx" for p in PORTALS} <= names
    assert 'data-as-of="2025-05-31"' in (reports / "latest" / "targets.html").read_text()
    engine.dispose()
