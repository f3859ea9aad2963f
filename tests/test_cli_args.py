"""Issue 20.7: command-line arguments are checked: a bad value ends in a clear one-line error
(exit status 2), never a traceback; a mistyped SQLite --url is refused, never created."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(*args, tmp_path, env=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "EGOV_PII_KEY": "cli-test-key-0123456789",
               "AIRFLOW_HOME": str(tmp_path / "airflow"),
               "AIRFLOW_CONN_EGOV_WAREHOUSE": f"sqlite:///{tmp_path / 'live.db'}",
               **(env or {})}
    return subprocess.run([sys.executable, "-m", *args], env=environ, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def warehouse_file(tmp_path):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    path = tmp_path / "wh.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.mark.parametrize("days", ["nan", "inf", "1e12", "-1", "0", "soon"])
def test_silence_days_must_be_a_sane_number(days, tmp_path, warehouse_file):
    done = _run("egov.serve.alerts", "--url", f"sqlite:///{warehouse_file}", "silence", "x:*",
                "--days", days, tmp_path=tmp_path)
    assert done.returncode == 2, done
    assert "--days" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [
    ["egov.serve.alerts", "--url", "{url}", "list"],
    ["egov.serve.reports.target_report", "--url", "{url}"],
    ["egov.compute.recompute", "--from", "2025-01-01", "--url", "{url}"],
    ["egov.quality.quarantine", "replay", "--url", "{url}"],
    ["egov.serve.reports.publish", "--url", "{url}"],
])
def test_a_mistyped_sqlite_url_is_refused_not_created(command, tmp_path):
    missing = tmp_path / "typo" / "warehuose.db"
    done = _run(*[a.replace("{url}", f"sqlite:///{missing}") for a in command],
                tmp_path=tmp_path)
    assert done.returncode == 2, done
    assert "--url" in done.stderr and "no SQLite warehouse" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists() and not missing.parent.exists()


def test_an_unbounded_recompute_range_is_refused(tmp_path, warehouse_file):
    done = _run("egov.compute.recompute", "--from", "0001-01-01", "--to", "9999-12-31", "--url",
                f"sqlite:///{warehouse_file}", tmp_path=tmp_path)
    assert done.returncode == 2, done
    assert "at most" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_deployment_file_is_a_clear_error(tmp_path):
    done = _run("egov.runtime.deployment", "init", "--settings", str(tmp_path / "nope.yaml"),
                tmp_path=tmp_path)
    assert done.returncode == 2, done
    assert "nope.yaml" in done.stderr and "Traceback" not in done.stderr
