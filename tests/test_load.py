"""Loads are idempotent and order-proof on SQLite and PostgreSQL: newest version wins, a
rejected version never replaces an accepted one, the watermark never moves back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from egov.quality.records import Failure
from egov.sources.onestop.records import parse_version
from egov.warehouse import load as wl
from egov.warehouse.schema import fct_dossier, quarantine_record, unit_closure

NOW = datetime(2025, 1, 2, 3, 4, 5)
UNITS = [
    {"MaDonVi": "P", "TenDonVi": "Tỉnh", "MaDonViCha": None, "CapDonVi": "TINH"},
    {"MaDonVi": "D", "TenDonVi": "Huyện", "MaDonViCha": "P", "CapDonVi": "HUYEN"},
    {"MaDonVi": "C", "TenDonVi": "Xã", "MaDonViCha": "D", "CapDonVi": "XA"},
]


def version(code, updated, status=4, **extra):
    return parse_version({"MaHoSo": code, "MaDonVi": "C", "TrangThaiHoSo": status,
                          "NgayTiepNhan": "20250101080000", "NgayCapNhat": updated, **extra})


def facts(conn):
    return {r.dossier_code: (r.status, r.updated_at) for r in conn.execute(select(fct_dossier))}


def test_units_and_closure_are_replaced(warehouse):
    with warehouse.begin() as conn:
        assert wl.replace_units(conn, "p", UNITS, run_id="r1", now=NOW) == 3
        wl.replace_units(conn, "p", UNITS, run_id="r2", now=NOW)
        pairs = {(r.ancestor_code, r.descendant_code) for r in conn.execute(select(unit_closure))}
    assert pairs == {("P", "P"), ("D", "D"), ("C", "C"), ("P", "D"), ("D", "C"), ("P", "C")}


def test_newest_version_wins_whatever_the_order(warehouse):
    new, old = version("A", "20250103000000", status=9, NgayKetThucXuLy="20250102000000"), \
        version("A", "20250102000000")
    with warehouse.begin() as conn:
        wl.upsert_dossiers(conn, "p", [new], pii_key=None, run_id="r1", now=NOW)
        wl.upsert_dossiers(conn, "p", [old], pii_key=None, run_id="r2", now=NOW)  # late arrival
        assert facts(conn) == {"A": (9, datetime(2025, 1, 3))}
        wl.upsert_dossiers(conn, "p", [old, new, old], pii_key=None, run_id="r3", now=NOW)
        assert facts(conn) == {"A": (9, datetime(2025, 1, 3))}


def test_rejected_newest_keeps_the_accepted_version_and_reruns_do_not_duplicate(warehouse):
    good = version("B", "20250102000000")
    bad = version("B", "20250104000000", TrangThaiHoSo=42)
    failure = Failure("status_valid", "TrangThaiHoSo", 42, "TrangThaiHoSo is not an integer 1..10")
    for run in ("r1", "r1", "r2"):
        with warehouse.begin() as conn:
            wl.upsert_dossiers(conn, "p", [good], pii_key=None, run_id=run, now=NOW)
            wl.upsert_quarantine(conn, "p", [(bad, [failure])], run_id=run, now=NOW)
    with warehouse.connect() as conn:
        assert facts(conn) == {"B": (4, datetime(2025, 1, 2))}
        rows = conn.execute(select(quarantine_record)).mappings().all()
        assert wl.missing_records(conn, "p", {"B", "Z"}) == {"Z"}
    assert len(rows) == 1
    assert rows[0]["record_key"] == "B" and rows[0]["version_key"] == "20250104000000"
    assert rows[0]["rule"] == "status_valid" and "TrangThaiHoSo=42" in rows[0]["reason"]
    assert '"TrangThaiHoSo": 42' in rows[0]["payload"]


def test_missing_records_names_only_keys_in_neither_table(warehouse):
    odd = ["a,b", "{x}", 'q"uote', "back\\slash", "NULL", "spa ce", "Hồ sơ"]
    loaded = odd[:4] + [f"K{i:05d}" for i in range(6000)]  # more than one IN list on SQLite
    failure = Failure("status_valid", "TrangThaiHoSo", 42, "TrangThaiHoSo is not an integer")
    with warehouse.begin() as conn:
        wl.upsert_dossiers(conn, "p", [version(k, "20250102000000") for k in loaded],
                           pii_key=None, run_id="r1", now=NOW)
        wl.upsert_quarantine(conn, "p", [(version("NULL", "20250102000000"), [failure])],
                             run_id="r1", now=NOW)
        wl.upsert_dossiers(conn, "other", [version("spa ce", "20250102000000")],
                           pii_key=None, run_id="r1", now=NOW)  # another portal's record
        asked = set(loaded) | set(odd) | {"K99999"}
        assert wl.missing_records(conn, "p", asked) == {"spa ce", "Hồ sơ", "K99999"}
        assert wl.missing_records(conn, "p", set()) == set()


def test_watermark_only_moves_forward(warehouse):
    with warehouse.begin() as conn:
        assert wl.advance_watermark(conn, "p", datetime(2025, 1, 5), run_id="r", now=NOW) == \
            datetime(2025, 1, 5)
        assert wl.advance_watermark(conn, "p", datetime(2025, 1, 4), run_id="r", now=NOW) == \
            datetime(2025, 1, 5)
        assert wl.advance_watermark(conn, "p", None, run_id="r", now=NOW) == datetime(2025, 1, 5)
        assert wl.read_watermark(conn, "p") == datetime(2025, 1, 5)
        assert wl.read_watermark(conn, "other") is None
