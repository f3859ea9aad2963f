"""The key of the applicants' ID-number hash is handled like a key: a deployment without one
stops at `prepare` saying how to set it (unless EGOV_PII_KEY_OPTIONAL says otherwise), short
keys are refused, a failing secrets backend is an error, and a stored hash is never replaced
by null."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest
from sqlalchemy import select

from egov import pipeline
from egov.settings import ConfigError, pii_key
from egov.sources.onestop.records import applicant_hash, parse_version
from egov.warehouse import load as wl
from egov.warehouse.schema import fct_dossier
from tests.boundary_support import PERSONAL, record

KEY = "a-sufficiently-long-test-key"
NOW = datetime(2025, 3, 3, 1, 0)


@pytest.fixture
def no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("EGOV_PII_KEY", raising=False)
    monkeypatch.delenv("EGOV_PII_KEY_OPTIONAL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_EGOV_PII_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'wh' / 'w.db'}")
    return tmp_path


def test_prepare_without_a_key_fails_before_the_warehouse_and_says_how(no_key):
    with pytest.raises(ConfigError) as caught:
        pipeline.prepare(params={}, logical_date=datetime(2025, 3, 3))
    message = str(caught.value)
    for hint in ("EGOV_PII_KEY", "egov_pii_key", "EGOV_PII_KEY_OPTIONAL", "secrets.token_urlsafe"):
        assert hint in message
    assert not (no_key / "wh").exists()


def test_an_explicit_setting_runs_without_a_key(no_key, monkeypatch):
    monkeypatch.setenv("EGOV_PII_KEY_OPTIONAL", "true")
    assert pii_key() is None
    jobs = pipeline.prepare(params={}, logical_date=datetime(2025, 3, 3))
    assert jobs and (no_key / "wh" / "w.db").exists()
    monkeypatch.setenv("EGOV_PII_KEY_OPTIONAL", "maybe")
    with pytest.raises(ConfigError, match="EGOV_PII_KEY_OPTIONAL"):
        pii_key()


@pytest.mark.parametrize("key", ["k", "short-key", "x" * 15])
def test_short_keys_are_refused(no_key, monkeypatch, key):
    monkeypatch.setenv("EGOV_PII_KEY", key)
    with pytest.raises(ConfigError, match=r"EGOV_PII_KEY: .* at least 16"):
        pii_key()
    monkeypatch.setenv("EGOV_PII_KEY_OPTIONAL", "true")  # optional, but not a weak key
    with pytest.raises(ConfigError, match="at least 16"):
        pii_key()


def test_the_key_may_come_from_the_connection(no_key, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_PII_KEY",
                       json.dumps({"conn_type": "generic", "password": KEY}))
    assert pii_key() == KEY.encode()
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_PII_KEY", '{"conn_type": "generic", "password": "pw"}')
    with pytest.raises(ConfigError, match="connection egov_pii_key: .* 2 bytes"):
        pii_key()


def _pii_key_in_a_process(extra_env: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EGOV_PII_KEY", "AIRFLOW_CONN_EGOV_PII_KEY"))}
    env.update(extra_env)
    code = "from egov.settings import pii_key; print(repr(pii_key()))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_failing_secrets_backend_is_an_error_not_a_missing_key():
    down = {"AIRFLOW__SECRETS__BACKEND": "tests.failing_secrets_backend.FailingBackend",
            "EGOV_PII_KEY_OPTIONAL": "true"}
    proc = _pii_key_in_a_process(down)
    assert proc.returncode != 0
    assert "secrets backend FailingBackend failed" in proc.stderr, proc.stderr[-2000:]
    # the same process without the broken backend: no key, as asked
    proc = _pii_key_in_a_process({"EGOV_PII_KEY_OPTIONAL": "true"})
    assert proc.returncode == 0 and proc.stdout.strip() == "None", proc.stderr[-2000:]


def test_a_stored_hash_is_never_replaced_by_null(warehouse):
    def load(version, key):
        with warehouse.begin() as conn:
            wl.upsert_dossiers(conn, "p", [parse_version(version)], pii_key=key, run_id="r",
                               now=NOW)
        with warehouse.connect() as conn:
            return conn.execute(select(fct_dossier.c.applicant_id_hash, fct_dossier.c.status)
                                ).one()

    first = load(record("A", "20250302100000", **PERSONAL), KEY.encode())
    expected = applicant_hash(PERSONAL["SoGiayToChuHoSo"], KEY.encode())
    assert first == (expected, 4)
    # a later version loaded without the key (EGOV_PII_KEY_OPTIONAL), then one whose
    # payload lost the ID number (a redacted quarantine payload replayed): the hash stays
    assert load(record("A", "20250302110000", TrangThaiHoSo=5, **PERSONAL), None) == \
        (expected, 5)
    assert load(record("A", "20250302120000", TrangThaiHoSo=6), KEY.encode()) == (expected, 6)
    other = KEY.encode() + b"-rotated"
    assert load(record("A", "20250302130000", TrangThaiHoSo=9,
                       NgayKetThucXuLy="20250302130000", **PERSONAL), other) == \
        (applicant_hash(PERSONAL["SoGiayToChuHoSo"], other), 9)  # a new hash replaces it


def test_quarantine_replay_without_a_key_says_how_to_set_it(no_key, capsys):
    from egov.quality.quarantine import main

    (no_key / "r.db").touch()  # a --url must name an existing warehouse (issue 20.7)
    assert main(["replay", "--url", f"sqlite:///{no_key / 'r.db'}"]) == 2
    assert "EGOV_PII_KEY" in capsys.readouterr().err
    assert (no_key / "r.db").stat().st_size == 0, "the warehouse was not touched"
