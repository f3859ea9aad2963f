"""GX Data Docs are built from a file-based project (reruns included) and served in the
Airflow UI by the plugin in plugins/."""

from __future__ import annotations

import importlib.util
import time

import pytest

from egov.quality.data_docs import build_data_docs, site_dir
from egov.quality.portal import validate_portal
from tests.test_quality import PROC, UNITS, _records
from tests.test_validation import GOOD

PLUGIN = __import__("pathlib").Path(__file__).resolve().parent.parent / "plugins" / \
    "egov_data_docs.py"


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data_docs")
    records = _records(30) + [{**GOOD, "MaHoSo": "BAD", "MaDonVi": "U9"}]
    quality = validate_portal(UNITS, [PROC], records)
    started = time.monotonic()
    first = build_data_docs(quality.suite_inputs, "binh-dinh", "run-1", root=root)
    seconds = time.monotonic() - started
    again = build_data_docs(quality.suite_inputs, "binh-dinh", "run-2", root=root)  # rerun
    return root, first, again, seconds


def test_data_docs_index_names_every_suite(docs):
    root, first, again, seconds = docs
    assert first == again == site_dir(root) / "index.html"
    text = first.read_text()
    for suite in ("binh-dinh.dossier_versions", "binh-dinh.procedure_catalogue",
                  "binh-dinh.unit_tree"):
        assert suite in text
    pages = list((site_dir(root) / "validations").rglob("*.html"))
    assert len(pages) == 6  # 3 suites x 2 runs
    assert any("unit_known" in p.read_text() or "MaDonVi" in p.read_text() for p in pages)
    assert seconds < 30


def test_a_passed_gate_is_not_shown_as_a_failed_check(tmp_path):
    """Issue 19: one rejected version in 31 (quarantined, gate passed) made the dossier
    check red "không đạt" every night; the index says the gate passed instead."""
    from egov.quality.gate import gate_decision

    records = _records(30) + [{**GOOD, "MaHoSo": "BAD", "MaDonVi": "U9"}]
    quality = validate_portal(UNITS, [PROC], records)
    gate = gate_decision(quality.records, "binh-dinh")
    assert gate.passed and gate.rejected == 1
    index = build_data_docs(quality.suite_inputs, "binh-dinh", "run-1", root=tmp_path,
                            gate=gate)
    rows = {tr.split("binh-dinh.")[1].split("<")[0]: tr
            for tr in index.read_text().split("<tr ")[1:] if "binh-dinh." in tr}
    assert "đạt ngưỡng" in rows["dossier_versions"] and "table-warning" in rows[
        "dossier_versions"]
    assert "không đạt" not in rows["dossier_versions"]
    assert "table-success" in rows["unit_tree"]


def _load_plugin():
    spec = importlib.util.spec_from_file_location("egov_data_docs_plugin", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_serves_the_data_docs_to_signed_in_users(docs, monkeypatch):
    from fastapi.testclient import TestClient

    root, *_ = docs
    monkeypatch.setenv("EGOV_DATA_DOCS_DIR", str(root))
    plugin = _load_plugin()
    [spec] = plugin.EgovDataDocsPlugin.fastapi_apps
    assert spec["url_prefix"] == "/egov-data-docs"
    [view] = plugin.EgovDataDocsPlugin.external_views
    assert view["href"] == "egov-data-docs/index.html" and view["destination"] == "nav"

    app = spec["app"]
    anonymous = TestClient(app)
    assert anonymous.get("/index.html").status_code == 401  # the UI's JWT cookie is needed

    app.dependency_overrides[plugin.signed_in] = lambda: None
    try:
        client = TestClient(app)
        index = client.get("/index.html")
        assert index.status_code == 200
        assert "binh-dinh.dossier_versions" in index.text
        assert client.get("/", follow_redirects=True).status_code == 200
        assert client.get("/../../../etc/passwd").status_code == 404
        assert client.get("/nothing-here.html").status_code == 404
        monkeypatch.setenv("EGOV_DATA_DOCS_DIR", str(root / "empty"))
        assert "Chưa có Data Docs" in client.get("/index.html").text
    finally:
        app.dependency_overrides.clear()


def test_plugin_is_registered_by_airflow(tmp_path):
    """Airflow's plugin manager finds the plugin in the plugins folder."""
    import subprocess
    import sys

    from tests.e2e_support import REPO

    code = ("from airflow import plugins_manager as p; "
            "print(sorted(x.name for x in p._get_plugins()[0]))")
    env = {"AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"), "PATH": "/usr/bin:/bin",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "HOME": str(tmp_path),
           "AIRFLOW_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "egov_data_docs" in proc.stdout


def test_publish_logs_the_path_and_never_raises(tmp_path, caplog, monkeypatch):
    from egov.quality.data_docs import publish_data_docs

    quality = validate_portal(UNITS, [PROC], _records(3))
    monkeypatch.setenv("EGOV_DATA_DOCS", "false")
    assert publish_data_docs(quality, "p", "r", root=tmp_path) is None
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example:8080")
    with caplog.at_level("INFO"):
        index = publish_data_docs(quality, "p", "r", enabled=True, root=tmp_path)
        assert index is not None and index.exists()
        assert "http://airflow.example:8080/egov-data-docs/index.html" in caplog.text
        (tmp_path / "gx").rename(tmp_path / "moved")
        (tmp_path / "gx").write_text("not a folder")  # the build fails: logged, not raised
        assert publish_data_docs(quality, "p", "r2", enabled=True, root=tmp_path) is None
