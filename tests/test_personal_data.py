"""Personal data (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email, DiaChi) never reaches a BI
table or a log; the restricted stores (raw zone, quarantine payloads) have retention."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from egov.quality.retention import (
    quarantine_payload_retention_days,
    raw_retention_days,
    redact_quarantine,
)
from egov.sources.onestop.records import PERSONAL_FIELDS

NOW = datetime(2025, 7, 1, 2, 0)


# --- retention ---------------------------------------------------------------------------------

def test_retention_settings(monkeypatch):
    from egov.settings import ConfigError

    monkeypatch.delenv("EGOV_RAW_RETENTION_DAYS", raising=False)
    monkeypatch.setenv("EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS", "0")
    assert raw_retention_days() == 90
    assert quarantine_payload_retention_days() is None  # 0: keep forever
    monkeypatch.setenv("EGOV_RAW_RETENTION_DAYS", "ten")
    with pytest.raises(ConfigError, match="EGOV_RAW_RETENTION_DAYS"):
        raw_retention_days()


def test_redact_quarantine_blanks_personal_fields_of_old_and_replayed_payloads(warehouse):
    from sqlalchemy import update

    from egov.quality.records import validate_dossiers
    from egov.warehouse import load as wl
    from egov.warehouse.schema import quarantine_record as q
    from tests.test_validation import GOOD

    personal = {"ChuHoSo": "Nguyễn Văn An", "SoGiayToChuHoSo": "079123456789",
                "SoDienThoai": "0912345678", "Email": "an@example.vn", "DiaChi": "1 Lê Lợi"}
    records = [{**GOOD, **personal, "MaHoSo": code, "MaDonVi": "U9"} for code in "ABC"]
    outcome = validate_dossiers(records, {"U1"})
    with warehouse.begin() as conn:
        wl.upsert_quarantine(conn, "p", outcome.rejected[:1], run_id="r0",
                             now=NOW - timedelta(days=200))               # A: old, open
        wl.upsert_quarantine(conn, "p", outcome.rejected[1:], run_id="r1",
                             now=NOW - timedelta(days=10))                # B, C: recent
        conn.execute(update(q).where(q.c.record_key == "B").values(
            status="replayed", replayed_at=NOW - timedelta(days=8)))
    with warehouse.begin() as conn:
        assert redact_quarantine(conn, 7, NOW) == 3
    with warehouse.connect() as conn:
        rows = {r["record_key"]: r for r in conn.execute(select(q)).mappings()}
    # 7 days: A (quarantined 200 days ago), B (replayed 8 days ago) and C (quarantined 10
    # days ago) are all past the retention.
    for key in "ABC":
        payload = json.loads(rows[key]["payload"])
        assert all(payload[f] is None for f in PERSONAL_FIELDS), key
        assert payload["MaHoSo"] == key and payload["MaDonVi"] == "U9"  # the rest is kept
        assert rows[key]["redacted_at"] == NOW
    with warehouse.begin() as conn:
        assert redact_quarantine(conn, 7, NOW) == 0  # once only
        later = NOW + timedelta(days=1)
        wl.upsert_quarantine(conn, "p", outcome.rejected, run_id="r2", now=later)  # sent again
        assert redact_quarantine(conn, 30, later + timedelta(days=1)) == 0  # fresh: kept
        assert redact_quarantine(conn, None, NOW) == 0
        assert redact_quarantine(conn, 7, later + timedelta(days=8)) == 3  # in time, again
    with warehouse.connect() as conn:
        for payload in conn.execute(select(q.c.payload)).scalars():
            assert all(json.loads(payload)[f] is None for f in PERSONAL_FIELDS)


# --- end to end: nothing personal in BI tables or logs ---------------------------------------------

PORTALS = ["binh-dinh", "tay-ninh", "thanh-hoa", "vinh-phuc"]


@pytest.mark.e2e
def test_no_personal_value_reaches_bi_tables_or_logs(tmp_path):
    from sqlalchemy import create_engine

    from egov.simulator.server import SimulatorFleet
    from egov.simulator.world import build_world
    from egov.warehouse.schema import metadata
    from tests.e2e_support import airflow_env, migrate_metadata, portal_conn_env, run_dag

    world = build_world(seed=23, scale=100, clock=datetime(2025, 6, 30, 20, 0),
                        malformed_rate=0.01)
    credentials = {code: (code, f"pw-{code}-pd") for code in PORTALS}
    fleet = SimulatorFleet(world, host="127.0.0.1", base_port=0, credentials=credentials)
    fleet.start()
    try:
        home = tmp_path / "airflow"
        env = airflow_env(home)
        migrate_metadata(env)
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        env.update({**portal_conn_env(fleet, credentials), "AIRFLOW_CONN_EGOV_WAREHOUSE": url,
                    "EGOV_RAW_DIR": str(tmp_path / "raw"),
                    "EGOV_DATA_DOCS_DIR": str(tmp_path / "docs")})
        code, output = run_dag(env, "2025-07-01", log_dir=tmp_path / "out")
        assert code == 0, output[-5000:]
    finally:
        fleet.stop()

    secrets = set()
    for portal in PORTALS:
        for version in world.versions(portal):
            for name in PERSONAL_FIELDS:
                value = version.data.get(name)
                if isinstance(value, str) and len(value.strip()) >= 6:
                    secrets.add(value.strip())
    assert len(secrets) > 100

    def leaks(text: str) -> list[str]:
        return [s for s in secrets if s in text]

    engine = create_engine(url)
    scanned = 0
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns
                       if not (table.name == "quarantine_record" and c.name == "payload")]
            for row in conn.execute(select(*columns)):
                text = "\x1f".join("" if v is None else str(v) for v in row)
                found = leaks(text)
                assert not found, f"{table.name}: personal data {found[:3]}"
                scanned += 1
        quarantined = conn.execute(select(metadata.tables["quarantine_record"].c.payload)).all()
    engine.dispose()
    assert scanned > 1000 and quarantined, "the run must have loaded and quarantined rows"

    # `airflow dags test` runs the tasks in-process: their logs are in its output; any log
    # files under $AIRFLOW_HOME/logs (scheduler, dag processor, tasks) are scanned too.
    assert "run accounting" in output, "the task logs must be in the dags test output"
    for path in (home / "logs").rglob("*"):
        if path.is_file():
            found = leaks(path.read_text(errors="replace"))
            assert not found, f"{path}: personal data {found[:3]}"
    assert not leaks(output), "dags test output shows personal data"
