"""egov_nightly against faulty portals (portal-api.md, "Failures a client must expect"): with
every fault mode switched on, the warehouse ends as a clean run's would, and nothing is lost."""

from __future__ import annotations

from datetime import date, datetime

import pytest

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

CLOCK = datetime(2023, 9, 30, 21, 0)
AS_OF = date(2023, 9, 30)
# Small pages, short timeouts and backoff: many requests, so every fault really happens.
CLIENT = "read_timeout=1&connect_timeout=2&max_retries=8&backoff_base=0.05&backoff_max=0.5"
ONE_MODE_EACH = (
    "binh-dinh:429=0.25,5xx=0.2,retry_after=1;"
    "tay-ninh:hang=0.15,reset=0.15,cut=0.15,hang_s=2;"
    "thanh-hoa:not_json=0.2,error_code=0.2,session=4;"
    "vinh-phuc:dup=0.5"
)


@pytest.fixture(scope="module")
def metadata_env(tmp_path_factory):
    env = airflow_env(tmp_path_factory.mktemp("airflow"))
    migrate_metadata(env)
    return env



def _run(metadata_env, tmp_path, faults: str | None, *, malformed_rate: float):
    """One run against a fresh fleet with `faults`; returns (engine, world, counts, log)."""
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world
    from egov.warehouse.db import make_engine

    world = build_world(seed=23, scale=100, clock=CLOCK, malformed_rate=malformed_rate)
    credentials = {code: (code, f"pw-{code}") for code in PORTALS}
    with SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials) as fleet:
        if faults:
            fleet.apply_faults(faults, seed=3)
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        env = {**metadata_env, **portal_conn_env(fleet, credentials, CLIENT),
               "AIRFLOW_CONN_EGOV_WAREHOUSE": url, "EGOV_RAW_DIR": str(tmp_path / "raw"),
               "EGOV_PAGE_SIZE": "40", "EGOV_FIRST_LOAD_WINDOW_MONTHS": "24"}
        code, text = run_dag(env, "2023-10-01", log_dir=tmp_path / "logs")
        counts = {p: fleet.fault_counts(p) for p in PORTALS}
    assert code == 0, text[-6000:]
    return make_engine(url), world, counts, text


def test_each_fault_mode_on_its_own_portal_gives_the_clean_warehouse(metadata_env, tmp_path):
    from egov.warehouse.schema import fct_dossier, quarantine_record

    faulty, world, counts, _ = _run(metadata_env, tmp_path / "faulty", ONE_MODE_EACH,
                                    malformed_rate=0.01)
    clean, _, _, _ = _run(metadata_env, tmp_path / "clean", None, malformed_rate=0.01)
    assert {"429", "5xx"} <= set(counts["binh-dinh"])
    assert {"hang", "reset", "cut"} <= set(counts["tay-ninh"])
    assert {"not_json", "error_code", "session"} <= set(counts["thanh-hoa"])
    assert {"dup"} <= set(counts["vinh-phuc"])
    assert snapshot_table(faulty, AS_OF) == snapshot_table(clean, AS_OF) == \
        expected_snapshots(world, PORTALS, [CLOCK], AS_OF, target_years())
    for table in (fct_dossier, quarantine_record):
        assert table_rows(faulty, table) == table_rows(clean, table), table.name
    faulty.dispose()
    clean.dispose()


def test_all_faults_at_once_across_the_four_portals(metadata_env, tmp_path):
    """Every fault, records changing while the client pages (the clock moves): the warehouse
    holds every record the portals had, in its newest version at the end of the run."""
    from sqlalchemy import select

    from egov.warehouse.schema import etl_portal_run, fct_dossier

    engine, world, counts, text = _run(metadata_env, tmp_path, "*:all,429=0.06,5xx=0.06,hang=0.06,reset=0.05,cut=0.06,not_json=0.06,error_code=0.06,hang_s=2",
                                       malformed_rate=0.0)
    end = world.clock
    assert end > CLOCK, "records changed while the client paged"
    kinds = set().union(*counts.values())
    assert {"429", "5xx", "hang", "reset", "cut", "not_json", "error_code", "session", "dup",
            "churn"} <= kinds, counts
    truth = {(p, r["MaHoSo"]): r["NgayCapNhat"] for p in PORTALS
             for r in world.dossiers_as_of(p, end)}
    with engine.connect() as conn:
        loaded = {(r.portal_code, r.dossier_code): r.updated_at.strftime("%Y%m%d%H%M%S")
                  for r in conn.execute(select(fct_dossier))}
        runs = list(conn.execute(select(etl_portal_run)))
    assert loaded == truth
    assert {r.status for r in runs} == {"loaded"}
    assert sum(r.retries for r in runs) > 0
    assert snapshot_table(engine, AS_OF) == expected_snapshots(world, PORTALS, [end], AS_OF,
                                                               target_years())
    engine.dispose()
