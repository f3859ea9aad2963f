"""Issue 20.5: `python -m egov.pipeline.rebuild` names its target (`--url`), refuses a warehouse that
already holds data unless `--force`, and a forced replay never makes a stale portal look
freshly loaded (its loads are dated when they were extracted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from egov.warehouse.schema import etl_portal_run, fct_dossier
from tests.boundary_support import engine_url, pipeline_env, record, write_window

EXTRACTED = "2025-03-02T01:00:00+00:00"  # 08:00 in Vietnam


def _raw_zone(root: Path) -> str:
    location = write_window(root, [record("A"), record("B")], portal="p", run_id="old-run",
                            received_at="2025-03-02T01:00:00+00:00")
    manifest = json.loads(Path(location).read_text())
    manifest["extracted_at"] = EXTRACTED  # a run of long ago
    Path(location).write_text(json.dumps(manifest))
    return location


def _cli(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "egov.pipeline.rebuild", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _env(tmp_path: Path, url: str) -> dict:
    env = {**os.environ, **pipeline_env(url, tmp_path)}
    env.pop("AIRFLOW_CONN_EGOV_WAREHOUSE")  # the live warehouse is never a default target
    return env


def test_a_target_must_be_named(tmp_path):
    _raw_zone(tmp_path / "raw")
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    env["AIRFLOW_CONN_EGOV_WAREHOUSE"] = f"sqlite:///{tmp_path / 'live.db'}"
    done = _cli("--raw-dir", str(tmp_path / "raw"), env=env)
    assert done.returncode == 2
    assert "--url" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "live.db").exists(), "the live warehouse was not touched"


def test_a_non_empty_target_is_refused_unless_forced(warehouse, tmp_path):
    from egov import pipeline

    url = engine_url(warehouse)
    env = _env(tmp_path, url)
    location = _raw_zone(tmp_path / "raw")
    saved = dict(os.environ)
    os.environ.update({"AIRFLOW_CONN_EGOV_WAREHOUSE": url, **pipeline_env(url, tmp_path)})
    try:
        pipeline.load({"portal_code": "p", "manifest": location}, run_id="live-run")
    finally:  # the process's environment as it was (a later test may need EGOV_PII_KEY)
        os.environ.clear()
        os.environ.update(saved)
    with warehouse.connect() as conn:
        before = conn.execute(select(func.max(etl_portal_run.c.finished_at))).scalar()
    # the live portal's last successful load is long ago: it is stale, and stays so
    with warehouse.begin() as conn:
        conn.execute(etl_portal_run.update().values(
            finished_at=datetime(2025, 3, 2, 9, 0)))

    done = _cli("--url", url, "--raw-dir", str(tmp_path / "raw"), env=env)
    assert done.returncode == 2, done.stderr
    assert "--force" in done.stderr and "Traceback" not in done.stderr
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(etl_portal_run)).scalar() == 1

    done = _cli("--url", url, "--raw-dir", str(tmp_path / "raw"), "--force", env=env)
    assert done.returncode == 0, done.stderr
    with warehouse.connect() as conn:
        runs = conn.execute(select(etl_portal_run.c.run_id, etl_portal_run.c.finished_at)
                            ).all()
        assert conn.execute(select(func.count()).select_from(fct_dossier)).scalar() == 2
    assert before is not None
    newest = max(finished for _run, finished in runs)
    assert newest < datetime.now() - timedelta(days=30), \
        f"a replay must not date its loads now: {runs}"
    assert dict(runs)["old-run"] == datetime(2025, 3, 2, 8, 0)


def test_an_empty_named_target_is_rebuilt(tmp_path):
    _raw_zone(tmp_path / "raw")
    target = tmp_path / "rebuilt.db"
    done = _cli("--url", f"sqlite:///{target}", "--raw-dir", str(tmp_path / "raw"),
                env=_env(tmp_path, "sqlite://"))
    assert done.returncode == 0, done.stderr
    assert "rebuilt 1 runs" in done.stdout
