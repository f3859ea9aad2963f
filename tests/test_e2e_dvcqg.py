"""egov_dvcqg end to end: `airflow dags test egov_dvcqg 2026-09-26` against a local server
replaying the recorded answers at the contract's paths, on SQLite and PostgreSQL. The run
reads month 2026-08, Q3 2026 and year 2026 (the replay answers every period with the
recorded year's figures: only they were recorded); a province answered 403 fails its reads
and the run, never the other province's; a rerun with `params.periods` reads just those."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer, recorded
from tests.e2e_support import AIRFLOW, airflow_env, migrate_metadata

pytestmark = pytest.mark.e2e
OTHER_ROOT = "019d2be3-0000-7000-8000-00000000b0b0"


@pytest.fixture(scope="module")
def metadata_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_env(home)
    migrate_metadata(env)
    return home, env


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _env(base_env: dict, server, tmp_path: Path, url: str) -> dict:
    provinces = tmp_path / "dvcqg.yaml"
    provinces.write_text(
        "provinces:\n"
        f"  - {{code: phu-tho, name: Phú Thọ, conn_id: dvcqg_portal, "
        f"root_department_id: {RECORDED_ROOT}}}\n"
        f"  - {{code: other, name: Other, conn_id: dvcqg_portal, "
        f"root_department_id: {OTHER_ROOT}}}\n", encoding="utf-8")
    return {**base_env,
            "AIRFLOW_CONN_DVCQG_PORTAL": json.dumps({"conn_type": "http",
                                                     "host": server.base_url}),
            "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
            "EGOV_DVCQG_FILE": str(provinces),
            "EGOV_DVCQG_PAUSE_SECONDS": "0.02",
            "EGOV_RAW_DIR": str(tmp_path / "raw")}


def _dags_test(env: dict, logical_date: str, conf: dict | None, log_dir: Path):
    cmd = [AIRFLOW, "dags", "test", "egov_dvcqg", logical_date]
    if conf:
        cmd += ["-c", json.dumps(conf)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    text = proc.stdout + proc.stderr
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"dvcqg-{logical_date}.log").write_text(text)
    return proc.returncode, text


def _reads(engine, root):
    from egov.warehouse.schema import dvcqg_read as t

    with engine.connect() as conn:
        return conn.execute(select(t).where(t.c.root_department_id == root)
                            .order_by(t.c.read_at)).all()


def _year_scores(engine):
    from egov.warehouse.schema import dvcqg_score as t

    with engine.connect() as conn:
        rows = conn.execute(select(t.c.department_id, t.c.group_code, t.c.score)
                            .where(t.c.root_department_id == RECORDED_ROOT,
                                   t.c.period_type == "year")).all()
    return {(r.department_id, r.group_code): r.score for r in rows}


def _expected_year_scores():
    from egov.sources.dvcqg.groups import GROUPS, OVERVIEW

    out = {}
    bodies = recorded()
    for g in GROUPS:
        data = json.loads(bodies[g.path])["data"]
        own, rows = (data["overview"], data["evaluation"]) if g.shape == OVERVIEW \
            else (data["parent"], data["children"])
        for i, row in enumerate([own] + rows):
            dep = RECORDED_ROOT if i == 0 else row["departmentId"]
            out[(dep, g.code)] = row["totalScore"] if "totalScore" in row else row["score"]
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_dags_test_reads_the_three_periods_into_the_warehouse(
        metadata_home, server, tmp_path, kind):
    from egov.warehouse.db import make_engine
    from tests.conftest import create_pg_database, drop_pg_database

    _, base_env = metadata_home
    url = f"sqlite:///{tmp_path / 'w.db'}" if kind == "sqlite" else create_pg_database()
    engine = make_engine(url)
    try:
        env = _env(base_env, server, tmp_path, url)
        server.script[(OTHER_ROOT, "evaluation/transparency")] = [(403, b"")]
        rc, text = _dags_test(env, "2026-09-26", None, tmp_path / "logs")
        assert rc != 0, text[-3000:]  # the other province's reads failed: the run says so
        assert "reads failed" in text and "HTTP 403" in text
        reads = _reads(engine, RECORDED_ROOT)
        assert [(r.period_type, r.period_start, r.complete, r.provisional) for r in reads] == [
            ("month", date(2026, 8, 1), True, True),
            ("quarter", date(2026, 7, 1), True, True),
            ("year", date(2026, 1, 1), True, True)]
        assert all(r.as_of_date == date(2026, 9, 25) and r.reason is None for r in reads)
        blocked = _reads(engine, OTHER_ROOT)
        assert [r.complete for r in blocked] == [False] * 3
        assert blocked[0].http_status == 403 and "not read" in blocked[1].reason
        assert _year_scores(engine) == _expected_year_scores()  # every score as recorded
        from egov.warehouse.schema import dvcqg_metric, dvcqg_score

        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(dvcqg_score)).scalar() == \
                3 * 6 * 164
            assert conn.execute(select(func.count()).select_from(dvcqg_metric).where(
                dvcqg_metric.c.root_department_id == OTHER_ROOT)).scalar() == 0
        # requests: the contract's bodies for the month (timeType month) and satisfaction
        bodies = [b for p, b in server.requests if b.get("rootDepartmentId") == RECORDED_ROOT]
        assert {"timeType": "month", "year": 2026, "month": 8,
                "rootDepartmentId": RECORDED_ROOT, "currentPage": 1, "pageSize": 200} in bodies
        assert {"fromDate": "2026-07-01", "toDate": "2026-09-30",
                "rootDepartmentId": RECORDED_ROOT, "currentPage": 1, "pageSize": 200} in bodies
        assert len(bodies) == 18

        # a backfill of named periods for one province: a new complete read of that period
        rc, text = _dags_test(env, "2026-09-27", {"periods": ["2026-08"],
                                                  "provinces": ["phu-tho"]},
                              tmp_path / "logs")
        assert rc == 0, text[-3000:]
        reads = _reads(engine, RECORDED_ROOT)
        assert [(r.period_type, r.complete) for r in reads][-1] == ("month", True)
        assert len(reads) == 4
        from egov.warehouse.schema import dvcqg_score_history

        with engine.connect() as conn:
            versions = conn.execute(select(func.count(func.distinct(dvcqg_score_history.c.read_at)))
                                    .where(dvcqg_score_history.c.period_type == "month")).scalar()
            current = conn.execute(select(func.count()).select_from(dvcqg_score)
                                   .where(dvcqg_score.c.period_type == "month")).scalar()
        assert versions == 2 and current == 6 * 164
        # the index's Assets were updated, each event naming the reads that became current
        from sqlalchemy import create_engine, text

        meta = create_engine(f"sqlite:///{metadata_home[0] / 'airflow.db'}")
        with meta.connect() as conn:
            events = conn.execute(text(
                "SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.uri LIKE 'egov://warehouse/dvcqg_%' ORDER BY e.id")).all()
            reconciled = conn.execute(text(
                "SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.uri IN ('egov://warehouse/mart_source_reconciliation', "
                "'egov://warehouse/mart_dvcqg_preview') ORDER BY e.id")).all()
        meta.dispose()
        # the reconcile task ran after the reads and updated its Assets (as-of day, counts)
        last = [json.loads(e.extra) if isinstance(e.extra, str) else e.extra
                for e in reconciled[-2:]]
        assert {e.uri for e in reconciled[-2:]} == {
            "egov://warehouse/mart_source_reconciliation", "egov://warehouse/mart_dvcqg_preview"}
        assert all(x["confirmed"] == 1 and "flagged" in x and x["as_of"] for x in last)
        extras = [json.loads(e.extra) if isinstance(e.extra, str) else e.extra
                  for e in events[-2:]]
        assert {e.uri for e in events[-2:]} == {"egov://warehouse/dvcqg_score",
                                                "egov://warehouse/dvcqg_metric"}
        assert all(x == {"reads": [{"province": "phu-tho", "period": "2026-08"}]}
                   for x in extras)
    finally:
        engine.dispose()
        if kind == "postgresql":
            drop_pg_database(url)


def test_the_dag_is_thin_and_updates_the_index_assets():
    import sys

    from tests.e2e_support import REPO

    code = ("import sys, runpy; runpy.run_path(sys.argv[1]);"
            "heavy = [m for m in ('great_expectations', 'pandas', 'requests',"
            " 'egov.sources.dvcqg.client', 'egov.sources.dvcqg.records') if m in sys.modules];"
            " print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "egov_dvcqg.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "egov_dvcqg.py"))
    assert not bag.import_errors
    dag = bag.dags["egov_dvcqg"]
    from egov.assets import DVCQG_ASSETS, RECONCILIATION_ASSETS

    assert {a.uri for a in dag.get_task("publish").outlets} == {a.uri for a in DVCQG_ASSETS}
    assert {a.uri for a in dag.get_task("reconcile").outlets} == {
        a.uri for a in RECONCILIATION_ASSETS}
    assert "publish" in dag.get_task("reconcile").upstream_task_ids
    assert dag.get_task("read").max_active_tis_per_dagrun == 1
    assert set(dag.params.keys()) == {"periods", "provinces", "as_of"}
