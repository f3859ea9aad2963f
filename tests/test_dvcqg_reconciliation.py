"""The crosswalk of the index's departments to one-stop units, and mart_source_reconciliation
with the running month's preview, from the recorded read and one-stop records, on both
warehouses."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from egov.settings import ConfigError
from egov.sources.dvcqg.crosswalk import (
    Mapping,
    code_candidates,
    load_crosswalk,
    normalise_name,
    propose,
)
from egov.warehouse.schema import (
    dim_unit,
    dvcqg_crosswalk,
    dvcqg_score,
    fct_dossier,
    mart_dvcqg_preview,
    mart_source_reconciliation,
    unit_closure,
)
from egov.warehouse.units import closure_rows
from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer
from tests.test_dvcqg_load import _read
from tests.test_indicators import dossier

PROVINCE_UNIT, TRADE_UNIT, OTHER_UNIT = "000.00.00.H44", "000.00.07.H44", "000.00.30.H44"
TRADE_DEPARTMENT = "019d2be3-6a88-732b-8b17-c2db58b51fef"  # Sở Công Thương - Tỉnh Phú Thọ
UNITS = {PROVINCE_UNIT: ("UBND tỉnh Phú Thọ", None),
         TRADE_UNIT: ("Sở Công Thương", PROVINCE_UNIT),
         OTHER_UNIT: ("UBND xã Phú Khê", PROVINCE_UNIT)}


def test_names_are_compared_without_affixes_case_or_spacing():
    assert normalise_name("Sở Công Thương - Tỉnh Phú Thọ") == "công thương"
    assert normalise_name("  SỞ   công thương ") == "công thương"
    assert normalise_name("UBND xã Phú Khê") == "xã phú khê"
    assert normalise_name("Ủy ban nhân dân xã Phú Khê - tỉnh Phú Thọ") == "xã phú khê"
    decomposed = "Sở Công Thương".replace("ơ", "o\u031b")  # NFD input
    assert normalise_name(decomposed) == "công thương"
    assert normalise_name(None) == "" and normalise_name(12) == ""
    assert code_candidates("H44") == {"H44", "000.00.00.H44"}
    assert code_candidates("H44.07") == {"H44.07", "000.00.07.H44"}
    assert code_candidates(None) == set() and code_candidates(" ") == set()


def test_proposals_by_code_and_name_never_for_a_confirmed_or_ambiguous_one():
    departments = [("d-trade", "H44.07", "Sở Công Thương - Tỉnh Phú Thọ"),
                   ("d-commune", "H44.135", "UBND xã Phú Khê"),
                   ("d-twin", None, "UBND xã Hai Tên"),
                   ("d-done", "H44", "UBND tỉnh Phú Thọ")]
    units = [(PROVINCE_UNIT, "UBND tỉnh Phú Thọ"), (TRADE_UNIT, "Sở Công Thương"),
             (OTHER_UNIT, "UBND xã Phú Khê"), ("u1", "Xã Hai Tên"), ("u2", "xã hai tên")]
    got = propose(departments, units, [Mapping("d-done", PROVINCE_UNIT)])
    assert [(p.department_id, p.unit_code, p.basis) for p in got] == [
        ("d-trade", TRADE_UNIT, "code+name"), ("d-commune", OTHER_UNIT, "name")]


def test_the_crosswalk_file_is_checked(tmp_path):
    path = tmp_path / "cw.yaml"
    path.write_text("mappings:\n  - {department_id: a, unit_code: U}\n"
                    "  - {department_id: b, unit_code: U}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mappings\[1\]: unit_code: U is already mapped"):
        load_crosswalk(path)
    path.write_text("mappings:\n  - {department_id: a}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mappings\[0\]: unit_code"):
        load_crosswalk(path)
    assert load_crosswalk(tmp_path / "absent.yaml") == []
    shipped = load_crosswalk()  # the repository's file loads
    assert Mapping(RECORDED_ROOT, PROVINCE_UNIT,
                   "UBND tỉnh Phú Thọ, the province's own row (code H44)") in shipped


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _one_stop(engine):
    """The province's one-stop units and records of 2026 (and of January 2027)."""
    tree = {u: parent for u, (_, parent) in UNITS.items()}
    rows = [  # 2026: 4 received at the province's units, 3 on time, 1 overdue
        dossier("a", PROVINCE_UNIT, 10, "2026-03-02", due="2026-03-10",
                ended="2026-03-05", portal="phu-tho", channel=2),
        dossier("b", TRADE_UNIT, 10, "2026-05-02", due="2026-05-10",
                ended="2026-05-05", portal="phu-tho", e_result=True),
        dossier("c", TRADE_UNIT, 10, "2026-06-02", due="2026-06-10",
                ended="2026-06-09", portal="phu-tho"),
        dossier("d", PROVINCE_UNIT, 10, "2026-07-01", due="2026-07-03",
                ended="2026-07-20", portal="phu-tho"),
        # January 2027 (the running month of the preview): 2 received, 1 resolved on time
        dossier("e", PROVINCE_UNIT, 10, "2027-01-04", due="2027-01-08",
                ended="2027-01-05", portal="phu-tho", e_result=True),
        dossier("f", PROVINCE_UNIT, 2, "2027-01-06", due="2027-01-30",
                portal="phu-tho"),
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": u, "portal_code": "phu-tho", "unit_name": name, "parent_code": p}
            for u, (name, p) in UNITS.items()])
        conn.execute(sa.insert(unit_closure), closure_rows("phu-tho", tree))
        conn.execute(sa.insert(fct_dossier), rows)


def test_crosswalk_reconciliation_and_preview(warehouse, server, tmp_path, monkeypatch):
    from egov.pipeline.dvcqg import reconcile_step

    monkeypatch.delenv("EGOV_DVCQG_CROSSWALK_FILE", raising=False)  # the shipped file
    _read(server, warehouse, tmp=tmp_path)  # year 2026 (final by now)
    # a published month before the preview's (the replay answers the year's figures)
    _read(server, warehouse, periods=[{"period": "2026-12", "provisional": False}],
          tmp=tmp_path, run_id="test__2", as_of="2027-01-10")
    _one_stop(warehouse)
    for _ in range(2):  # a rerun replaces, never duplicates
        counts = reconcile_step(as_of="2027-01-10", run_id="r1", engine=warehouse)
    assert counts["confirmed"] == 1 and counts["unmapped"] == 163
    assert counts["rows"] == 12 and counts["preview"] == 4  # 2 periods × 6 measures

    with warehouse.connect() as conn:
        mapped = conn.execute(sa.select(dvcqg_score.c.department_id, dvcqg_score.c.unit_code)
                              .distinct().where(dvcqg_score.c.unit_code.is_not(None))).all()
        assert set(mapped) == {(RECORDED_ROOT, PROVINCE_UNIT)}
        # an unmapped department keeps its figures under its own name
        trade = conn.execute(sa.select(dvcqg_score.c.department_name, dvcqg_score.c.score)
                             .where(dvcqg_score.c.department_id == TRADE_DEPARTMENT,
                                    dvcqg_score.c.group_code == "progress",
                                    dvcqg_score.c.period_type == "year")).one()
        assert trade.department_name == "Sở Công Thương - Tỉnh Phú Thọ"
        assert trade.score is not None
        proposals = conn.execute(sa.select(dvcqg_crosswalk.c.department_id,
                                           dvcqg_crosswalk.c.unit_code,
                                           dvcqg_crosswalk.c.basis)
                                 .where(dvcqg_crosswalk.c.status == "proposed")).all()
        assert (TRADE_DEPARTMENT, TRADE_UNIT, "code+name") in proposals
        unmapped = conn.execute(sa.text(
            "SELECT department_id, department_name, proposed_unit_code, proposed_by "
            "FROM bi_dvcqg_unmapped")).all()
        assert len({r.department_id for r in unmapped}) == 163
        assert RECORDED_ROOT not in {r.department_id for r in unmapped}
        assert (TRADE_DEPARTMENT, "Sở Công Thương - Tỉnh Phú Thọ", TRADE_UNIT,
                "code+name") in [tuple(r) for r in unmapped]

        rec = {(r.period_type, r.measure): r for r in conn.execute(
            sa.select(mart_source_reconciliation)).all()}
        preview = {r.measure: r for r in conn.execute(sa.select(mart_dvcqg_preview)).all()}

    received = rec[("year", "received")]
    assert (received.unit_code, received.department_id, received.period_start) == (
        PROVINCE_UNIT, RECORDED_ROOT, date(2026, 1, 1))
    assert (received.ours_numerator, received.theirs_numerator) == (4, 597918)
    assert received.diff_count == 4 - 597918 and received.flagged
    progress = rec[("year", "progress")]
    assert (progress.ours_numerator, progress.ours_denominator) == (3, 4)
    assert (progress.theirs_numerator, progress.theirs_denominator) == (528684, 597918)
    assert progress.ours_pct == 75.0
    assert progress.theirs_pct == pytest.approx(100 * 528684 / 597918)
    assert progress.diff_pp == pytest.approx(75.0 - 100 * 528684 / 597918)
    assert progress.flagged and progress.provisional  # the year was read while running
    online = rec[("year", "online_share")]
    assert (online.ours_numerator, online.ours_denominator, online.ours_pct) == (1, 4, 25.0)
    assert {m for (_, m) in rec} == {"received", "progress", "online_share", "online_payment",
                                     "digitized_results", "satisfaction"}
    assert rec[("month", "progress")].period_start == date(2026, 12, 1)
    assert rec[("month", "received")].ours_numerator == 0  # no record in December

    p = preview["progress"]  # January 2027 as of the 10th: 1 resolved on time + 1 open
    assert (p.period_start, p.ours_numerator, p.ours_denominator) == (date(2027, 1, 1), 2, 2)
    assert p.preview_score == 20.0 and p.max_score == 20.0
    assert p.published_period_start == date(2026, 12, 1) and p.published_score == 17.68
    d = preview["ORIGINAL_RESULT_AVAILABLE"]
    assert (d.ours_numerator, d.ours_denominator, d.preview_score) == (1, 1, 6.0)
    assert d.published_score == pytest.approx(4.35)


def test_an_open_period_is_not_reconciled(warehouse, server, tmp_path, monkeypatch):
    from egov.pipeline.dvcqg import reconcile_step

    monkeypatch.delenv("EGOV_DVCQG_CROSSWALK_FILE", raising=False)
    _read(server, warehouse, tmp=tmp_path)  # year 2026, read on 2026-09-25
    _one_stop(warehouse)
    counts = reconcile_step(as_of="2026-09-25", engine=warehouse)
    assert counts["rows"] == 0 and counts["confirmed"] == 1


def _unit_of(conn, department_id):
    return conn.execute(sa.select(dvcqg_score.c.unit_code).distinct().where(
        dvcqg_score.c.department_id == department_id)).scalar_one()


def test_a_proposal_confirmed_on_the_page_maps_until_withdrawn_and_the_file_wins(
        warehouse, server, tmp_path, monkeypatch):
    from datetime import datetime

    from egov.pipeline.dvcqg import reconcile_step
    from egov.warehouse.dvcqg_crosswalk import confirm_proposal, withdraw_confirmation
    from egov.warehouse.schema import dvcqg_crosswalk_confirmation

    monkeypatch.delenv("EGOV_DVCQG_CROSSWALK_FILE", raising=False)
    _read(server, warehouse, tmp=tmp_path)
    _read(server, warehouse, periods=[{"period": "2026-12", "provisional": False}],
          tmp=tmp_path, run_id="test__2", as_of="2027-01-10")
    _one_stop(warehouse)
    reconcile_step(as_of="2027-01-10", run_id="r1", engine=warehouse)
    shipped, now = load_crosswalk(), datetime(2027, 1, 10, 9, 30)
    with warehouse.begin() as conn:
        assert confirm_proposal(conn, TRADE_DEPARTMENT, OTHER_UNIT, user="cchc",
                                mappings=shipped, now=now) == "not_proposed"
        assert confirm_proposal(conn, TRADE_DEPARTMENT, TRADE_UNIT, user="cchc",
                                mappings=shipped, now=now) == "confirmed"
        assert _unit_of(conn, TRADE_DEPARTMENT) == TRADE_UNIT  # at once
        rows = conn.execute(sa.select(dvcqg_crosswalk.c.status, dvcqg_crosswalk.c.basis)
                            .where(dvcqg_crosswalk.c.department_id == TRADE_DEPARTMENT)).all()
        assert rows == [("confirmed", "page")]  # its proposal is gone
        # twice (a second editor, a double click): nothing more
        assert confirm_proposal(conn, TRADE_DEPARTMENT, TRADE_UNIT, user="other",
                                mappings=shipped, now=now) == "not_proposed"
        saved = conn.execute(sa.select(dvcqg_crosswalk_confirmation)).mappings().one()
        assert (saved["department_id"], saved["unit_code"], saved["basis"],
                saved["confirmed_by"], saved["root_department_id"]) == (
            TRADE_DEPARTMENT, TRADE_UNIT, "code+name", "cchc", RECORDED_ROOT)
        assert TRADE_DEPARTMENT not in {r.department_id for r in conn.execute(
            sa.text("SELECT department_id FROM bi_dvcqg_unmapped"))}

    # the next run keeps it and reconciles the unit (records b and c of 2026)
    counts = reconcile_step(as_of="2027-01-10", run_id="r2", engine=warehouse)
    assert (counts["confirmed"], counts["confirmed_on_page"], counts["unmapped"]) == (2, 1, 162)
    with warehouse.connect() as conn:
        received = conn.execute(sa.select(mart_source_reconciliation).where(
            mart_source_reconciliation.c.unit_code == TRADE_UNIT,
            mart_source_reconciliation.c.period_type == "year",
            mart_source_reconciliation.c.measure == "received")).one()
        assert (received.department_id, received.ours_numerator) == (TRADE_DEPARTMENT, 2)

    # a file mapping the department otherwise wins; the page's confirmation is kept
    cw = tmp_path / "cw.yaml"
    cw.write_text(f"mappings:\n  - {{department_id: {TRADE_DEPARTMENT}, "
                  f"unit_code: '{OTHER_UNIT}'}}\n", encoding="utf-8")
    monkeypatch.setenv("EGOV_DVCQG_CROSSWALK_FILE", str(cw))
    counts = reconcile_step(as_of="2027-01-10", run_id="r3", engine=warehouse)
    assert (counts["confirmed"], counts["confirmed_on_page"],
            counts["page_superseded"]) == (1, 0, 1)
    with warehouse.begin() as conn:
        assert _unit_of(conn, TRADE_DEPARTMENT) == OTHER_UNIT
        assert withdraw_confirmation(conn, TRADE_DEPARTMENT, mappings=load_crosswalk(),
                                     now=now)
        assert not withdraw_confirmation(conn, TRADE_DEPARTMENT, mappings=load_crosswalk(),
                                         now=now)
    monkeypatch.delenv("EGOV_DVCQG_CROSSWALK_FILE")
    with warehouse.begin() as conn:  # the shipped file again: the proposal is back
        from egov.warehouse.dvcqg_crosswalk import store_crosswalk

        store_crosswalk(conn, load_crosswalk(), now=now)
        assert _unit_of(conn, TRADE_DEPARTMENT) is None
        assert conn.execute(sa.select(dvcqg_crosswalk.c.unit_code, dvcqg_crosswalk.c.status)
                            .where(dvcqg_crosswalk.c.department_id == TRADE_DEPARTMENT)
                            ).all() == [(TRADE_UNIT, "proposed")]


def test_the_crosswalk_file_written_by_the_page_reads_back(tmp_path):
    from egov.sources.dvcqg.crosswalk import dump_crosswalk

    mappings = [Mapping("d-1", "000.00.07.H44", "confirmed on the page by cchc"),
                Mapping("d-2", "U:2", None), Mapping("d-3", "U3", None)]
    names = {"d-2": "Sở \"Nội vụ\"\n# không phải chú thích: x", "d-9": "khác"}
    path = tmp_path / "cw.yaml"
    path.write_text(dump_crosswalk(mappings, names=names), encoding="utf-8")
    assert load_crosswalk(path) == [mappings[0], Mapping("d-2", "U:2", names["d-2"]),
                                    mappings[2]]
