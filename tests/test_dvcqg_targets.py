"""Plan targets on the 766 index's indicators (dvcqg:...): validated in plan files,
evaluated from the recorded read on both warehouses, written into mart_target_evaluation."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import select, update

from egov.compute.plans import PlanError, load_plan_file
from egov.compute.targets import evaluate_targets
from egov.warehouse.schema import dvcqg_score, mart_target_evaluation
from tests.dvcqg_replay import RECORDED_ROOT, ReplayServer
from tests.test_dvcqg_load import _read

UNIT = "000.00.00.H44"  # Phú Thọ province's one-stop unit (mapped to the root department)
OTHER_UNIT = "000.00.99.H44"  # no department mapped to it


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _plan(tmp_path, targets, name="phu-tho-766.yaml"):
    data = {"code": "phu-tho-766", "title": "Kế hoạch thử", "portal": "phu-tho",
            "unit": UNIT, "targets": targets}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_plan_file(path)


TARGETS = [
    {"code": "total", "indicator": "dvcqg:score", "measure": "points", "comparator": ">=",
     "thresholds": {2026: 60}, "clause": "Chỉ số đạt từ 60 điểm"},
    {"code": "progress-points", "indicator": "dvcqg:score:progress", "comparator": ">",
     "thresholds": {2026: 18}, "clause": "Tiến độ trên 18 điểm"},
    {"code": "published", "indicator": "dvcqg:PUBLISH_ON_TIME", "comparator": ">=",
     "thresholds": {2026: 100}, "clause": "100% TTHC công bố đúng hạn"},
    {"code": "progress-rate", "indicator": "dvcqg:progress", "comparator": ">=",
     "thresholds": {2026: 88}, "clause": "88% hồ sơ đúng hạn"},
    {"code": "certified", "indicator": "dvcqg:ELECTRONIC_CERTIFIED_COPY", "comparator": ">=",
     "thresholds": {2026: 100}, "clause": "100% chứng thực điện tử"},
    {"code": "elsewhere", "indicator": "dvcqg:score", "unit": OTHER_UNIT, "comparator": ">=",
     "thresholds": {2026: 50}, "clause": "Đơn vị khác"},
    {"code": "percent", "indicator": "online_rate", "comparator": ">=",
     "thresholds": {2026: 50}, "clause": "50% hồ sơ trực tuyến"},
]


def _evaluate(engine, plan, as_of):
    with engine.begin() as conn:
        evaluate_targets(conn, [plan], as_of=as_of, portal_codes=["phu-tho"], run_id="r",
                         computed_at=datetime(2026, 9, 26))
        rows = conn.execute(select(mart_target_evaluation)
                            .where(mart_target_evaluation.c.as_of_date == as_of)).mappings()
        return {r["target_code"]: dict(r) for r in rows}


def test_index_targets_are_evaluated_from_the_mapped_units_read(warehouse, server, tmp_path):
    _read(server, warehouse, tmp=tmp_path)
    with warehouse.begin() as conn:  # the crosswalk's confirmation of the province's row
        conn.execute(update(dvcqg_score).where(dvcqg_score.c.department_id == RECORDED_ROOT)
                     .values(unit_code=UNIT))
    plan = _plan(tmp_path, TARGETS)
    rows = _evaluate(warehouse, plan, date(2026, 9, 25))

    total = rows["total"]
    assert (total["measure"], total["status"], total["value_pct"], total["threshold_pct"]) \
        == ("points", "on_track", Decimal("61.89"), Decimal("60"))
    assert total["numerator"] is None and total["denominator"] is None
    assert total["outlook"] is None and total["unit_code"] == UNIT
    p = rows["progress-points"]
    assert (p["measure"], p["status"], p["value_pct"]) == ("points", "at_risk",
                                                           Decimal("17.68"))
    pub = rows["published"]  # 0 of 89 procedures published on time
    assert (pub["measure"], pub["numerator"], pub["denominator"], pub["value_pct"],
            pub["status"]) == ("percent", 0, 89, Decimal("0.00"), "at_risk")
    rate = rows["progress-rate"]  # 528684 / 597918 = 88.42 %
    assert (rate["numerator"], rate["denominator"], rate["value_pct"], rate["status"]) \
        == (528684, 597918, Decimal("88.42"), "on_track")
    cert = rows["certified"]  # the portal gives the ratio alone (100)
    assert (cert["numerator"], cert["value_pct"], cert["status"]) == (None, Decimal("100.00"),
                                                                      "on_track")
    other = rows["elsewhere"]
    assert (other["status"], other["value_pct"], other["unit_code"]) == ("no_data", None,
                                                                         OTHER_UNIT)
    assert rows["percent"]["measure"] == "percent"  # a one-stop target, as before
    assert rows["percent"]["status"] == "no_data"

    # after the year: met / missed; a rerun replaces, never duplicates
    for _ in range(2):
        after = _evaluate(warehouse, plan, date(2026, 12, 31))
    assert {k: r["status"] for k, r in after.items()} == {
        "total": "met", "progress-points": "missed", "published": "missed",
        "progress-rate": "met", "certified": "met", "elsewhere": "no_data",
        "percent": "no_data"}
    with warehouse.connect() as conn:
        n = conn.execute(select(mart_target_evaluation.c.target_code)
                         .where(mart_target_evaluation.c.as_of_date == date(2026, 12, 31))
                         ).all()
    assert len(n) == len(TARGETS)


def test_an_index_target_without_a_mapped_department_is_no_data(warehouse, server, tmp_path):
    _read(server, warehouse, tmp=tmp_path)  # the read is there, nothing maps to the unit
    rows = _evaluate(warehouse, _plan(tmp_path, TARGETS[:1]), date(2026, 9, 25))
    assert rows["total"]["status"] == "no_data" and rows["total"]["measure"] == "points"


@pytest.mark.parametrize("target, field, fragment", [
    ({"indicator": "dvcqg:score:nope"}, "targets[0].indicator", "group must be one of"),
    ({"indicator": "dvcqg:"}, "targets[0].indicator", "expected dvcqg:score"),
    ({"indicator": "dvcqg:score", "measure": "percent"}, "targets[0].measure",
     "measured in points"),
    ({"indicator": "dvcqg:progress", "measure": "points"}, "targets[0].measure",
     "measured in percent"),
    ({"indicator": "online_rate", "measure": "points"}, "targets[0].measure",
     "measured in percent"),
])
def test_bad_index_targets_are_named(tmp_path, target, field, fragment):
    raw = {"code": "t", "comparator": ">=", "thresholds": {2026: 80}, "clause": "c", **target}
    with pytest.raises(PlanError, match=f"{re.escape(field)}: .*{fragment}"):
        _plan(tmp_path, [raw])


def test_index_targets_load_with_their_measure(tmp_path):
    plan = _plan(tmp_path, TARGETS)
    assert {t.code: t.measure for t in plan.targets} == {
        "total": "points", "progress-points": "points", "published": "percent",
        "progress-rate": "percent", "certified": "percent", "elsewhere": "points",
        "percent": "percent"}
