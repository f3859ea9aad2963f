"""Settings fail clearly: unsafe portal codes and connection ids are refused, every numeric
setting names its variable when malformed, and a file that is not UTF-8 is named."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import yaml

from egov import pipeline
from egov.compute.plans import PlanError, load_plan_file, load_plans
from egov.quality import gate, retention, suites
from egov.settings import (
    NUMBERS,
    ConfigError,
    check_settings,
    dag_number,
    load_portals,
    number,
    page_size,
    watermark_overlap,
    window_max_versions,
)
from tests.e2e_support import REPO

ITEM = {"code": "binh-dinh", "name": "Bình Định", "conn_id": "portal_binh_dinh"}


def portals_file(tmp_path, **change):
    path = tmp_path / "portals.yaml"
    path.write_text(yaml.safe_dump({"portals": [{**ITEM, **change}]}, allow_unicode=True),
                    encoding="utf-8")
    return path


# --- portal codes and connection ids -----------------------------------------------------------

@pytest.mark.parametrize("code", ["../../escaped", "..", "a/b", "/abs", "Binh-Dinh", "-x",
                                  "binh_dinh", "a b", "x" * 65, "bình-định", "a\x00b", "a.b",
                                  ""])
def test_an_unsafe_portal_code_is_refused_naming_file_and_field(tmp_path, code):
    path = portals_file(tmp_path, code=code)
    with pytest.raises(ConfigError) as exc:
        load_portals(path)
    assert str(exc.value).startswith(f"{path}: portals[0].code: ")


@pytest.mark.parametrize("code", [12, ["binh-dinh"], True])
def test_a_portal_code_that_is_not_text_is_refused(tmp_path, code):
    with pytest.raises(ConfigError, match=r"portals\[0\]\.code"):
        load_portals(portals_file(tmp_path, code=code))


@pytest.mark.parametrize("code", ["binh-dinh", "a", "0", "x" * 64, "hcm-2025"])
def test_safe_portal_codes_load(tmp_path, code):
    assert [p.code for p in load_portals(portals_file(tmp_path, code=code))] == [code]


@pytest.mark.parametrize("conn_id", ["../x", "a b", "x" * 251, "conn/1", "c:d", "-x", "é"])
def test_an_odd_conn_id_is_refused(tmp_path, conn_id):
    path = portals_file(tmp_path, conn_id=conn_id)
    with pytest.raises(ConfigError) as exc:
        load_portals(path)
    assert str(exc.value).startswith(f"{path}: portals[0].conn_id: ")


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan"), "fast", True])
def test_an_odd_request_rate_is_refused(tmp_path, rate):
    with pytest.raises(ConfigError, match=r"portals\[0\]\.max_requests_per_second"):
        load_portals(portals_file(tmp_path, max_requests_per_second=rate))


def test_the_raw_zone_refuses_an_unsafe_portal_code(tmp_path):
    from egov.sources.raw_zone import PageWriter, run_folder

    with pytest.raises(ConfigError, match="escaped"):
        run_folder("../../escaped", "run-1", root=str(tmp_path / "raw"))
    with pytest.raises(ConfigError):
        PageWriter("../x", "run-1", root=str(tmp_path / "raw"))
    assert list(tmp_path.iterdir()) == []


# --- numeric settings ----------------------------------------------------------------------------

# Each setting, through the function the code reads it with.
READERS = {
    "EGOV_WATERMARK_OVERLAP_MINUTES": watermark_overlap,
    "EGOV_PAGE_SIZE": page_size,
    "EGOV_WINDOW_MAX_VERSIONS": window_max_versions,
    "EGOV_MAX_REJECTED_SHARE": gate.max_rejected_share,
    "EGOV_GATE_MIN_REJECTED": gate.min_rejected,
    "EGOV_DQ_VOLUME_FACTOR": suites.volume_factor,
    "EGOV_DQ_NULL_SHARE_JUMP": suites.null_share_jump,
    "EGOV_DQ_MIN_HISTORY_RUNS": suites.min_history_runs,
    "EGOV_RAW_RETENTION_DAYS": retention.raw_retention_days,
    "EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS": retention.quarantine_payload_retention_days,
}


def _bad_values(name):
    default, kind, minimum, maximum = NUMBERS[name]
    values = ["ten", "nan", "inf", "-inf", "1e999", "0x10", "3 4"]
    if kind is int:
        values += ["2.5", "1e3"]
    if minimum is not None:
        values.append(str(minimum - 1))
    if maximum is not None:
        values.append(str(maximum + 1))
    return values


CASES = [(name, value) for name in NUMBERS for value in _bad_values(name)]


@pytest.mark.parametrize("name, value", CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_a_malformed_number_fails_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        number(name)
    assert str(exc.value).startswith(f"{name}: ") and repr(value) in str(exc.value)
    if name in READERS:
        with pytest.raises(ConfigError, match=re.escape(name)):
            READERS[name]()
    with pytest.raises(ConfigError, match=re.escape(name)):
        check_settings()


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_defaults_and_good_values(monkeypatch, name):
    default, kind, minimum, maximum = NUMBERS[name]
    monkeypatch.delenv(name, raising=False)
    assert number(name) == default and isinstance(number(name), kind)
    monkeypatch.setenv(name, f" {minimum} ")
    assert number(name) == minimum
    monkeypatch.setenv(name, "")  # empty: the default
    assert number(name) == default


def test_every_numeric_setting_is_read_through_the_checked_parser():
    """No int()/float() of an environment variable left in the code the pipeline runs."""
    raw = re.compile(r"(int|float)\(\s*os\.(environ|getenv)")
    offenders = [str(p.relative_to(REPO)) for folder in ("dags", "include/egov", "plugins")
                 for p in (REPO / folder).rglob("*.py")
                 if "simulator" not in p.parts and raw.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    for name in NUMBERS:
        assert f"`{name}`" in (REPO / "README.md").read_text(encoding="utf-8"), name


def test_check_settings_names_every_malformed_one(monkeypatch):
    monkeypatch.setenv("EGOV_DQ_VOLUME_FACTOR", "three")
    monkeypatch.setenv("EGOV_TASK_RETRIES", "-1")
    monkeypatch.setenv("EGOV_HISTORY_START", "2021-13-01")
    with pytest.raises(ConfigError) as exc:
        check_settings()
    for name in ("EGOV_DQ_VOLUME_FACTOR", "EGOV_TASK_RETRIES", "EGOV_HISTORY_START"):
        assert name in str(exc.value)


def test_dag_number_falls_back_to_the_default(monkeypatch, caplog):
    monkeypatch.setenv("EGOV_TASK_RETRIES", "two")
    assert dag_number("EGOV_TASK_RETRIES") == NUMBERS["EGOV_TASK_RETRIES"][0]
    assert "EGOV_TASK_RETRIES" in caplog.text


def test_a_malformed_setting_fails_prepare_before_the_warehouse_is_touched(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'wh' / 'w.db'}")
    monkeypatch.setenv("EGOV_DQ_MIN_HISTORY_RUNS", "a few")
    with pytest.raises(ConfigError, match="EGOV_DQ_MIN_HISTORY_RUNS"):
        pipeline.prepare(params={}, logical_date=datetime(2025, 3, 3))
    assert not (tmp_path / "wh").exists()


# --- the DAG file ------------------------------------------------------------------------------

def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_every_task_has_an_execution_timeout(monkeypatch):
    monkeypatch.setenv("EGOV_EXTRACT_TIMEOUT_MINUTES", "7")
    monkeypatch.setenv("EGOV_TASK_TIMEOUT_MINUTES", "11")
    dag = _dagbag().dags["egov_nightly"]
    for task in dag.tasks:
        expected = 7 if task.task_id == "portal.extract" else 11
        assert task.execution_timeout == timedelta(minutes=expected), task.task_id


def test_a_malformed_dag_setting_keeps_the_dag_importable(monkeypatch):
    monkeypatch.setenv("EGOV_TASK_RETRIES", "two")
    monkeypatch.setenv("EGOV_EXTRACT_TIMEOUT_MINUTES", "soon")
    bag = _dagbag()
    assert bag.import_errors == {}
    dag = bag.dags["egov_nightly"]
    assert dag.get_task("compute").retries == NUMBERS["EGOV_TASK_RETRIES"][0]
    assert dag.get_task("portal.extract").execution_timeout == timedelta(
        minutes=NUMBERS["EGOV_EXTRACT_TIMEOUT_MINUTES"][0])
    with pytest.raises(ConfigError, match="EGOV_TASK_RETRIES.*EGOV_EXTRACT_TIMEOUT_MINUTES"):
        check_settings()


# --- files that are not UTF-8 --------------------------------------------------------------------

LATIN1 = b"code: x\ntitle: K\xea ho\xe1ch\n"  # Latin-1, as an old editor saves it


def test_a_plan_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "legacy.yaml"
    path.write_bytes(LATIN1)
    for load in (lambda: load_plan_file(path), lambda: load_plans(tmp_path)):
        with pytest.raises(PlanError) as exc:
            load()
        assert str(exc.value).startswith(f"{path}: not UTF-8 text")


def test_a_portals_file_that_is_not_utf8_is_named(tmp_path, monkeypatch):
    path = tmp_path / "portals.yaml"
    path.write_bytes(b"portals:\n  - code: binh-dinh\n    name: B\xecnh \xd0\xecnh\n"
                     b"    conn_id: portal_binh_dinh\n")
    monkeypatch.setenv("EGOV_PORTALS_FILE", str(path))
    with pytest.raises(ConfigError) as exc:
        load_portals()
    assert str(exc.value).startswith(f"{path}: portals file is not UTF-8 text")


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_a_portals_file_that_cannot_be_read_is_named(tmp_path, make):
    path = tmp_path / "portals.yaml"
    if make == "folder":
        path.mkdir()
    with pytest.raises(ConfigError) as exc:
        load_portals(path)
    assert str(exc.value).startswith(f"{path}: ")


@pytest.mark.parametrize("value", ["perhaps", "ja", "2", "tru"])
def test_a_malformed_flag_fails_naming_the_variable(monkeypatch, value):
    """Issue 20.7: EGOV_DATA_DOCS=perhaps used to read as true."""
    from egov.quality.data_docs import docs_enabled
    from egov.settings import ConfigError, check_settings

    monkeypatch.setenv("EGOV_DATA_DOCS", value)
    with pytest.raises(ConfigError, match="EGOV_DATA_DOCS"):
        docs_enabled()
    with pytest.raises(ConfigError, match="EGOV_DATA_DOCS"):
        check_settings()


@pytest.mark.parametrize("value, enabled", [("", True), ("true", True), ("Yes", True),
                                            ("1", True), ("false", False), ("off", False),
                                            ("0", False), ("NO", False)])
def test_flag_values(monkeypatch, value, enabled):
    from egov.quality.data_docs import docs_enabled

    monkeypatch.setenv("EGOV_DATA_DOCS", value)
    assert docs_enabled() is enabled
