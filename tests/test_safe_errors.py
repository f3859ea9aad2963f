"""Errors never carry personal data: a database error forced on PostgreSQL while a record full
of personal values is written leaves none of them in etl_portal_run.error, in the log, or in
the exception the task raises (which Airflow prints)."""

from __future__ import annotations

import logging
import traceback

import pytest
from sqlalchemy import create_engine, insert, select, text

from egov import pipeline
from egov.safe_errors import WarehouseWriteError, mask, safe_message
from egov.warehouse.db import make_engine
from egov.warehouse.migrations import upgrade
from egov.warehouse.schema import etl_portal_run, quarantine_record
from tests.boundary_support import PERSONAL, pipeline_env, record, write_window

SECRETS = list(PERSONAL.values()) + ["Bích Ngọc", "079188001234", "0987654321"]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _every_text(exc: BaseException) -> str:
    """What a logger prints for `exc`: the traceback with every chained exception."""
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def pg_env(pg_url, tmp_path, monkeypatch):
    for name, value in pipeline_env(pg_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    engine = make_engine(pg_url)
    upgrade(engine)
    # A constraint every quarantined payload breaks: the insert fails on the server, whose
    # DETAIL line shows the failing row (payload included).
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE quarantine_record ADD CONSTRAINT forced_failure "
                          "CHECK (length(payload) < 10)"))
    yield engine
    engine.dispose()


def test_the_forced_error_would_leak_without_the_boundary(pg_env, pg_url):
    """The hazard is real: SQLAlchemy's own message carries the parameters, the server's
    DETAIL the row."""
    plain = create_engine(pg_url)
    row = {"portal_code": "p", "record_key": "A", "version_key": "v", "rule": "r",
           "reason": "x", "payload": str(PERSONAL), "status": "open"}
    with pytest.raises(Exception) as caught, plain.begin() as conn:
        conn.execute(insert(quarantine_record), [row])
    plain.dispose()
    assert _leaks(_every_text(caught.value))
    assert not _leaks(safe_message(caught.value, portal_code="p"))


def test_a_failed_insert_records_and_logs_no_personal_value(pg_env, tmp_path, caplog):
    bad = record("H-0042", TrangThaiHoSo=42, **PERSONAL)  # quarantined: its payload is written
    location = write_window(tmp_path / "raw", [record("H-0001", **PERSONAL), bad])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as caught:
        pipeline.run_portal_step("load", {"portal_code": "p", "manifest": location},
                                 run_id="run-1")
    error = caught.value
    assert isinstance(error, WarehouseWriteError)
    message = str(error)
    assert "quarantine_record" in message and "forced_failure" in message
    assert "check_violation" in message and "H-0042" in message  # what and which record
    assert error.__cause__ is None and error.__context__ is None

    with pg_env.connect() as conn:
        recorded = conn.execute(select(etl_portal_run.c.status, etl_portal_run.c.error)).one()
    assert recorded.status == "failed"
    assert "forced_failure" in recorded.error and "H-0042" in recorded.error
    for where, text_ in (("etl_portal_run.error", recorded.error),
                         ("the raised exception", _every_text(error)),
                         ("the log", caplog.text)):
        assert not _leaks(text_), f"{where}: {_leaks(text_)}"


def test_an_unexpected_error_is_raised_and_logged_clean(tmp_path, monkeypatch, caplog):
    """An error of no known kind (here a TypeError quoting a personal value) is replaced by a
    clean one, logged with where it was raised but not its text."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    for name, value in pipeline_env(url, tmp_path).items():
        monkeypatch.setenv(name, value)
    engine = make_engine(url)
    upgrade(engine)

    def broken(*_args, **_kwargs):
        raise TypeError(f"cannot compare {PERSONAL['ChuHoSo']!r} with {PERSONAL['SoDienThoai']}")

    monkeypatch.setattr("egov.sources.onestop.batch.read_window", broken)
    location = write_window(tmp_path / "raw", [record("H-1")])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(pipeline.PortalStepError) as caught:
        pipeline.run_portal_step("load", {"portal_code": "p", "manifest": location},
                                 run_id="run-1")
    assert "TypeError" in str(caught.value) and "p load" in str(caught.value)
    assert "test_safe_errors.py" in caplog.text  # where it was raised is logged
    assert not _leaks(_every_text(caught.value)) and not _leaks(caplog.text)
    with engine.connect() as conn:
        recorded = conn.execute(select(etl_portal_run.c.error)).scalar_one()
    assert "TypeError" in recorded and not _leaks(recorded)
    engine.dispose()


@pytest.mark.parametrize("raw, kept, gone", [
    ("invalid literal for int() with base 10: 'Nguyễn Văn An'", "invalid literal",
     "Nguyễn"),
    ('value "0912345678" out of range', "out of range", "0912345678"),
    ("mail an@example.vn bounced", "bounced", "an@example.vn"),
])
def test_mask_keeps_the_kind_and_drops_the_values(raw, kept, gone):
    assert kept in mask(raw) and gone not in mask(raw)
