"""fct_dossier is written on PostgreSQL through COPY and one merge (egov.warehouse.pgcopy):
hostile text survives exactly, NULLs, booleans, dates and times arrive as they were, the merge
keeps every rule of the upsert (older never overwrites newer, a stored applicant hash is
never replaced by null), and a failure names the table and the kind, never a value."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, text

from egov.records import parse_version
from egov.safe_errors import WarehouseWriteError
from egov.warehouse import load as wl
from egov.warehouse.pgcopy import copy_text
from egov.warehouse.schema import fct_dossier

NOW = datetime(2025, 1, 2, 3, 4, 5)
KEY = b"test-key"
HOSTILE = ["tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "\\.", "\\", "\\t",
           "end\\", "a\x00b", "x\ud800y", "Cấp phép — “quoted” 'single' ; DROP TABLE x; --",
           "\x01\x1f\x7f", "  ", "NULL", "\\\\N", "🙂 emoji", "e\u0301 combining"]


def version(code, updated, **extra):
    return parse_version({"MaHoSo": code, "MaDonVi": "C", "TrangThaiHoSo": 4,
                          "NgayTiepNhan": "20250101080000", "NgayCapNhat": updated, **extra})


def rows(engine):
    with engine.connect() as conn:
        return {r["dossier_code"]: dict(r) for r in conn.execute(select(fct_dossier)).mappings()}


def test_copy_text_escapes_what_the_format_reserves():
    assert copy_text(None) == "\\N"
    assert copy_text("\\N") == "\\\\N"
    assert copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_text("a\x00b") == "a\ufffdb" and copy_text("x\ud800") == "x\ufffd"
    assert (copy_text(True), copy_text(False), copy_text(0), copy_text(-7)) == ("t", "f", "0", "-7")
    assert copy_text(datetime(1, 2, 3, 4, 5, 6)) == "0001-02-03T04:05:06"
    assert copy_text(date(2025, 12, 31)) == "2025-12-31"


def test_hostile_values_arrive_exactly_and_as_on_sqlite(warehouse):
    """Each hostile string as a name, a code and a field name; what PostgreSQL stores is what
    the parsed row holds (the same as SQLite stores)."""
    versions = [version(f"H{i}{s}", "20250102000000", TenTTHC=s, MaLinhVuc=s + "x",
                        TenLinhVuc=s, MucDo=s[:30], SoGiayToChuHoSo=s + "1",
                        NgayKetThucXuLy="20250102000000", DuocThanhToanTrucTuyen=None)
                for i, s in enumerate(HOSTILE)]
    with warehouse.begin() as conn:
        assert wl.upsert_dossiers(conn, "p", versions, pii_key=KEY, run_id="r\t1\\",
                                  now=NOW) == len(HOSTILE)
    stored = rows(warehouse)
    assert len(stored) == len(HOSTILE)
    for v in versions:
        row = stored[v.record_key]
        for column, value in v.row.items():
            assert row[column] == value, (column, value, row[column])
        assert row["run_id"] == "r\t1\\" and row["loaded_at"] == NOW
        assert row["applicant_id_hash"] and len(row["applicant_id_hash"]) == 64
        assert row["online_payment"] is None and row["is_certification"] is False


def test_merge_keeps_the_upsert_rules(warehouse):
    new = version("A", "20250103000000", SoGiayToChuHoSo="012345678901", TenTTHC="new")
    old = version("A", "20250102000000", SoGiayToChuHoSo="012345678901", TenTTHC="old")
    newer_without_id = version("A", "20250104000000", TenTTHC="newest")
    with warehouse.begin() as conn:
        wl.upsert_dossiers(conn, "p", [new], pii_key=KEY, run_id="r1", now=NOW)
    stored = rows(warehouse)["A"]
    first_hash = stored["applicant_id_hash"]
    assert first_hash and stored["procedure_name"] == "new"
    with warehouse.begin() as conn:  # a late older version: no effect
        wl.upsert_dossiers(conn, "p", [old], pii_key=KEY, run_id="r2", now=NOW)
    assert rows(warehouse)["A"]["procedure_name"] == "new"
    assert rows(warehouse)["A"]["run_id"] == "r1"
    with warehouse.begin() as conn:  # newer, without the ID number: the hash stays
        wl.upsert_dossiers(conn, "p", [old, newer_without_id, new], pii_key=KEY, run_id="r3",
                           now=NOW)
    stored = rows(warehouse)["A"]
    assert stored["procedure_name"] == "newest" and stored["run_id"] == "r3"
    assert stored["updated_at"] == datetime(2025, 1, 4)
    assert stored["applicant_id_hash"] == first_hash
    with warehouse.begin() as conn:  # the same version again, twice in one transaction
        wl.upsert_dossiers(conn, "p", [newer_without_id], pii_key=None, run_id="r4", now=NOW)
        wl.upsert_dossiers(conn, "p", [newer_without_id], pii_key=None, run_id="r5", now=NOW)
    stored = rows(warehouse)["A"]
    assert stored["run_id"] == "r5" and stored["applicant_id_hash"] == first_hash


def test_a_failed_copy_merge_names_the_table_not_the_values(pg_url):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE fct_dossier ADD CONSTRAINT forced_failure "
                          "CHECK (procedure_name <> 'Secret Name 0987654321')"))
    bad = version("H-7", "20250102000000", TenTTHC="Secret Name 0987654321")
    with pytest.raises(WarehouseWriteError) as caught, engine.begin() as conn:
        wl.upsert_dossiers(conn, "p", [version("H-6", "20250102000000"), bad], pii_key=None,
                           run_id="r", now=NOW)
    engine.dispose()
    message = str(caught.value)
    assert "fct_dossier" in message and "check_violation" in message
    assert "forced_failure" in message
    assert "Secret" not in message and "0987654321" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
