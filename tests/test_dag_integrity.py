"""The DAG folder parses cleanly and cheaply, and egov_nightly is what interfaces.md says."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from tests.e2e_support import REPO


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "egov_nightly" in dagbag.dag_ids


def test_nightly_schedule_params_and_docs(dagbag):
    dag = dagbag.dags["egov_nightly"]
    assert dag.schedule == "0 1 * * *" or getattr(dag.timetable, "_expression", None) == "0 1 * * *"
    assert str(dag.timezone) in ("Asia/Ho_Chi_Minh", "Timezone('Asia/Ho_Chi_Minh')")
    assert dag.catchup is False and dag.max_active_runs == 1
    assert set(dag.params.keys()) == {"as_of", "portals", "full_refresh", "recompute_only"}
    assert dag.doc_md and "egov_nightly" in dag.doc_md
    assert {"egov", "nightly"} <= set(dag.tags)


def test_tasks_owner_retries_and_shape(dagbag):
    dag = dagbag.dags["egov_nightly"]
    ids = set(dag.task_ids)
    assert {"prepare", "portal.extract", "portal.load", "compute", "finish"} <= ids
    for task in dag.tasks:
        assert task.owner == "egov-data"
    assert dag.get_task("portal.extract").retries >= 0
    assert dag.get_task("compute").trigger_rule == "all_done"
    assert dag.get_task("portal.extract").retry_delay >= timedelta(seconds=0)
    assert dag.get_task("portal.load").upstream_task_ids == {"portal.extract"}
    assert dag.get_task("finish").upstream_task_ids >= {"compute"}


def test_dag_file_is_cheap_to_parse():
    """No GX, pandas, SQLAlchemy or requests imported when the DAG file is parsed."""
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('great_expectations', 'pandas', 'requests', 'egov.quality.records')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "egov_nightly.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""


def test_compute_updates_the_marts_as_assets_and_reports_run_on_them(dagbag):
    from egov.assets import MART_ASSETS, MART_TABLES

    assert [a.uri for a in MART_ASSETS] == [f"egov://warehouse/{t}" for t in MART_TABLES]
    compute = dagbag.dags["egov_nightly"].get_task("compute")
    assert {a.uri for a in compute.outlets} == {a.uri for a in MART_ASSETS}
    reports = dagbag.dags["egov_reports"]
    assert reports.max_active_runs == 1 and reports.catchup is False
    condition = reports.timetable.asset_condition  # all three, as one condition
    assert type(condition).__name__ == "AssetAll"
    assert {a.uri for a in condition.objects} == {a.uri for a in MART_ASSETS}
    assert set(reports.params.keys()) == {"as_of"}
    assert {t.owner for t in reports.tasks} == {"egov-data"}


def test_reports_dag_file_is_cheap_to_parse():
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('great_expectations', 'pandas', 'requests', 'egov.serve.reports',"
        " 'openpyxl', 'egov.pipeline.reported.intake') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "egov_reports.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""


def test_days_to_publish_from_asset_events():
    from datetime import date
    from types import SimpleNamespace

    from egov.serve.reports.publish import days_to_publish

    events = {"a": [SimpleNamespace(extra={"as_of": "2025-06-30"}), SimpleNamespace(extra={})],
              "b": [SimpleNamespace(extra={"as_of": "2025-06-29"}),
                    SimpleNamespace(extra={"as_of": "2025-06-30"})]}
    assert days_to_publish(events) == [date(2025, 6, 29), date(2025, 6, 30)]
    assert days_to_publish(events, "2025-01-31") == [date(2025, 1, 31)]
    assert days_to_publish({}) == []


def test_reports_task_has_retries_and_a_timeout(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("EGOV_TASK_TIMEOUT_MINUTES", "13")
    dag = DagBag(dag_folder=str(REPO / "dags")).dags["egov_reports"]
    for task in dag.tasks:
        assert task.execution_timeout == timedelta(minutes=13), task.task_id


def test_reported_dag_shape_and_cheap_parse(dagbag):
    """egov_reported (reported-figures.md, "Intake"): take → evaluate (the mart Assets) →
    remind; parsed without GX, pandas, openpyxl or the egov modules doing the work."""
    from egov.assets import MART_ASSETS

    dag = dagbag.dags["egov_reported"]
    assert set(dag.task_ids) == {"take", "evaluate", "remind"}
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {a.uri for a in dag.get_task("evaluate").outlets} == {a.uri for a in MART_ASSETS}
    assert dag.get_task("remind").trigger_rule == "all_done"
    assert set(dag.params.keys()) == {"as_of"}
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('great_expectations', 'pandas', 'requests', 'egov.compute.targets',"
        " 'openpyxl', 'egov.pipeline.reported.intake') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "egov_reported.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""
