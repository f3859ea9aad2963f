"""A portal that is down fails the run, naming it, without stopping the others; a task killed
mid-extract or mid-load (SIGKILL) and run again leaves the warehouse as a clean run would."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.e2e_support import (
    PORTALS,
    airflow_env,
    expected_snapshots,
    migrate_metadata,
    portal_conn_env,
    run_dag,
    snapshot_table,
    table_rows,
    target_years,
)

pytestmark = pytest.mark.e2e

CLOCK = datetime(2024, 3, 31, 22, 0)
AS_OF = date(2024, 3, 31)


@pytest.fixture(scope="module")
def metadata_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_env(home)
    migrate_metadata(env)
    return env


@pytest.fixture
def fleet_world():
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    world = build_world(seed=5, scale=120, clock=CLOCK, malformed_rate=0.01)
    credentials = {code: (code, f"secret-{code}") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    yield fleet, world, credentials
    fleet.stop()


def _env(metadata_env, fleet, credentials, tmp_path, **extra):
    return {**metadata_env, **portal_conn_env(fleet, credentials),
            "AIRFLOW_CONN_EGOV_WAREHOUSE": f"sqlite:///{tmp_path / 'warehouse.db'}",
            "EGOV_RAW_DIR": str(tmp_path / "raw"), **extra}



def test_a_portal_down_fails_the_run_naming_it_and_the_others_publish(
    metadata_home, fleet_world, tmp_path
):
    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import etl_portal_run

    fleet, world, credentials = fleet_world
    fleet.stop_portal("thanh-hoa")
    env = _env(metadata_home, fleet, credentials, tmp_path)
    code, text = run_dag(env, "2024-04-01", log_dir=tmp_path / "logs")
    assert code != 0
    assert "portals failed in this run: thanh-hoa" in text
    engine = make_engine(env["AIRFLOW_CONN_EGOV_WAREHOUSE"])
    up = [p for p in PORTALS if p != "thanh-hoa"]
    assert snapshot_table(engine, AS_OF) == expected_snapshots(world, up, [CLOCK], AS_OF,
                                                                target_years())
    with engine.connect() as conn:
        runs = {r.portal_code: r for r in conn.execute(select(etl_portal_run))}
    assert runs["thanh-hoa"].status == "failed" and "thanh-hoa" in runs["thanh-hoa"].error
    assert {runs[p].status for p in up} == {"loaded"}
    engine.dispose()


def test_killed_tasks_rerun_to_the_same_warehouse_as_a_clean_run(
    metadata_home, fleet_world, tmp_path
):
    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import fct_dossier, quarantine_record

    fleet, world, credentials = fleet_world
    logs = tmp_path / "logs"
    env = _env(metadata_home, fleet, credentials, tmp_path)
    for point in ("extract.mid@binh-dinh", "load.before_commit@tay-ninh"):
        code, text = run_dag({**env, "EGOV_FAILPOINTS": point}, "2024-04-01", log_dir=logs)
        assert code != 0, f"{point}: the run should have been killed"
    code, text = run_dag(env, "2024-04-01", log_dir=logs)
    assert code == 0, text[-5000:]

    clean_env = _env(metadata_home, fleet, credentials, tmp_path / "clean")
    code, text = run_dag(clean_env, "2024-04-01", log_dir=logs)
    assert code == 0, text[-5000:]

    crashed = make_engine(env["AIRFLOW_CONN_EGOV_WAREHOUSE"])
    clean = make_engine(clean_env["AIRFLOW_CONN_EGOV_WAREHOUSE"])
    assert snapshot_table(crashed, AS_OF) == snapshot_table(clean, AS_OF) == \
        expected_snapshots(world, PORTALS, [CLOCK], AS_OF, target_years())
    for table in (fct_dossier, quarantine_record):
        assert table_rows(crashed, table) == table_rows(clean, table)
    crashed.dispose()
    clean.dispose()
