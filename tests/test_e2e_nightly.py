"""egov_nightly end to end: `airflow dags test` against the simulator over HTTP, on SQLite and
PostgreSQL. The mart tables must equal the oracle's figures over the simulator's own data;
a later run sees changed records; a rerun duplicates nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tests import oracle
from tests.e2e_support import (
    PORTALS,
    airflow_env,
    expected_form06,
    expected_snapshots,
    form06_table,
    migrate_metadata,
    portal_conn_env,
    run_dag,
    snapshot_table,
    table_rows,
    target_years,
)

pytestmark = pytest.mark.e2e

SCALE = 150  # records per province per year: small, every shape still present


@pytest.fixture(scope="module")
def metadata_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_env(home)
    migrate_metadata(env)
    return home, env


@pytest.fixture
def fleet_world():
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    world = build_world(seed=11, scale=SCALE, clock=datetime(2025, 6, 30, 20, 0),
                        malformed_rate=0.01)
    credentials = {code: (code, f"pw-{code}-e2e") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    yield fleet, world, credentials
    fleet.stop()


def _warehouse_url(kind, tmp_path, pg_factory):
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return pg_factory()



def _expected_evaluations(snapshots, as_of):
    from egov.compute.plans import load_plans

    expected = {}
    for plan in load_plans():
        for target in plan.targets:
            for year, threshold in target.thresholds.items():
                if year > as_of.year:
                    continue
                num = den = None
                if target.indicator and target.indicator.startswith("dvcqg:"):
                    # the 766 index: this world has none: no data, no outlook
                    expected[(plan.code, target.code, year)] = (
                        None, None, "no_data", None, None, None, None)
                    continue
                if target.indicator:
                    num, den, _ = snapshots[(target.unit, target.indicator, "year",
                                             date(year, 1, 1).isoformat())]
                month, day = (int(x) for x in target.report_due.split("-"))
                status = oracle.evaluate_target(num, den, target.comparator, threshold, year,
                                                as_of, target.indicator is not None,
                                                report_due=date(year + 1, month, day))
                outlook = oracle.outlook(num, den, target.comparator, threshold, year, as_of,
                                         target.indicator)
                expected[(plan.code, target.code, year)] = (num, den, status, *outlook)
    return expected


def _evaluations(engine, as_of):
    from sqlalchemy import select

    from egov.warehouse.schema import mart_target_evaluation as t

    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.as_of_date == as_of)).mappings().all()
    return {(r["plan_code"], r["target_code"], r["year"]):
            (r["numerator"], r["denominator"], r["status"], r["projected_denominator"],
             r["needed_numerator"], _pct(r["needed_share_pct"]), r["outlook"]) for r in rows}


def _pct(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_nightly_runs_match_the_oracle_and_reruns_are_idempotent(
    kind, metadata_home, fleet_world, tmp_path, request
):
    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import fct_dossier, quarantine_record
    from tests.conftest import create_pg_database, drop_pg_database

    home, env = metadata_home
    fleet, world, credentials = fleet_world
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = create_pg_database("egov_e2e")
        request.addfinalizer(lambda: drop_pg_database(url))
    env = {**env, **portal_conn_env(fleet, credentials), "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
           "EGOV_RAW_DIR": str(tmp_path / "raw"), "EGOV_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
           # a first load in several windows per portal (~650 records each): 18-month
           # windows, cut and joined by count under a cap of 300
           "EGOV_FIRST_LOAD_WINDOW_MONTHS": "18", "EGOV_WINDOW_MAX_VERSIONS": "300"}
    logs = tmp_path / "logs"
    clocks = [world.clock]

    # Run 1: first load of every portal, as of 2025-06-30.
    # Data Docs cost ~2.5 s per window: built in the first SQLite run only.
    code, text = run_dag({**env, "EGOV_DATA_DOCS": str(kind == "sqlite")}, "2025-07-01",
                         log_dir=logs)
    assert code == 0, text[-5000:]
    engine = make_engine(url)
    as_of1 = date(2025, 6, 30)
    years = target_years(PORTALS)
    expected1 = expected_snapshots(world, PORTALS, clocks, as_of1, years)
    got1 = snapshot_table(engine, as_of1)
    assert got1 == expected1
    evaluations1 = _expected_evaluations(expected1, as_of1)
    assert _evaluations(engine, as_of1) == evaluations1
    assert any(e[6] for e in evaluations1.values()), "running-year targets have an outlook"
    form1 = form06_table(engine, as_of1)
    assert form1 == expected_form06(world, PORTALS, clocks, as_of1)
    assert all(oracle.form06_reconciles(counts) for _, counts in form1.values())
    quarantined = table_rows(engine, quarantine_record)
    assert quarantined, "the simulator's malformed versions must reach quarantine"
    with engine.connect() as conn:  # the first load ran in several windows per portal
        from sqlalchemy import text as sql

        per_portal = dict(conn.execute(sql(
            "SELECT portal_code, count(*) FROM etl_extract_window GROUP BY portal_code")).all())
    assert set(per_portal) == set(PORTALS) and min(per_portal.values()) >= 2, per_portal
    if kind == "sqlite":  # GX Data Docs of the run, for operators
        index = tmp_path / "data_docs" / "gx" / "uncommitted" / "data_docs" / "local_site"
        assert "dossier" in (index / "index.html").read_text(encoding="utf-8").lower()

    # Run 2: two days later the portals report changed and new records.
    world.set_clock(world.clock + timedelta(days=2))
    clocks.append(world.clock)
    before = {r[0][1] for r in table_rows(engine, fct_dossier)}
    code, text = run_dag(env, "2025-07-03", log_dir=logs)
    assert code == 0, text[-5000:]
    as_of2 = date(2025, 7, 2)
    expected2 = expected_snapshots(world, PORTALS, clocks, as_of2, years)
    assert snapshot_table(engine, as_of2) == expected2
    assert _evaluations(engine, as_of2) == _expected_evaluations(expected2, as_of2)
    assert form06_table(engine, as_of2) == expected_form06(world, PORTALS, clocks, as_of2)
    assert snapshot_table(engine, as_of1) == expected1, "history of other days stays"
    truth = {c for p in PORTALS for c in world.warehouse_truth(p, clocks)}
    facts = table_rows(engine, fct_dossier)
    assert {dict(r)["dossier_code"] for r in facts} == truth
    assert len(truth) > len(before)

    # Rerun of run 2: the same warehouse, nothing duplicated.
    marts_before = {name: table_rows(engine, t) for name, t in _tables().items()}
    code, text = run_dag(env, "2025-07-03", log_dir=logs)
    assert code == 0, text[-5000:]
    for name, t in _tables().items():
        assert table_rows(engine, t) == marts_before[name], name
    engine.dispose()

    if kind != "sqlite":
        return
    # The raw zone alone rebuilds the same warehouse, without calling any portal.
    fleet.stop()
    rebuilt_url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "egov.pipeline.rebuild", "--url", rebuilt_url,
         "--raw-dir", env["EGOV_RAW_DIR"]],
        env={**env, "AIRFLOW_CONN_EGOV_WAREHOUSE": rebuilt_url}, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rebuilt = make_engine(rebuilt_url)
    for name, t in _tables().items():
        assert table_rows(rebuilt, t) == marts_before[name], name
    rebuilt.dispose()


def _tables():
    from egov.warehouse import schema

    return {n: schema.metadata.tables[n] for n in (
        "fct_dossier", "quarantine_record", "mart_indicator_snapshot",
        "mart_target_evaluation", "mart_form06", "dim_unit", "dim_procedure", "unit_closure")}
