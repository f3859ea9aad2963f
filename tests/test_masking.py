"""Issue 20.6: a personal value in the wrong field (an ID number in MaDonVi, a phone number in a
date field) is shown by its shape only wherever a value is shown as a sample: the quarantine
row's reason and value, dq_validation_result, GX Data Docs, the task log. Data Docs files are
restricted (no access for others), and retention clears old samples. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from egov import pipeline
from egov.masking import mask_value
from egov.warehouse.schema import dq_validation_result, quarantine_record
from tests.boundary_support import engine_url, pipeline_env, record, write_window

ID_NUMBER, PHONE, OLD_ID = "079188001234", "0987654321", "201234567"


@pytest.mark.parametrize("value, shown", [
    ("079188001234", "0###########"), ("0987654321", "0#########"), (987654321, "9########"),
    ("+84987654321", "+8##########"), ("0987 654 321", "0### ### ###"),
    ("20250302100000", "20250302100000"), ("000.00.00.H52", "000.00.00.H52"), (12, 12),
    (["x 0811701071"], ["x 0#########"])])
def test_shapes(value, shown):
    assert mask_value(value) == shown


def test_a_deeply_nested_sample_is_cut_not_a_recursion_error():
    value: list = ["0987654321"]
    for _ in range(100_000):
        value = [value]
    shown = mask_value(value)
    assert "0987654321" not in repr(shown) and "nested deeper than" in repr(shown)


@pytest.fixture
def loaded(warehouse, tmp_path, monkeypatch, caplog):
    for name, value in pipeline_env(engine_url(warehouse), tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EGOV_DATA_DOCS", "true")
    monkeypatch.setenv("EGOV_DATA_DOCS_DIR", str(tmp_path / "docs"))
    items = [record("GOOD"), record("ID", MaDonVi=ID_NUMBER),
             record("PHONE", NgayTiepNhan=PHONE), record("OLD", MaDonVi=int(OLD_ID))]
    location = write_window(tmp_path / "raw", items)
    caplog.set_level(logging.INFO)
    pipeline.load({"portal_code": "p", "manifest": location}, run_id="run-1")
    return warehouse, tmp_path / "docs", caplog


def _clear(text: str) -> bool:
    return ID_NUMBER not in text and PHONE not in text and OLD_ID not in text


def test_samples_show_the_shape_only(loaded):
    engine, docs, caplog = loaded
    with engine.connect() as conn:
        quarantined = {r.record_key: r for r in conn.execute(select(quarantine_record))}
        samples = [r.partial_unexpected_list for r in conn.execute(
            select(dq_validation_result.c.partial_unexpected_list)) if r[0]]
    assert set(quarantined) == {"ID", "PHONE", "OLD"}
    for row in quarantined.values():
        assert _clear(row.reason) and _clear(row.value or ""), (row.reason, row.value)
    assert "0###########" in quarantined["ID"].reason
    assert quarantined["PHONE"].value == "0#########"
    assert samples and all(_clear(s) for s in samples)
    assert any("0###########" in s for s in samples)
    assert _clear(caplog.text)
    files = [p for p in docs.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    for path in files:
        assert _clear(path.read_text(errors="replace")), path


def test_data_docs_are_not_readable_by_others(loaded):
    _engine, docs, _caplog = loaded
    assert docs.exists()
    for path in [docs, *docs.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o027 == 0, f"{path}: {oct(mode)}"


def test_retention_clears_old_samples_and_data_docs(loaded, monkeypatch):
    from egov.quality.retention import purge_data_docs, redact_validation_samples

    engine, docs, _caplog = loaded
    old = datetime.now() - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(update(dq_validation_result).values(validated_at=old))
        assert redact_validation_samples(conn, 180, datetime.now()) > 0
    with engine.connect() as conn:
        assert all(r[0] is None for r in conn.execute(
            select(dq_validation_result.c.partial_unexpected_list)))
    results = [p for p in docs.rglob("*.json") if "validations" in p.parts]
    pages = [p for p in docs.rglob("*.html") if "validations" in p.parts]
    assert results and pages
    for path in results + pages:
        os.utime(path, (old.timestamp(), old.timestamp()))
    removed = purge_data_docs(docs, 180, datetime.now())
    assert removed >= len(results) + len(pages)
    assert not [p for p in docs.rglob("*.html") if "validations" in p.parts]
    assert (Path(docs) / "data_docs" / "local_site" / "index.html").exists() or \
        list(docs.rglob("index.html"))


def test_retention_masks_samples_written_before_masking(loaded):
    """Rows an older version wrote with the value in clear: masked when their payload is
    redacted."""
    from egov.quality.retention import redact_quarantine

    engine, _docs, _caplog = loaded
    old = datetime.now() - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(update(quarantine_record).where(quarantine_record.c.record_key == "ID")
                     .values(reason=f"unit_known: MaDonVi='{ID_NUMBER}': not a unit",
                             value=ID_NUMBER, quarantined_at=old))
        assert redact_quarantine(conn, 180, datetime.now()) == 1
    with engine.connect() as conn:
        row = conn.execute(select(quarantine_record).where(
            quarantine_record.c.record_key == "ID")).one()
    assert _clear(row.reason) and row.value == "0###########"
