"""Plan targets evaluated on the year snapshots (docs/contracts/indicators.md, "Targets")."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from egov.compute.indicators.snapshots import compute_snapshots, value_pct
from egov.compute.targets import COMPARATORS, evaluate_targets, outlook, target_status, target_years
from egov.periods import snapshot_periods
from egov.warehouse.schema import (
    dim_unit,
    fct_dossier,
    mart_indicator_snapshot,
    mart_target_evaluation,
    unit_closure,
)
from egov.warehouse.units import closure_rows

AS_OF = date(2025, 5, 20)
PROV, DIST = "000.00.00.H01", "000.00.10.H01"
COMPUTED_AT = datetime(2025, 5, 21, 1, 10)


@dataclass(frozen=True)
class Target:  # the fields of egov.compute.plans.Target that evaluate_targets uses
    code: str
    indicator: str | None
    unit: str
    comparator: str
    thresholds: dict[int, Decimal]
    clause: str = "clause"


@dataclass(frozen=True)
class Plan:  # the fields of egov.compute.plans.Plan that evaluate_targets uses
    code: str
    title: str
    portal: str
    unit: str
    targets: tuple[Target, ...] = field(default_factory=tuple)


def th(**years) -> dict[int, Decimal]:
    """th(y2025="99") -> {2025: Decimal("99")}"""
    return {int(k[1:]): Decimal(v) for k, v in years.items()}


# ---------------------------------------------------------------------------- pure status


@pytest.mark.parametrize(
    "num, den, comparator, threshold, year, as_of, expected",
    [
        # 98.995 % rounds to 99.00 but is below 99: fails, on the exact ratio
        (19799, 20000, ">=", "99", 2025, date(2025, 5, 20), "at_risk"),
        (19799, 20000, ">=", "99", 2025, date(2025, 12, 31), "missed"),
        (19799, 20000, ">=", "99", 2025, date(2026, 3, 1), "missed"),
        # exactly at a fractional threshold
        (19799, 20000, ">=", "98.995", 2025, date(2025, 5, 20), "on_track"),
        (19799, 20000, ">", "98.995", 2025, date(2025, 5, 20), "at_risk"),
        # equal to the threshold: passes ">=", fails ">"
        (99, 100, ">=", "99", 2025, date(2025, 12, 30), "on_track"),
        (99, 100, ">=", "99", 2025, date(2025, 12, 31), "met"),
        (99, 100, ">", "99", 2025, date(2025, 12, 31), "missed"),
        (99, 100, ">", "99", 2025, date(2025, 6, 1), "at_risk"),
        (100, 100, ">", "99", 2024, date(2025, 6, 1), "met"),
        (1, 3, ">=", "33.33", 2025, date(2025, 6, 1), "on_track"),  # 33.333... >= 33.33
        (1, 3, ">=", "33.34", 2025, date(2025, 6, 1), "at_risk"),
        (0, 5, ">=", "0", 2025, date(2025, 6, 1), "on_track"),
        # no data
        (0, 0, ">=", "10", 2025, date(2025, 6, 1), "no_data"),
        (None, None, ">=", "10", 2024, date(2025, 6, 1), "no_data"),
    ],
)
def test_target_status(num, den, comparator, threshold, year, as_of, expected):
    status = target_status(num, den, comparator, Decimal(threshold), year, as_of, True)
    assert status == expected


def test_target_status_not_measured_and_bad_comparator():
    assert target_status(None, None, ">=", Decimal(50), 2025, AS_OF, False) == "not_measured"
    assert target_status(5, 10, ">=", Decimal(50), 2025, AS_OF, False) == "not_measured"
    with pytest.raises(ValueError):
        target_status(5, 10, "<", Decimal(50), 2025, AS_OF, True)


def test_rounded_value_would_have_passed():
    """The case the exact comparison exists for."""
    assert value_pct(19799, 20000) == Decimal("99.00")
    assert target_status(19799, 20000, ">=", Decimal(99), 2025, AS_OF, True) == "at_risk"


def test_target_years_only_of_measured_targets():
    plans = [Plan("a", "A", "p1", PROV, (
        Target("t1", "online_rate", PROV, ">=", th(y2024="1", y2026="1")),
        Target("t2", None, PROV, ">=", th(y2021="1")),
    ))]
    assert target_years(plans) == {2024, 2026}


# ------------------------------------------------------------------------ with the marts


def snapshot(unit, indicator, year, num, den, *, as_of=AS_OF, period_type="year",
             start=None) -> dict:
    start = start or date(year, 1, 1)
    return {
        "as_of_date": as_of, "portal_code": "p1", "unit_code": unit,
        "indicator_code": indicator, "period_type": period_type, "period_start": start,
        "period_end": date(year, 12, 31) if period_type == "year" else start,
        "numerator": num, "denominator": den, "value_pct": value_pct(num, den),
        "run_id": "snap", "computed_at": COMPUTED_AT,
    }


SNAPSHOTS = [
    snapshot(PROV, "online_rate", 2025, 19799, 20000),  # value_pct 99.00, exact 98.995
    snapshot(PROV, "online_rate", 2024, 99, 100),
    snapshot(PROV, "on_time_rate", 2025, 0, 0),
    snapshot(DIST, "progress_rate", 2025, 50, 100),
    # not read: another as-of day, and a month snapshot
    snapshot(PROV, "online_rate", 2025, 20000, 20000, as_of=date(2025, 5, 19)),
    snapshot(PROV, "online_rate", 2025, 1, 1, period_type="month", start=date(2025, 5, 1)),
]

PLAN_A = Plan(
    "plan-a", "Kế hoạch A", "p1", PROV,
    (
        Target("t-online", "online_rate", PROV, ">=", th(y2024="99", y2025="99", y2026="99"),
               "tối thiểu 99%"),
        Target("t-above", "online_rate", PROV, ">", th(y2024="99")),
        Target("t-none", None, PROV, ">=", th(y2025="100")),
        Target("t-nodata", "on_time_rate", PROV, ">=", th(y2025="90")),
        Target("t-dist", "progress_rate", DIST, ">=", th(y2025="50")),
        Target("t-missing", "online_rate", "999.99.99.X99", ">=", th(y2025="10")),
    ),
)
PLAN_B = Plan("plan-b", "Kế hoạch B", "p9", "000.00.00.H09", (
    Target("t", "online_rate", "000.00.00.H09", ">=", th(y2025="10")),
))


def evaluate(engine, plans, *, as_of=AS_OF, run_id="run-1", portals=("p1",)):
    with engine.begin() as conn:
        return evaluate_targets(conn, plans, as_of=as_of, portal_codes=list(portals),
                                run_id=run_id, computed_at=COMPUTED_AT)


def stored(engine, **where) -> dict:
    e = mart_target_evaluation.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(mart_target_evaluation).where(*[e[k] == v for k, v in where.items()])
        ).mappings().all()
    return {(r["plan_code"], r["target_code"], r["year"]): dict(r) for r in rows}


def test_evaluate_targets(warehouse, caplog):
    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_indicator_snapshot), SNAPSHOTS)
    with caplog.at_level(logging.WARNING, logger="egov.compute.targets"):
        returned = evaluate(warehouse, [PLAN_A, PLAN_B])
    rows = stored(warehouse, as_of_date=AS_OF)
    assert len(returned) == len(rows) == 7  # t-online 2024, 2025 (not 2026); 5 others
    status = {key: r["status"] for key, r in rows.items()}
    assert status == {
        ("plan-a", "t-online", 2024): "met",  # 99/100 >= 99, 2024 is over
        ("plan-a", "t-online", 2025): "at_risk",  # 98.995 < 99 although shown as 99.00
        ("plan-a", "t-above", 2024): "missed",  # 99 is not above 99
        ("plan-a", "t-none", 2025): "not_due",  # no reported figure, not due until 2026
        ("plan-a", "t-nodata", 2025): "no_data",
        ("plan-a", "t-dist", 2025): "on_track",
        ("plan-a", "t-missing", 2025): "no_data",
    }
    r = rows["plan-a", "t-online", 2025]
    assert (r["numerator"], r["denominator"]) == (19799, 20000)
    assert Decimal(str(r["value_pct"])) == Decimal("99.00")
    assert Decimal(str(r["threshold_pct"])) == Decimal("99")
    assert (r["unit_code"], r["indicator_code"], r["comparator"], r["clause"]) == (
        PROV, "online_rate", ">=", "tối thiểu 99%")
    assert (r["portal_code"], r["plan_title"], r["run_id"]) == ("p1", "Kế hoạch A", "run-1")
    r = rows["plan-a", "t-none", 2025]
    assert (r["indicator_code"], r["numerator"], r["denominator"], r["value_pct"]) == (
        None, None, None, None)
    r = rows["plan-a", "t-nodata", 2025]
    assert (r["numerator"], r["denominator"], r["value_pct"]) == (0, 0, None)
    assert rows["plan-a", "t-dist", 2025]["unit_code"] == DIST
    r = rows["plan-a", "t-missing", 2025]
    assert (r["numerator"], r["denominator"], r["value_pct"]) == (None, None, None)
    # warnings: the missing snapshot, and plan-b's unconfigured portal (no rows for it)
    messages = [rec.getMessage() for rec in caplog.records]
    assert any("t-missing" in m and "999.99.99.X99" in m for m in messages)
    assert any("plan-b" in m and "p9" in m for m in messages)
    assert not stored(warehouse, plan_code="plan-b")


def test_rerun_replaces_evaluations_of_the_same_as_of(warehouse):
    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_indicator_snapshot), SNAPSHOTS)
    day_before = date(2025, 5, 19)
    evaluate(warehouse, [PLAN_A], as_of=day_before, run_id="run-0")
    first = evaluate(warehouse, [PLAN_A], run_id="run-1")
    second = evaluate(warehouse, [PLAN_A], run_id="run-2")
    assert len(first) == len(second) == 7
    rows = stored(warehouse, as_of_date=AS_OF)
    assert len(rows) == 7 and {r["run_id"] for r in rows.values()} == {"run-2"}
    before = stored(warehouse, as_of_date=day_before)
    assert len(before) == 7 and {r["run_id"] for r in before.values()} == {"run-0"}
    # as of 05-19 only the 2025 online snapshot of that day exists (20000/20000)
    assert before["plan-a", "t-online", 2025]["status"] == "on_track"
    assert before["plan-a", "t-online", 2024]["status"] == "no_data"


def test_plans_of_other_portals_are_skipped(warehouse):
    assert evaluate(warehouse, [PLAN_B]) == []
    assert not stored(warehouse)


def test_end_to_end_with_computed_snapshots(warehouse):
    """Periods from the plans' target years, snapshots computed, then targets evaluated."""
    plan = Plan("plan-e", "E", "p1", PROV, (
        Target("online", "online_rate", PROV, ">=", th(y2024="75", y2025="75", y2027="75")),
        Target("online-dist", "online_rate", DIST, ">", th(y2025="75")),
    ))
    tree = {PROV: None, DIST: PROV}
    records = [
        {"portal_code": "p1", "dossier_code": f"d{i}", "unit_code": DIST,
         "is_certification": False, "channel": 2 if i < 3 else 1, "status": 2,
         "updated_at": datetime(2025, 5, 1), "received_date": date(2025, 5, 1 + i),
         "has_digitized_papers": False, "fee_total": 0, "has_fee": False,
         "has_electronic_result": False, "supplement_requests": 0}
        for i in range(4)
    ]
    with warehouse.begin() as conn:
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": u, "portal_code": "p1", "parent_code": p} for u, p in tree.items()])
        conn.execute(sa.insert(unit_closure), closure_rows("p1", tree))
        conn.execute(sa.insert(fct_dossier), records)
        periods = snapshot_periods(AS_OF, target_years([plan]))
        assert [p.start.year for p in periods if p.period_type == "year"] == [2025, 2024]
        compute_snapshots(conn, portal_codes=["p1"], as_of=AS_OF, periods=periods,
                          run_id="r", computed_at=COMPUTED_AT)
        rows = evaluate_targets(conn, [plan], as_of=AS_OF, portal_codes=["p1"], run_id="r",
                                computed_at=COMPUTED_AT)
    got = {(r["target_code"], r["year"]): (r["numerator"], r["denominator"], r["status"])
           for r in rows}
    assert got == {
        ("online", 2024): (0, 0, "no_data"),  # the 2024 snapshot exists, with no records
        ("online", 2025): (3, 4, "on_track"),  # 75 % >= 75
        ("online-dist", 2025): (3, 4, "at_risk"),  # 75 % is not above 75
    }


# ------------------------------------------------------------------------------- outlook

OUTLOOK_KEYS = ("projected_denominator", "needed_numerator", "needed_share_pct", "outlook")


def _outlook(num, den, comparator, threshold, as_of, indicator="online_rate", year=None):
    got = outlook(num, den, comparator, Decimal(threshold), year or as_of.year, as_of,
                  indicator)
    return tuple(got[k] for k in OUTLOOK_KEYS)


@pytest.mark.parametrize(
    "num, den, comparator, threshold, as_of, expected",
    [
        # 20 May 2025: d = 140 days so far, r = 225 to come; rest = ceil(20000×225/140) =
        # 32143, projected 52143; ceil(0.99 × 52143) = 51622; (51622 − 19799) / 32143 = 99.004 %
        (19799, 20000, ">=", "99", date(2025, 5, 20), (52143, 51622, Decimal("99.00"), "reachable")),
        # 2 July 2025: d = 183, r = 182; rest = 182, projected 365; ceil(0.9 × 365) = 329;
        # (329 − 90) / 182 = 131.318 %: more than all the rest of the year
        (90, 183, ">=", "90", date(2025, 7, 2), (365, 329, Decimal("131.32"), "out_of_reach")),
        # ">" needs one more than ">=" on an exact boundary: 50 % of 200
        (50, 100, ">=", "50", date(2025, 7, 2), (200, 100, Decimal("50.00"), "reachable")),
        (50, 100, ">", "50", date(2025, 7, 2), (200, 101, Decimal("51.00"), "reachable")),
        # leap year, 30 December 2024: d = 365, r = 1; rest = 1; every remaining record
        # must pass: exactly 100 % is still reachable
        (365, 365, ">=", "100", date(2024, 12, 30), (366, 366, Decimal("100.00"), "reachable")),
        (365, 365, ">", "99.9", date(2024, 12, 30), (366, 366, Decimal("100.00"), "reachable")),
        (364, 365, ">=", "100", date(2024, 12, 30), (366, 366, Decimal("200.00"), "out_of_reach")),
        # already above what the year needs: below 0 is reported as 0
        (100, 100, ">=", "40", date(2025, 7, 2), (200, 80, Decimal("0.00"), "reachable")),
        (0, 5, ">=", "0", date(2025, 7, 2), (10, 0, Decimal("0.00"), "reachable")),
        # half away from zero: 1 / 32 = 3.125 % -> 3.13 (rest = ceil(32×182/183) = 32)
        (31, 32, ">=", "50", date(2025, 7, 2), (64, 32, Decimal("3.13"), "reachable")),
        # a fractional threshold: 33.34 % of 6 = 2.0004 -> 3 needed
        (1, 3, ">=", "33.34", date(2025, 7, 2), (6, 3, Decimal("66.67"), "reachable")),
        # 1 January: d = 1, r = 364; rest 728; (548 − 1) / 728 = 75.137 %
        (1, 2, ">=", "75", date(2025, 1, 1), (730, 548, Decimal("75.14"), "reachable")),
    ],
)
def test_outlook_hand_worked(num, den, comparator, threshold, as_of, expected):
    assert _outlook(num, den, comparator, threshold, as_of) == expected


@pytest.mark.parametrize(
    "num, den, as_of, year, indicator",
    [
        (0, 0, date(2025, 7, 2), 2025, "online_rate"),  # no data
        (5, 10, date(2025, 12, 31), 2025, "online_rate"),  # r = 0: the year is over
        (5, 10, date(2026, 3, 1), 2025, "online_rate"),  # a past year
        (5, 10, date(2025, 7, 2), 2025, "catalog_online_rate"),  # catalogue indicator
        (None, None, date(2025, 7, 2), 2025, None),  # not measured
    ],
)
def test_no_outlook(num, den, as_of, year, indicator):
    assert _outlook(num, den, ">=", "50", as_of, indicator, year) == (None,) * 4


def test_outlook_agrees_with_the_oracle():
    """The oracle's reading (search for the smallest passing numerator) on a grid of cases."""
    import random

    from tests import oracle

    rng = random.Random(9)
    days = [date(2024, 1, 1), date(2024, 2, 29), date(2024, 12, 30), date(2025, 3, 31),
            date(2025, 6, 30), date(2025, 12, 30)]
    thresholds = ["0", "0.01", "33.33", "50", "66.665", "90", "98.995", "99.99", "100"]
    for _ in range(3000):
        den = rng.choice([1, 2, 3, 7, 10, 99, 100, 1234, 20000, rng.randint(1, 50000)])
        num = rng.randint(0, den)
        as_of, threshold = rng.choice(days), rng.choice(thresholds)
        comparator = rng.choice(COMPARATORS)
        got = _outlook(num, den, comparator, threshold, as_of)
        want = oracle.outlook(num, den, comparator, Decimal(threshold), as_of.year, as_of,
                              "online_rate")
        assert got == want, (num, den, comparator, threshold, as_of)


def test_outlook_is_stored_and_shown(warehouse):
    from egov.serve.reports.target_report import outlook_report, target_report

    with warehouse.begin() as conn:
        conn.execute(sa.insert(mart_indicator_snapshot), SNAPSHOTS)
    evaluate(warehouse, [PLAN_A])
    rows = stored(warehouse, as_of_date=AS_OF)
    r = rows["plan-a", "t-online", 2025]
    assert (r["projected_denominator"], r["needed_numerator"], r["outlook"]) == (
        52143, 51622, "reachable")
    assert Decimal(str(r["needed_share_pct"])) == Decimal("99.00")
    r = rows["plan-a", "t-dist", 2025]  # 50/100 as of 20 May: rest 161, projected 261
    assert (r["projected_denominator"], r["needed_numerator"], r["outlook"]) == (
        261, 131, "reachable")
    for key in [("plan-a", "t-online", 2024), ("plan-a", "t-none", 2025),
                ("plan-a", "t-nodata", 2025), ("plan-a", "t-missing", 2025)]:
        assert [rows[key][k] for k in OUTLOOK_KEYS] == [None] * 4, key
    with warehouse.connect() as conn:
        text = target_report(conn, AS_OF)
        short = outlook_report(conn, AS_OF)
    assert "outlook reachable: 99.00% of the rest of the year's records must pass" in text
    assert "(51622 of a projected 52143 for the year)" in text
    lines = short.splitlines()[1:]
    assert len(lines) == 2  # t-online 2025 and t-dist 2025 have an outlook
    assert lines[0].split()[:4] == ["plan-a", "t-online", "reachable", "needs"]
    assert "99.00%" in lines[0] and "(19799/20000)" in lines[0]
