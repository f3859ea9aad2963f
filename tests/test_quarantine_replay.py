"""Replay of quarantined versions: a version quarantined for an unknown unit loads once the
unit is in dim_unit; a still-bad version stays open with its reason; an older version never
overwrites a newer one; the CLI works."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from egov.quality.quarantine import main, replay
from egov.quality.records import validate_dossiers
from egov.warehouse import load as wl
from egov.warehouse.schema import fct_dossier, quarantine_record
from tests.test_validation import GOOD

NOW = datetime(2025, 7, 1, 2, 0)


def _unit(code, parent=None):
    return {"MaDonVi": code, "TenDonVi": code, "MaDonViCha": parent,
            "CapDonVi": "TINH" if parent is None else "SO"}


def _seed(engine):
    records = [
        {**GOOD, "MaHoSo": "A", "MaDonVi": "U2"},                        # unit not yet known
        {**GOOD, "MaHoSo": "B", "MaDonVi": "U2", "TrangThaiHoSo": 42},   # still bad later
        {**GOOD, "MaHoSo": "C", "MaDonVi": "U1", "NgayCapNhat": "20240105100000"},  # newer
        {**GOOD, "MaHoSo": "C", "MaDonVi": "U2"},                        # older, unknown unit
        {**GOOD, "MaHoSo": "D", "MaDonVi": "U3"},                        # other portal's row
    ]
    outcome = validate_dossiers(records[:4], {"U1"})
    other = validate_dossiers(records[4:], {"U1"})
    with engine.begin() as conn:
        wl.replace_units(conn, "p1", [_unit("U1")], run_id="r1", now=NOW)
        wl.upsert_dossiers(conn, "p1", outcome.accepted, pii_key=b"k", run_id="r1", now=NOW)
        wl.upsert_quarantine(conn, "p1", outcome.rejected, run_id="r1", now=NOW)
        wl.upsert_quarantine(conn, "p2", other.rejected, run_id="r1", now=NOW)
    return outcome


def _quarantine(engine):
    with engine.connect() as conn:
        return {(r["portal_code"], r["record_key"], r["version_key"]): r
                for r in conn.execute(select(quarantine_record)).mappings()}


def test_replay_loads_what_now_passes_and_keeps_the_rest_open(warehouse):
    outcome = _seed(warehouse)
    assert len(outcome.rejected) == 3
    # Nothing changed yet: a replay loads nothing.
    stats = replay(warehouse, portal_code="p1", run_id="replay-0", now=NOW)
    assert (stats.selected, stats.replayed, stats.still_open) == (3, 0, 3)

    with warehouse.begin() as conn:  # the portal now lists U2
        wl.replace_units(conn, "p1", [_unit("U1"), _unit("U2", "U1")], run_id="r2", now=NOW)
    later = datetime(2025, 7, 2, 9, 0)
    stats = replay(warehouse, portal_code="p1", run_id="replay-1", pii_key=b"k", now=later)
    assert (stats.selected, stats.replayed, stats.still_open) == (3, 2, 1)
    assert stats.still_failing_rules == {"status_valid": 1}

    rows = _quarantine(warehouse)
    a = rows[("p1", "A", GOOD["NgayCapNhat"])]
    assert (a["status"], a["replayed_at"], a["replay_run_id"]) == ("replayed", later, "replay-1")
    b = rows[("p1", "B", GOOD["NgayCapNhat"])]
    assert b["status"] == "open" and b["rule"] == "status_valid"
    assert b["reason"].startswith("status_valid: TrangThaiHoSo=42")
    assert "unit_known" not in b["reason"]  # the reason is brought up to date
    assert rows[("p1", "C", GOOD["NgayCapNhat"])]["status"] == "replayed"
    assert rows[("p2", "D", GOOD["NgayCapNhat"])]["status"] == "open"  # other portal untouched

    with warehouse.connect() as conn:
        facts = {r["dossier_code"]: r for r in conn.execute(select(fct_dossier)).mappings()}
    assert facts["A"]["unit_code"] == "U2" and facts["A"]["run_id"] == "replay-1"
    assert facts["C"]["unit_code"] == "U1", "an older version never overwrites a newer one"
    assert "B" not in facts

    again = replay(warehouse, run_id="replay-2", now=later)  # replayed rows are not open
    assert again.by_portal["p1"]["selected"] == 1


def test_replay_cli_filters_by_portal_and_rule(tmp_path, capsys):
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _seed(engine)
    with engine.begin() as conn:
        wl.replace_units(conn, "p1", [_unit("U1"), _unit("U2", "U1")], run_id="r2", now=NOW)
    assert main(["replay", "--portal", "p1", "--rule", "status_valid", "--url", url,
                 "--run-id", "cli-1"]) == 0  # B was quarantined for its unit first
    assert '"selected": 0' in capsys.readouterr().out
    assert main(["replay", "--portal", "p1", "--rule", "unit_known", "--url", url]) == 0
    out = capsys.readouterr().out
    assert '"selected": 3' in out and '"replayed": 2' in out
    assert main(["replay", "--rule", "status_valid", "--url", url]) == 0  # now B's rule
    out = capsys.readouterr().out
    assert '"selected": 1' in out and '"replayed": 0' in out
    rows = _quarantine(engine)
    assert rows[("p1", "A", GOOD["NgayCapNhat"])]["status"] == "replayed"
    assert rows[("p2", "D", GOOD["NgayCapNhat"])]["status"] == "open"
    engine.dispose()
