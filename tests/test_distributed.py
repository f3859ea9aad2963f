"""egov_nightly on Airflow's distributed executor, natively: API server, scheduler,
dag-processor, triggerer and two Celery workers (Redis broker, PostgreSQL metadata DB and
warehouse), with the settings of include/config/deployment.yaml that docker-compose.yaml
follows. Runs are triggered through the REST API with a real user's token; the mapped portal
windows run on both workers, on the queues the settings name; a worker killed mid-extract
leaves the warehouse as a clean run does."""

from __future__ import annotations

import json
import os
import signal
from datetime import date, datetime

import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.distributed_support import Cluster
from tests.e2e_support import expected_snapshots, portal_conn_env, table_rows, target_years

pytestmark = [pytest.mark.distributed, pytest.mark.postgres]

DAG = "egov_nightly"
CLOCK = datetime(2024, 3, 31, 22, 0)
AS_OF = date(2024, 3, 31)
PORTALS = ["binh-dinh", "tay-ninh"]
WORKERS = ["worker-a", "worker-b"]
HANG = "extract.mid@binh-dinh"  # the failpoint the kill case arms
TABLES = ("fct_dossier", "quarantine_record", "mart_indicator_snapshot",
          "mart_target_evaluation", "dim_unit", "dim_procedure", "unit_closure")


@pytest.fixture(scope="module")
def world_fleet():
    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world

    world = build_world(seed=5, scale=120, clock=CLOCK, malformed_rate=0.01)
    credentials = {code: (code, f"pw-{code}-dist") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials,
                           portals=PORTALS)
    fleet.start()
    yield world, fleet, credentials
    fleet.stop()


@pytest.fixture(scope="module")
def cluster(world_fleet, tmp_path_factory, request):
    from egov.runtime.deployment import load_settings

    world, fleet, credentials = world_fleet
    workdir = tmp_path_factory.mktemp("distributed")
    portals_file = workdir / "portals.yaml"
    portals_file.write_text(json.dumps({"portals": [
        {"code": c, "conn_id": f"portal_{c.replace('-', '_')}"} for c in PORTALS]}))
    (workdir / "failpoints").mkdir()
    warehouse = create_pg_database("egov_dist")
    env = {
        **portal_conn_env(fleet, credentials),
        "AIRFLOW_CONN_EGOV_WAREHOUSE": warehouse,
        "EGOV_PORTALS_FILE": str(portals_file),
        "EGOV_RAW_DIR": str(workdir / "raw"),
        # A first load in two or more mapped windows per portal (~400 records each: windows
        # of 36 months, not joined under a cap of 250), retried once if need be.
        "EGOV_FIRST_LOAD_WINDOW_MONTHS": "36",
        "EGOV_WINDOW_MAX_VERSIONS": "250",
        "EGOV_TASK_RETRIES": "1",
        "EGOV_RETRY_DELAY_SECONDS": "1",
        "EGOV_FAILPOINTS": f"{HANG}:hang",  # fires only while armed (the kill case)
        "EGOV_FAILPOINTS_DIR": str(workdir / "failpoints"),
        "EGOV_FAILPOINT_HANG_SECONDS": "300",
    }
    c = Cluster(workdir, load_settings(), env)
    c.warehouse_url = warehouse
    failed_before, passed = request.session.testsfailed, False
    try:
        # Two task slots per worker: the four windows' extracts are dispatched at once and
        # one worker cannot hold them all.
        c.start({name: 2 for name in WORKERS})
        api = c.api()
        c._wait(lambda: _dag_parsed(api), 180, f"{DAG} to be parsed")
        api.request("PATCH", f"/dags/{DAG}", json={"is_paused": False})
        yield c
        passed = request.session.testsfailed == failed_before
    finally:
        c.stop()
        drop_pg_database(warehouse)
        if not passed:
            print(f"distributed test logs kept in {c.save_artefacts()}")


def _dag_parsed(api) -> bool:
    return any(d["dag_id"] == DAG for d in api.get("/dags", dag_id_pattern=DAG)["dags"])


def _trigger(cluster, logical_date: str) -> str:
    api = cluster.api()
    run = api.request("POST", f"/dags/{DAG}/dagRuns",
                      json={"logical_date": logical_date, "conf": {"as_of": AS_OF.isoformat()}})
    return run["dag_run_id"]


def _wait_run(cluster, run_id: str, timeout: float = 600) -> str:
    api = cluster.api()
    state = {}

    def done():
        state["run"] = api.get(f"/dags/{DAG}/dagRuns/{run_id}")["state"]
        return state["run"] in ("success", "failed")

    cluster._wait(done, timeout, f"run {run_id} to end")
    return state["run"]


def _warehouse(url: str) -> dict:
    from egov.warehouse import schema
    from egov.warehouse.db import make_engine

    engine = make_engine(url)
    rows = {name: table_rows(engine, schema.metadata.tables[name]) for name in TABLES}
    engine.dispose()
    return rows


def _snapshots(url: str) -> dict:
    from egov.warehouse.db import make_engine
    from tests.e2e_support import snapshot_table

    engine = make_engine(url)
    got = snapshot_table(engine, AS_OF)
    engine.dispose()
    return got


def _ti_summary(tis) -> str:
    return "\n".join(f"{t['task_id']}[{t['map_index']}] {t['state']} try {t['try_number']} "
                     f"{t['hostname']} {t['queue']}" for t in tis)


@pytest.fixture(scope="module")
def clean_run(cluster):
    run_id = _trigger(cluster, "2024-04-01T00:00:00+07:00")
    state = _wait_run(cluster, run_id)
    tis = cluster.api().task_instances(DAG, run_id)
    assert state == "success", f"{_ti_summary(tis)}\n{cluster.tails()}"
    return {"run_id": run_id, "tis": tis, "rows": _warehouse(cluster.warehouse_url),
            "snapshots": _snapshots(cluster.warehouse_url)}


def test_nightly_runs_on_two_celery_workers_on_the_configured_queues(
    cluster, clean_run, world_fleet
):
    world, _, _ = world_fleet
    settings = cluster.settings["pipeline"]
    tis = clean_run["tis"]
    summary = _ti_summary(tis)

    # The marts equal the oracle's figures over the simulator's data.
    assert clean_run["snapshots"] == expected_snapshots(world, PORTALS, [CLOCK], AS_OF,
                                                         target_years(PORTALS))
    loaded = {dict(r)["dossier_code"] for r in clean_run["rows"]["fct_dossier"]}
    assert loaded == {c for p in PORTALS for c in world.warehouse_truth(p, [CLOCK])}
    assert clean_run["rows"]["mart_target_evaluation"]

    # Every task succeeded (retries are on, as in production), on a worker of ours, from the
    # queue the settings give it.
    assert {t["state"] for t in tis} == {"success"}, summary
    assert {t["hostname"] for t in tis} <= set(WORKERS), summary
    extracts = [t for t in tis if t["task_id"] == "portal.extract"]
    others = [t for t in tis if t["task_id"] != "portal.extract"]
    assert len(extracts) >= 2 * len(PORTALS), summary  # several windows per portal
    assert {t["try_number"] for t in extracts} == {1}, summary  # each window read once
    assert {t["queue"] for t in extracts} == {settings["EGOV_EXTRACT_QUEUE"]}, summary
    assert {t["queue"] for t in others} == {settings["EGOV_WAREHOUSE_QUEUE"]}, summary
    assert {t["pool"] for t in extracts} == {settings["EGOV_EXTRACT_POOL"]}, summary
    # The mapped portal windows were shared out between both workers.
    assert {t["hostname"] for t in extracts} == set(WORKERS), summary
    pool = cluster.api().get(f"/pools/{settings['EGOV_EXTRACT_POOL']}")
    assert pool["slots"] == cluster.settings["extract_pool"]["slots"]


def test_a_worker_killed_mid_extract_is_retried_elsewhere_to_the_same_warehouse(
    cluster, clean_run
):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN_URL

    # The same (now empty) warehouse database as the clean run's: workers keep their settings.
    name = make_url(cluster.warehouse_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    failpoints = cluster.workdir / "failpoints"
    (failpoints / f"{HANG}.armed").touch()
    run_id = _trigger(cluster, "2024-04-01T12:00:00+07:00")
    hit = failpoints / f"{HANG}.hit.json"
    cluster._wait(hit.exists, 300, "an extract of binh-dinh to reach the failpoint")
    stuck = json.loads(hit.read_text())
    victim = stuck["worker"]
    survivor = next(w for w in WORKERS if w != victim)
    cluster.kill(victim)  # the worker, its pool and task supervisors
    try:
        os.killpg(stuck["pgid"], signal.SIGKILL)  # the task process has its own group
    except ProcessLookupError:
        pass

    state = _wait_run(cluster, run_id)
    api = cluster.api()
    tis = api.task_instances(DAG, run_id)
    summary = _ti_summary(tis)
    assert state == "success", f"{summary}\n{cluster.tails()}"

    # The stuck window's first try ran on the killed worker; its retry on the other one.
    retried = [t for t in tis if t["task_id"] == "portal.extract" and t["try_number"] > 1]
    assert retried, summary
    moved = []
    for t in retried:
        tries = api.tries(DAG, run_id, t["task_id"], t["map_index"])
        first = min(tries, key=lambda x: x["try_number"])
        last = max(tries, key=lambda x: x["try_number"])
        if first["hostname"] == victim:
            moved.append(t)
            assert last["state"] == "success" and last["hostname"] == survivor, tries
    assert any("binh-dinh" in (t.get("rendered_map_index") or "") for t in moved), summary
    # After the kill, everything ran on the survivor; nothing is left on the dead worker.
    assert {t["state"] for t in tis} == {"success"}, summary

    # The warehouse ends identical to the clean run's.
    assert _snapshots(cluster.warehouse_url) == clean_run["snapshots"]
    rows = _warehouse(cluster.warehouse_url)
    for table in TABLES:
        assert rows[table] == clean_run["rows"][table], table
