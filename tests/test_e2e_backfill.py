"""Airflow's own backfill on egov_nightly, and the reports DAG triggered by the marts' Asset
events, on a live Airflow (API server, scheduler, DAG processor, LocalExecutor; PostgreSQL
metadata DB and warehouse) against the portal simulator over HTTP.

1. Both DAGs unpaused: the scheduled nightly run loads every portal; its `compute` updates
   the mart Assets and egov_reports writes the reports of that run's as-of day.
2. `airflow backfill create --dag-id egov_nightly --from-date 2025-06-28 --to-date 2025-06-30
   --max-active-runs 1` creates one run per night; they succeed, their marts equal the
   oracle's, and the reports of their as-of days are written (as-of read from the events).
3. With the portals down, a backfill with `--dag-run-conf '{"recompute_only": true}'`
   recomputes past days from the warehouse alone.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta

import pytest

from tests import oracle
from tests.airflow_services import Cluster, cluster_env, free_port
from tests.e2e_support import (
    PORTALS,
    airflow_env,
    expected_snapshots,
    form06_table,
    migrate_metadata,
    portal_conn_env,
    snapshot_table,
    target_years,
)

pytestmark = pytest.mark.e2e

CLOCK = datetime(2025, 6, 30, 20, 0)


def _runs(meta_engine, dag_id: str) -> list[dict]:
    import sqlalchemy as sa

    with meta_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT run_id, run_type, state, logical_date, conf, backfill_id FROM dag_run"
            " WHERE dag_id = :d ORDER BY id"), {"d": dag_id}).mappings().all()
    return [dict(r) for r in rows]


def _wait(cluster: Cluster, what: str, done, timeout: float = 1200):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check()
        result = done()
        if result:
            return result
        time.sleep(5)
    raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")


def _backfills_done(meta_engine) -> bool:
    import sqlalchemy as sa

    with meta_engine.connect() as conn:
        return not conn.execute(sa.text(
            "SELECT count(*) FROM backfill WHERE completed_at IS NULL")).scalar()


def _finished(runs: list[dict]) -> bool:
    return bool(runs) and all(r["state"] in ("success", "failed") for r in runs)


def _as_of(run: dict) -> date:
    from egov.periods import as_of_for_logical_date

    return as_of_for_logical_date(run["logical_date"])


def test_backfill_runs_succeed_and_reports_follow_the_assets(tmp_path, request):
    import sqlalchemy as sa

    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world
    from egov.warehouse.db import make_engine
    from tests.conftest import create_pg_database, drop_pg_database

    meta_url = create_pg_database("egov_meta")
    request.addfinalizer(lambda: drop_pg_database(meta_url))
    warehouse_url = create_pg_database("egov_wh")
    request.addfinalizer(lambda: drop_pg_database(warehouse_url))
    world = build_world(seed=17, scale=60, clock=CLOCK, malformed_rate=0.005)
    credentials = {code: (code, f"pw-{code}-bf") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    request.addfinalizer(fleet.stop)

    home = tmp_path / "airflow"
    home.mkdir()
    reports = tmp_path / "reports"
    env = {**airflow_env(home), **portal_conn_env(fleet, credentials),
           "AIRFLOW_CONN_EGOV_WAREHOUSE": warehouse_url, "EGOV_REPORTS_DIR": str(reports),
           "EGOV_RAW_DIR": str(tmp_path / "raw"), "EGOV_FIRST_LOAD_WINDOW_MONTHS": "60"}
    env = cluster_env(env, meta_url, free_port())
    migrate_metadata(env)
    cluster = Cluster(env, tmp_path / "logs")
    request.addfinalizer(cluster.stop)
    cluster.cli("dags", "reserialize")
    cluster.start()
    meta = sa.create_engine(meta_url)
    request.addfinalizer(meta.dispose)
    warehouse = make_engine(warehouse_url)
    request.addfinalizer(warehouse.dispose)

    # 1. the scheduled run, then egov_reports on its Asset events
    cluster.cli("dags", "unpause", "egov_reports")
    cluster.cli("dags", "unpause", "egov_nightly")
    scheduled = _wait(cluster, "the scheduled nightly run", lambda: [
        r for r in _runs(meta, "egov_nightly") if r["run_type"] == "scheduled"
        and r["state"] in ("success", "failed")])
    assert [r["state"] for r in scheduled] == ["success"], cluster.logs()
    first_as_of = _as_of(scheduled[0])
    triggered = _wait(cluster, "egov_reports after the scheduled run", lambda: [
        r for r in _runs(meta, "egov_reports") if r["state"] in ("success", "failed")])
    assert [(r["run_type"], r["state"]) for r in triggered] == [("asset_triggered", "success")]
    latest = json.loads((reports / "latest.json").read_text())
    assert latest["as_of"] == first_as_of.isoformat()

    # 2. Airflow's backfill: one run per night in the range, each incremental
    out = cluster.cli("backfill", "create", "--dag-id", "egov_nightly", "--from-date",
                      "2025-06-28", "--to-date", "2025-06-30", "--max-active-runs", "1")
    backfill = _wait(cluster, "the backfill runs", lambda: (lambda rs: rs if _finished(rs)
                     else None)([r for r in _runs(meta, "egov_nightly")
                                 if r["run_type"] == "backfill"]))
    assert [r["state"] for r in backfill] == ["success", "success"], out + cluster.logs()
    days = sorted(_as_of(r) for r in backfill)
    assert days == [date(2025, 6, 28), date(2025, 6, 29)]
    years = target_years(PORTALS)
    for day in days:
        assert snapshot_table(warehouse, day) == expected_snapshots(
            world, PORTALS, [CLOCK], day, years), day
        form = form06_table(warehouse, day)
        assert form and all(oracle.form06_reconciles(c) for _, c in form.values())
    # egov_reports writes the as-of days named by the events (one run may take several)
    _wait(cluster, "reports of the backfilled days", lambda: all(
        (reports / d.isoformat() / "targets.html").is_file() for d in days))
    report_runs = _wait(cluster, "egov_reports runs to finish", lambda: (
        lambda rs: rs if _finished(rs) else None)(_runs(meta, "egov_reports")))
    assert {r["state"] for r in report_runs} == {"success"}
    assert json.loads((reports / "latest.json").read_text())["as_of"] == first_as_of.isoformat()

    # 3. portals down: a recompute-only backfill needs none of them (one backfill at a time)
    _wait(cluster, "the first backfill to be marked completed", lambda: _backfills_done(meta))
    fleet.stop()
    cluster.cli("backfill", "create", "--dag-id", "egov_nightly", "--from-date", "2025-06-20",
                "--to-date", "2025-06-21", "--max-active-runs", "1", "--dag-run-conf",
                json.dumps({"recompute_only": True}))
    recomputed = _wait(cluster, "the recompute-only backfill", lambda: (
        lambda rs: rs if len(rs) == 1 and _finished(rs) else None)(
        [r for r in _runs(meta, "egov_nightly") if r["run_type"] == "backfill"
         and (r["conf"] or {}).get("recompute_only")]))
    assert [r["state"] for r in recomputed] == ["success"], cluster.logs()
    day = _as_of(recomputed[0])
    assert day == date(2025, 6, 20)
    assert snapshot_table(warehouse, day) == expected_snapshots(world, PORTALS, [CLOCK], day,
                                                                years)
    _wait(cluster, "the recompute-only day's reports",
          lambda: (reports / day.isoformat() / "targets.html").is_file())
    assert first_as_of > day + timedelta(days=365)  # latest never moved back
    assert json.loads((reports / "latest.json").read_text())["as_of"] == first_as_of.isoformat()
