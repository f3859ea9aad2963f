"""The deployment settings file, the Celery queues the DAG routes its tasks to (set when the
DAG file is parsed), the worker hostname callable and the `hang` failpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.e2e_support import REPO

QUEUES_OF_DAG = (
    "import json, sys; from airflow.dag_processing.dagbag import DagBag;"
    "dag = DagBag(dag_folder=sys.argv[1]).dags['egov_nightly'];"
    "print(json.dumps({t.task_id: t.queue for t in dag.tasks}))"
)


def _queues(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    proc = subprocess.run([sys.executable, "-c", QUEUES_OF_DAG, str(REPO / "dags")],
                          env={**base, **env}, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_settings_file_has_every_section():
    from egov.runtime.deployment import load_settings

    settings = load_settings()
    assert settings["airflow"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in settings["shared"]
    assert "AIRFLOW__CORE__EXECUTION_API_SERVER_URL" in settings["shared"]
    assert settings["workers"]["queues"] == [settings["pipeline"]["EGOV_EXTRACT_QUEUE"],
                                             settings["pipeline"]["EGOV_WAREHOUSE_QUEUE"]]


def test_a_settings_file_without_a_section_is_refused(tmp_path):
    from egov.runtime.deployment import load_settings
    from egov.settings import ConfigError

    broken = tmp_path / "deployment.yaml"
    broken.write_text("airflow: {}\nshared: []\n")
    with pytest.raises(ConfigError, match="components"):
        load_settings(broken)


def test_extraction_and_warehouse_work_go_to_their_queues():
    got = _queues(EGOV_EXTRACT_QUEUE="net", EGOV_WAREHOUSE_QUEUE="db")
    assert got.pop("portal.extract") == "net"
    assert set(got) >= {"prepare", "portal.load", "compute", "finish", "housekeeping"}
    assert set(got.values()) == {"db"}


def test_without_queue_settings_every_task_uses_the_default_queue():
    assert set(_queues().values()) == {"default"}


def test_worker_hostname_names_a_worker_on_a_shared_machine(monkeypatch):
    from egov.runtime.deployment import worker_hostname

    monkeypatch.setenv("EGOV_WORKER_HOSTNAME", "worker-7")
    assert worker_hostname() == "worker-7"
    monkeypatch.delenv("EGOV_WORKER_HOSTNAME")
    assert worker_hostname()


def test_hang_failpoint_stops_the_first_process_only_while_armed(tmp_path):
    code = "from egov.runtime.failpoints import hit; hit('extract.mid', 'p1'); print('went on')"
    env = {**os.environ, "EGOV_FAILPOINTS": "extract.mid@p1:hang",
           "EGOV_FAILPOINTS_DIR": str(tmp_path), "EGOV_FAILPOINT_HANG_SECONDS": "60",
           "EGOV_WORKER_HOSTNAME": "w1"}
    run = [sys.executable, "-c", code]
    unarmed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert unarmed.stdout.strip() == "went on"

    (tmp_path / "extract.mid@p1.armed").touch()
    stuck = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, text=True)
    hit_file = tmp_path / "extract.mid@p1.hit.json"
    try:
        deadline = time.monotonic() + 60
        while not hit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        info = json.loads(hit_file.read_text())
        assert info["pid"] == stuck.pid and info["worker"] == "w1"
        assert stuck.poll() is None, "the process should be stopped at the failpoint"
        second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        assert second.stdout.strip() == "went on"  # fired once
    finally:
        stuck.kill()
        stuck.wait()
