"""Issue 20.7: the egov pages (Data Docs, Targets) ask the auth manager whether the signed-in
user's role may read (is_authorized_view): a user whose role may not gets 403, one who may
gets the page. Real Airflow auth manager (simple), real JWTs, the plugins' own apps."""

from __future__ import annotations

import importlib.util
import os
import secrets
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def _plugin(name: str):
    spec = importlib.util.spec_from_file_location(f"egov_test_{name}", PLUGINS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def metadata_db():
    """Airflow's metadata database (signed tokens are checked against revoked ones); migrated
    by the CLI in its own process (an in-process migration reconfigures logging)."""
    import subprocess
    import sys

    from airflow import settings

    # The database this process's Airflow reads (another test of the worker may have set it).
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.SQL_ALCHEMY_CONN}
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, timeout=600, env=env)


@pytest.fixture
def tokens(metadata_db, monkeypatch, tmp_path):
    from airflow.api_fastapi.app import create_auth_manager, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers."
                       "simple.simple_auth_manager.SimpleAuthManager")
    monkeypatch.setenv("EGOV_DATA_DOCS_DIR", str(tmp_path / "docs"))
    create_auth_manager()
    manager = get_auth_manager()
    return {role: manager.generate_jwt(SimpleAuthManagerUser(username=f"u-{role}", role=role))
            for role in ("viewer", "admin", "")}


def _get(app, path, token):
    from fastapi.testclient import TestClient

    return TestClient(app).get(path, headers={"Authorization": f"Bearer {token}"})


def test_data_docs_need_a_role_that_may_read(tokens):
    [spec] = _plugin("egov_data_docs").EgovDataDocsPlugin.fastapi_apps
    assert _get(spec["app"], "/index.html", tokens[""]).status_code == 403
    for role in ("viewer", "admin"):
        answer = _get(spec["app"], "/index.html", tokens[role])
        assert answer.status_code == 200 and "Chưa có Data Docs" in answer.text


def test_the_targets_page_needs_a_role_that_may_read(tokens, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'wh.db'}")
    [spec] = _plugin("egov_targets").EgovTargetsPlugin.fastapi_apps
    denied = _get(spec["app"], "/", tokens[""])
    assert denied.status_code == 403
    assert _get(spec["app"], "/", tokens["viewer"]).status_code not in (401, 403)
