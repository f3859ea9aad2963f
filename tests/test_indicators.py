"""Indicator snapshots: every formula of docs/contracts/indicators.md, worked out by hand.

Each test builds a tiny warehouse (units, procedures, fct_dossier rows inserted directly) and
runs `compute_snapshots` on SQLite and on PostgreSQL (fixture `warehouse`).

The unit tree of portal p1 (portal p2 has one unit, OTHER):

    PROV (province)
    ├── DIST (district)
    │   ├── COMM  (commune)
    │   └── COMM2 (commune, no records, no procedures)
    └── DEPT (department)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from egov.compute.indicators.codes import ALL_INDICATORS
from egov.compute.indicators.snapshots import compute_snapshots, value_pct
from egov.periods import (
    Period,
    as_of_for_logical_date,
    period_containing,
    snapshot_periods,
    year_period,
)
from egov.warehouse.schema import (
    dim_procedure,
    dim_unit,
    fct_dossier,
    mart_indicator_snapshot,
    procedure_unit,
    unit_closure,
)
from egov.warehouse.units import closure_rows

P1, P2 = "p1", "p2"
PROV, DIST, COMM, COMM2, DEPT = (
    "000.00.00.H01", "000.00.10.H01", "000.10.10.H01", "000.11.10.H01", "000.01.00.H01"
)
OTHER = "000.00.00.H02"
P1_UNITS = (PROV, DIST, COMM, COMM2, DEPT)
TREE = {PROV: None, DIST: PROV, COMM: DIST, COMM2: DIST, DEPT: PROV}

AS_OF = date(2025, 5, 20)
MAY = period_containing("month", AS_OF)  # 2025-05-01 .. 2025-05-31, cut at 05-20
Q2 = period_containing("quarter", AS_OF)  # 2025-04-01 .. 2025-06-30, cut at 05-20
Y2025 = year_period(2025)  # cut at 05-20
Y2024 = year_period(2024)  # a target year, complete at AS_OF
COMPUTED_AT = datetime(2025, 5, 21, 1, 5)


# ------------------------------------------------------------------------------- helpers


def _d(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def dossier(code, unit, status, received, *, due=None, ended=None, channel=1, level=None,
            delivery=0, payment=None, digitized=False, fee=False, e_result=False, cert=False,
            satisfaction=None, procedure=None, portal=P1) -> dict:
    """A fct_dossier row as the loader writes it (dates are local calendar days)."""
    return {
        "portal_code": portal, "dossier_code": code, "unit_code": unit,
        "procedure_code": procedure, "is_certification": cert, "channel": channel,
        "service_level": level, "status": status, "updated_at": datetime(2025, 5, 20, 9),
        "received_date": _d(received), "due_date": _d(due), "ended_date": _d(ended),
        "result_delivery": delivery, "online_payment": payment,
        "has_digitized_papers": digitized, "fee_total": 1000 if fee else 0, "has_fee": fee,
        "has_electronic_result": e_result, "supplement_requests": 0,
        "satisfaction": satisfaction,
    }


def procedure(code, level, *, eligible=False, fee=False, payment=False, national=False,
              portal=P1) -> dict:
    return {
        "portal_code": portal, "procedure_code": code, "service_level": level,
        "full_online_eligible": eligible, "has_fee": fee, "online_payment_offered": payment,
        "on_national_portal": national,
    }


def load_units(conn) -> None:
    for portal, tree in ((P1, TREE), (P2, {OTHER: None})):
        conn.execute(sa.insert(dim_unit), [
            {"unit_code": u, "portal_code": portal, "unit_name": u, "parent_code": p}
            for u, p in tree.items()
        ])
        conn.execute(sa.insert(unit_closure), closure_rows(portal, tree))


def setup_warehouse(engine, dossiers=(), procedures=(), procedure_units=()) -> None:
    with engine.begin() as conn:
        load_units(conn)
        if dossiers:
            conn.execute(sa.insert(fct_dossier), list(dossiers))
        if procedures:
            conn.execute(sa.insert(dim_procedure), list(procedures))
        if procedure_units:
            conn.execute(sa.insert(procedure_unit), [
                {"portal_code": portal, "procedure_code": code, "unit_code": unit}
                for portal, code, unit in procedure_units
            ])


def compute(engine, periods, *, as_of=AS_OF, portals=(P1,), run_id="run-1") -> int:
    with engine.begin() as conn:
        return compute_snapshots(
            conn, portal_codes=list(portals), as_of=as_of, periods=periods, run_id=run_id,
            computed_at=COMPUTED_AT,
        )


def _pct(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def snapshots(engine, period: Period, *, as_of=AS_OF) -> dict:
    """(unit, indicator) -> (numerator, denominator, value_pct) of one period."""
    s = mart_indicator_snapshot.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.unit_code, s.indicator_code, s.numerator, s.denominator,
                      sa.cast(s.value_pct, sa.String).label("value_pct"))
            .where(s.as_of_date == as_of, s.period_type == period.period_type,
                   s.period_start == period.start)
        ).all()
    return {(r[0], r[1]): (r[2], r[3], _pct(r[4])) for r in rows}


def expect(num: int, den: int, pct: str | None):
    return (num, den, None if pct is None else Decimal(pct))


def count_rows(engine, **where) -> int:
    s = mart_indicator_snapshot.c
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(mart_indicator_snapshot)
            .where(*[s[k] == v for k, v in where.items()])
        ).scalar_one()


# ------------------------------------------------------------------------------- periods


def test_period_bounds():
    assert period_containing("month", date(2024, 2, 10)) == Period(
        "month", date(2024, 2, 1), date(2024, 2, 29))  # leap year
    assert period_containing("month", date(2025, 12, 31)) == Period(
        "month", date(2025, 12, 1), date(2025, 12, 31))
    assert period_containing("quarter", date(2025, 5, 20)) == Period(
        "quarter", date(2025, 4, 1), date(2025, 6, 30))
    assert period_containing("quarter", date(2025, 10, 1)) == Period(
        "quarter", date(2025, 10, 1), date(2025, 12, 31))
    assert period_containing("quarter", date(2025, 3, 31)).start == date(2025, 1, 1)
    assert period_containing("year", date(2025, 5, 20)) == Period(
        "year", date(2025, 1, 1), date(2025, 12, 31))
    with pytest.raises(ValueError):
        period_containing("week", date(2025, 5, 20))


def test_period_cut_at_as_of():
    assert MAY.cut_end(AS_OF) == date(2025, 5, 20)
    assert MAY.end == date(2025, 5, 31)  # the period itself is never cut
    assert Y2024.cut_end(AS_OF) == date(2024, 12, 31)


def test_snapshot_periods_add_target_years_up_to_as_of():
    periods = snapshot_periods(AS_OF, target_years=[2026, 2023, 2025, 2023, 2021])
    assert periods == [MAY, Q2, Y2025, year_period(2021), year_period(2023)]
    assert snapshot_periods(AS_OF) == [MAY, Q2, Y2025]


@pytest.mark.parametrize(
    "logical_date, as_of",
    [
        (datetime(2025, 1, 1, 16, 59, tzinfo=UTC), date(2024, 12, 31)),  # 23:59 local
        (datetime(2025, 1, 1, 17, 0, tzinfo=UTC), date(2025, 1, 1)),  # 00:00 local, Jan 2
        (datetime(2025, 1, 1, 16, 59), date(2024, 12, 31)),  # naive = UTC
        (datetime(2025, 1, 1, 17, 0), date(2025, 1, 1)),
        (datetime(2025, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=7))), date(2025, 1, 1)),
        (datetime(2025, 1, 1, 18, 0, tzinfo=UTC), date(2025, 1, 1)),  # the nightly 01:00
    ],
)
def test_as_of_for_logical_date(logical_date, as_of):
    assert as_of_for_logical_date(logical_date) == as_of


# ------------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    "num, den, pct",
    [
        (2, 3, "66.67"), (1, 3, "33.33"), (1, 8, "12.50"), (1, 800, "0.13"),  # .125 up
        (5, 800, "0.63"), (3, 800, "0.38"), (0, 5, "0.00"), (5, 5, "100.00"),
        (19799, 20000, "99.00"), (1, 7, "14.29"),
    ],
)
def test_value_pct_rounds_half_away_from_zero(num, den, pct):
    assert value_pct(num, den) == Decimal(pct)
    assert str(value_pct(num, den)) == pct


def test_value_pct_is_null_for_zero_denominator():
    assert value_pct(0, 0) is None


# ---------------------------------------------------------------------- record indicators


def test_every_status(warehouse):
    # One record per status 1..10 at COMM, received 05-10, due 05-30, channel 2; statuses
    # 7..10 ended 05-15 (2, 4, 5, 6 have no end date, as the loader writes them). Plus a
    # status 7 record without an end date (counts as open).
    rows = [
        dossier(f"S{s}", COMM, s, "2025-05-10", due="2025-05-30", channel=2,
                ended="2025-05-15" if s >= 7 else None)
        for s in range(1, 11)
    ] + [dossier("S7-open", COMM, 7, "2025-05-10", due="2025-05-30", channel=2)]
    setup_warehouse(warehouse, rows)
    assert compute(warehouse, [MAY]) == len(P1_UNITS) * len(ALL_INDICATORS)
    got = snapshots(warehouse, MAY)
    # RECEIVED: statuses 2, 4, 5, 6, 7, 8, 9, 10 and S7-open = 9 (1 and 3 never count)
    assert got[COMM, "online_rate"] == expect(9, 9, "100.00")
    # RESOLVED: statuses 9 and 10 only (7 and 8 ended but are not resolved)
    assert got[COMM, "on_time_rate"] == expect(2, 2, "100.00")
    # OPEN_AT_END: 2, 4, 5, 6 (no end date) and S7-open = 5, all within deadline
    # progress = (2 resolved on time + 5 open within) / (2 + 5)
    assert got[COMM, "progress_rate"] == expect(7, 7, "100.00")
    # the same at every ancestor, nothing at the department
    assert got[PROV, "online_rate"] == expect(9, 9, "100.00")
    assert got[DEPT, "online_rate"] == expect(0, 0, None)


def test_received_resolved_open_boundaries_and_cut(warehouse):
    rows = [
        dossier("a", COMM, 10, "2025-04-30", ended="2025-05-01"),
        dossier("b", COMM, 10, "2025-05-01", ended="2025-05-20"),
        # ended after AS_OF, inside May: open at the cut, not resolved
        dossier("c", COMM, 10, "2025-05-20", ended="2025-05-25", due="2025-05-25"),
        dossier("d", COMM, 4, "2025-05-21"),  # received after AS_OF: counts nowhere
        dossier("e", COMM, 9, "2024-12-31", ended="2025-01-02", due="2025-01-05"),
        dossier("f", COMM, 5, "2024-03-01", due="2024-03-10"),  # open, late, since 2024
        dossier("g", COMM, 9, "2025-04-01", ended="2025-04-30"),
    ]
    setup_warehouse(warehouse, rows)
    assert compute(warehouse, [MAY, Q2, Y2025, Y2024]) == 4 * len(P1_UNITS) * 18

    may = snapshots(warehouse, MAY)
    # May' = 05-01..05-20. RECEIVED {b, c}; RESOLVED {a, b}; OPEN {c, f}
    assert may[COMM, "online_rate"] == expect(0, 2, "0.00")
    assert may[COMM, "on_time_rate"] == expect(2, 2, "100.00")  # no due date = on time
    # progress: on time {a, b} + within deadline {c (due 05-25 >= 05-20)} / (2 + 2)
    assert may[COMM, "progress_rate"] == expect(3, 4, "75.00")

    q2 = snapshots(warehouse, Q2)
    # Q2' = 04-01..05-20. RECEIVED {a, b, c, g}; RESOLVED {a, b, g}; OPEN {c, f}
    assert q2[COMM, "online_rate"] == expect(0, 4, "0.00")
    assert q2[COMM, "on_time_rate"] == expect(3, 3, "100.00")
    assert q2[COMM, "progress_rate"] == expect(4, 5, "80.00")

    y25 = snapshots(warehouse, Y2025)
    # 2025' = 01-01..05-20. RECEIVED {a, b, c, g}; RESOLVED {a, b, g, e}; OPEN {c, f}
    assert y25[COMM, "online_rate"] == expect(0, 4, "0.00")
    assert y25[COMM, "on_time_rate"] == expect(4, 4, "100.00")  # e: 01-02 <= due 01-05
    assert y25[COMM, "progress_rate"] == expect(5, 6, "83.33")

    y24 = snapshots(warehouse, Y2024)
    # 2024 (complete). RECEIVED {e, f}; RESOLVED none; OPEN {e (ended 2025-01-02), f}
    assert y24[COMM, "online_rate"] == expect(0, 2, "0.00")
    assert y24[COMM, "on_time_rate"] == expect(0, 0, None)
    # within deadline at 12-31: e (due 2025-01-05) yes, f (due 2024-03-10) no
    assert y24[COMM, "progress_rate"] == expect(1, 2, "50.00")

    s = mart_indicator_snapshot.c
    with warehouse.connect() as conn:
        ends = dict(conn.execute(
            sa.select(s.period_type, s.period_end).where(s.period_start.in_(
                [MAY.start, Q2.start, Y2025.start])).distinct()).all())
    assert {k: _d(str(v)) for k, v in ends.items()} == {
        "month": date(2025, 5, 31), "quarter": date(2025, 6, 30), "year": date(2025, 12, 31)}


def test_old_records_still_count_when_open_or_ended_in_the_period(warehouse):
    rows = [
        dossier("old-open", COMM, 4, "2022-06-01"),  # open at the end of May
        dossier("old-done", COMM, 10, "2022-06-01", ended="2023-01-01"),  # counts nowhere
        dossier("old-ends-later", COMM, 10, "2022-06-01", ended="2025-05-25"),  # open
        dossier("old-ends-now", COMM, 9, "2022-06-01", ended="2025-05-03"),  # resolved
    ]
    setup_warehouse(warehouse, rows)
    compute(warehouse, [MAY])
    got = snapshots(warehouse, MAY)
    assert got[COMM, "online_rate"] == expect(0, 0, None)  # nothing RECEIVED in May
    assert got[COMM, "on_time_rate"] == expect(1, 1, "100.00")
    # 1 resolved on time + 2 open within deadline (no due dates) / (1 + 2)
    assert got[COMM, "progress_rate"] == expect(3, 3, "100.00")


def test_on_time_and_within_deadline(warehouse):
    rows = [
        dossier("early", COMM, 10, "2025-05-02", ended="2025-05-10", due="2025-05-15"),
        dossier("same-day", COMM, 10, "2025-05-02", ended="2025-05-15", due="2025-05-15"),
        dossier("late", COMM, 10, "2025-05-02", ended="2025-05-16", due="2025-05-15"),
        dossier("no-due", COMM, 9, "2025-05-02", ended="2025-05-12"),
        dossier("late-2", COMM, 9, "2025-05-02", ended="2025-05-18", due="2025-05-17"),
        dossier("due-at-end", COMM, 4, "2025-05-02", due="2025-05-20"),  # within (>= end')
        dossier("overdue", COMM, 4, "2025-05-02", due="2025-05-19"),
        dossier("open-no-due", COMM, 2, "2025-05-02"),
        dossier("due-later", COMM, 6, "2025-05-02", due="2025-05-31"),
    ]
    setup_warehouse(warehouse, rows)
    compute(warehouse, [MAY])
    got = snapshots(warehouse, MAY)
    # on time: early, same-day, no-due = 3 of 5 resolved
    assert got[COMM, "on_time_rate"] == expect(3, 5, "60.00")
    # progress: (3 on time + 3 open within {due-at-end, open-no-due, due-later}) / (5 + 4)
    assert got[COMM, "progress_rate"] == expect(6, 9, "66.67")


def test_subtree_aggregation_and_zero_denominators(warehouse):
    rows = [
        dossier("p", PROV, 2, "2025-05-05", channel=2),
        dossier("d1", DIST, 2, "2025-05-05", channel=1),
        dossier("d2", DIST, 2, "2025-05-05", channel=1),  # KenhThucHien null, mapped to 1
        dossier("c1", COMM, 2, "2025-05-05", channel=2),
        dossier("c2", COMM, 2, "2025-05-05", channel=3),
        dossier("c3", COMM, 2, "2025-05-05", channel=1),
        dossier("s1", DEPT, 2, "2025-05-05", channel=3),
        dossier("o1", OTHER, 2, "2025-05-05", channel=2, portal=P2),
    ]
    setup_warehouse(warehouse, rows)
    assert compute(warehouse, [MAY]) == 5 * 18
    got = snapshots(warehouse, MAY)
    assert len(got) == 5 * 18 and {u for u, _ in got} == set(P1_UNITS)  # p2 not written
    # online (channel 2): COMM {c1} of 3; DIST adds d1, d2; PROV adds p and DEPT's s1
    assert got[COMM, "online_rate"] == expect(1, 3, "33.33")
    assert got[DIST, "online_rate"] == expect(1, 5, "20.00")
    assert got[PROV, "online_rate"] == expect(2, 7, "28.57")
    assert got[DEPT, "online_rate"] == expect(0, 1, "0.00")  # a real 0, not "no data"
    # postal intake (channel 3): c2 and s1
    assert got[COMM, "postal_intake_rate"] == expect(1, 3, "33.33")
    assert got[DIST, "postal_intake_rate"] == expect(1, 5, "20.00")
    assert got[PROV, "postal_intake_rate"] == expect(2, 7, "28.57")
    assert got[DEPT, "postal_intake_rate"] == expect(1, 1, "100.00")
    # a unit without records or procedures: every indicator 0 / 0 / NULL
    for indicator in ALL_INDICATORS:
        assert got[COMM2, indicator] == expect(0, 0, None), indicator
    # no procedures loaded: catalogue indicators have no data anywhere
    assert got[PROV, "catalog_online_rate"] == expect(0, 0, None)

    # computing p2 leaves p1's rows alone and does not count p1's records
    assert compute(warehouse, [MAY], portals=[P2]) == 18
    got = snapshots(warehouse, MAY)
    assert got[OTHER, "online_rate"] == expect(1, 1, "100.00")
    assert got[PROV, "online_rate"] == expect(2, 7, "28.57")


def test_record_attribute_indicators(warehouse):
    rows = [
        # RECEIVED in May (status 2, still open)
        dossier("r1", COMM, 2, "2025-05-05", channel=2, level="4", fee=True, payment=1,
                digitized=True),
        dossier("r2", COMM, 2, "2025-05-05", channel=2, level="3", fee=True, payment=2),
        dossier("r3", COMM, 2, "2025-05-05", channel=2, level=None, fee=True, payment=0,
                digitized=True),
        dossier("r4", COMM, 2, "2025-05-05", channel=1, level="4", payment=1),  # no fee
        dossier("r5", COMM, 2, "2025-05-05", channel=3, level="4", fee=True),
        # RESOLVED in May, received in April (so not RECEIVED in May)
        dossier("s1", COMM, 10, "2025-04-20", ended="2025-05-10", delivery=1, e_result=True,
                cert=True, satisfaction=1),
        dossier("s2", COMM, 9, "2025-04-20", ended="2025-05-10", delivery=0, cert=True,
                satisfaction=2),
        dossier("s3", COMM, 10, "2025-04-20", ended="2025-05-10", delivery=1, e_result=True,
                satisfaction=3),
        dossier("s4", COMM, 10, "2025-04-20", ended="2025-05-10", delivery=None,
                satisfaction=3),
        dossier("s5", COMM, 10, "2025-04-20", ended="2025-05-10", e_result=True, cert=True,
                satisfaction=4),  # out-of-range rating: matches no condition
        # status 8 (stopped) ended in May: not RESOLVED, counts in nothing below
        dossier("x8", COMM, 8, "2025-04-20", ended="2025-05-10", delivery=1, e_result=True,
                cert=True, satisfaction=1),
    ]
    setup_warehouse(warehouse, rows)
    compute(warehouse, [MAY])
    got = snapshots(warehouse, MAY)
    c = {ind: got[COMM, ind] for ind in ALL_INDICATORS}
    # RECEIVED = r1..r5
    assert c["online_rate"] == expect(3, 5, "60.00")  # r1, r2, r3
    assert c["full_online_rate"] == expect(1, 5, "20.00")  # r1 (r4: level 4 in person)
    assert c["postal_intake_rate"] == expect(1, 5, "20.00")  # r5
    # fee-bearing {r1, r2, r3, r5}; paid online (1 or 2): r1, r2
    assert c["online_payment_rate"] == expect(2, 4, "50.00")
    assert c["digitized_dossier_rate"] == expect(2, 5, "40.00")  # r1, r3
    # RESOLVED = s1..s5
    assert c["postal_return_rate"] == expect(2, 5, "40.00")  # s1, s3
    assert c["digitized_result_rate"] == expect(3, 5, "60.00")  # s1, s3, s5
    # certification {s1, s2, s5}, with an electronic result {s1, s5}
    assert c["e_certification_rate"] == expect(2, 3, "66.67")
    # rated 1..3 {s1, s2, s3, s4} (s5's 4 excluded, no nulls here); satisfied {s1, s2}
    assert c["satisfaction_rate"] == expect(2, 4, "50.00")
    assert c["on_time_rate"] == expect(5, 5, "100.00")  # no due dates
    # progress: 5 resolved on time + 5 open (r1..r5, no due date) / (5 + 5)
    assert c["progress_rate"] == expect(10, 10, "100.00")
    # the district sees exactly the same
    assert all(got[DIST, ind] == c[ind] for ind in ALL_INDICATORS if "catalog" not in ind)


def test_satisfaction_ignores_null_ratings(warehouse):
    rows = [
        dossier("a", COMM, 10, "2025-05-02", ended="2025-05-10", satisfaction=1),
        dossier("b", COMM, 10, "2025-05-02", ended="2025-05-10", satisfaction=3),
        dossier("c", COMM, 10, "2025-05-02", ended="2025-05-10", satisfaction=None),
        dossier("d", COMM, 10, "2025-05-02", ended="2025-05-10", satisfaction=None),
    ]
    setup_warehouse(warehouse, rows)
    compute(warehouse, [MAY])
    assert snapshots(warehouse, MAY)[COMM, "satisfaction_rate"] == expect(1, 2, "50.00")


# -------------------------------------------------------------------- catalogue indicators

PROCEDURES = [
    #         code  level   eligible   fee        payment    national
    procedure("A", "4", eligible=True, fee=True, payment=True, national=True),
    procedure("B", "3", eligible=True, fee=True),
    procedure("E", "2", national=True),
    procedure("F", "4"),
    procedure("G", "2", eligible=True, fee=True, payment=True),
    procedure("A", "2", portal=P2),  # same national code in another portal
]
PROCEDURE_UNITS = [
    (P1, "A", COMM), (P1, "B", COMM), (P1, "B", DIST), (P1, "E", DEPT), (P1, "F", PROV),
    (P1, "G", DIST), (P2, "A", OTHER),
]
# procedures of: COMM {A, B}; DIST {A, B, G}; DEPT {E}; PROV {A, B, E, F, G} (B once);
# COMM2 none


def test_static_catalogue_indicators(warehouse):
    setup_warehouse(warehouse, procedures=PROCEDURES, procedure_units=PROCEDURE_UNITS)
    compute(warehouse, [MAY, Y2024])
    got = snapshots(warehouse, MAY)
    expected = {
        # level 3/4 of all procedures
        "catalog_online_rate": {
            COMM: expect(2, 2, "100.00"), DIST: expect(2, 3, "66.67"),
            DEPT: expect(0, 1, "0.00"), PROV: expect(3, 5, "60.00"), COMM2: expect(0, 0, None),
        },
        # level 4 of all procedures
        "catalog_full_online_rate": {
            COMM: expect(1, 2, "50.00"), DIST: expect(1, 3, "33.33"),
            DEPT: expect(0, 1, "0.00"), PROV: expect(2, 5, "40.00"), COMM2: expect(0, 0, None),
        },
        # level 4 among the eligible {A, B, G}
        "catalog_full_online_eligible_rate": {
            COMM: expect(1, 2, "50.00"), DIST: expect(1, 3, "33.33"),
            DEPT: expect(0, 0, None), PROV: expect(1, 3, "33.33"), COMM2: expect(0, 0, None),
        },
        # on the national portal {A, E} of all procedures
        "catalog_national_portal_rate": {
            COMM: expect(1, 2, "50.00"), DIST: expect(1, 3, "33.33"),
            DEPT: expect(1, 1, "100.00"), PROV: expect(2, 5, "40.00"),
            COMM2: expect(0, 0, None),
        },
        # on the national portal among level 3/4 {A, B, F}
        "catalog_online_national_portal_rate": {
            COMM: expect(1, 2, "50.00"), DIST: expect(1, 2, "50.00"),
            DEPT: expect(0, 0, None), PROV: expect(1, 3, "33.33"), COMM2: expect(0, 0, None),
        },
        # paid online {A, G} among fee-bearing {A, B, G}
        "catalog_online_payment_rate": {
            COMM: expect(1, 2, "50.00"), DIST: expect(2, 3, "66.67"),
            DEPT: expect(0, 0, None), PROV: expect(2, 3, "66.67"), COMM2: expect(0, 0, None),
        },
    }
    for indicator, by_unit in expected.items():
        for unit, value in by_unit.items():
            assert got[unit, indicator] == value, (indicator, unit)
    # the catalogue as last loaded counts for every period
    y24 = snapshots(warehouse, Y2024)
    for indicator in expected:
        for unit in P1_UNITS:
            assert y24[unit, indicator] == got[unit, indicator]


def test_catalogue_active_online_rate(warehouse):
    rows = [
        dossier("r1", COMM, 2, "2025-05-05", procedure="A"),
        dossier("r2", COMM, 1, "2025-05-05", procedure="B"),  # status 1: not RECEIVED
        dossier("r3", DIST, 2, "2025-04-10", procedure="B"),  # Q2, not May
        dossier("r4", DEPT, 2, "2025-05-06", procedure="A"),  # A is not DEPT's procedure
        dossier("r5", PROV, 2, "2025-05-07", procedure="E"),  # E is DEPT's, record at PROV
        dossier("r6", DEPT, 2, "2025-05-07", procedure="ZZZ"),  # not in the catalogue
        dossier("r7", COMM, 2, "2025-05-08", procedure="G"),  # G is DIST's, record in COMM
        dossier("r8", OTHER, 2, "2025-05-05", procedure="A", portal=P2),
        dossier("r9", COMM, 2, "2025-05-21", procedure="F"),  # after AS_OF
        dossier("r10", DIST, 2, "2024-06-01", procedure="F"),  # 2024 only
        dossier("r11", COMM, 2, "2025-05-09"),  # no procedure code
    ]
    setup_warehouse(warehouse, rows, PROCEDURES, PROCEDURE_UNITS)
    compute(warehouse, [MAY, Q2, Y2025, Y2024])
    ind = "catalog_active_online_rate"
    may = snapshots(warehouse, MAY)
    # May: COMM {A}; DIST {A (r1), G (r7)}; DEPT none; PROV {A, E, G}; online = level 3/4
    assert may[COMM, ind] == expect(1, 1, "100.00")
    assert may[DIST, ind] == expect(1, 2, "50.00")
    assert may[DEPT, ind] == expect(0, 0, None)
    assert may[PROV, ind] == expect(1, 3, "33.33")
    assert may[COMM2, ind] == expect(0, 0, None)
    # Q2 and 2025 add B (r3 in DIST, April): DIST {A, B, G}; PROV {A, B, E, G}
    for period in (Q2, Y2025):
        got = snapshots(warehouse, period)
        assert got[COMM, ind] == expect(1, 1, "100.00")
        assert got[DIST, ind] == expect(2, 3, "66.67")
        assert got[PROV, ind] == expect(2, 4, "50.00")
    # 2024: F (r10 in DIST; F is PROV's procedure) active for PROV only
    y24 = snapshots(warehouse, Y2024)
    assert y24[PROV, ind] == expect(1, 1, "100.00")
    assert y24[DIST, ind] == expect(0, 0, None)
    # p2's A has level 2: active but not online there
    compute(warehouse, [MAY], portals=[P2])
    assert snapshots(warehouse, MAY)[OTHER, ind] == expect(0, 1, "0.00")


# -------------------------------------------------------------------------------- reruns


def test_rerun_replaces_rows_of_the_same_as_of_only(warehouse):
    setup_warehouse(warehouse, [dossier("a", COMM, 2, "2025-05-05", channel=2)])
    periods = snapshot_periods(AS_OF, [2024])
    n = compute(warehouse, periods, run_id="run-1")
    assert n == len(P1_UNITS) * 18 * 4 == count_rows(warehouse, as_of_date=AS_OF)
    day_before = AS_OF - timedelta(days=1)
    assert compute(warehouse, snapshot_periods(day_before, [2024]), as_of=day_before,
                   run_id="run-0") == n

    with warehouse.begin() as conn:
        conn.execute(sa.insert(fct_dossier), [dossier("b", COMM, 2, "2025-05-06", channel=1)])
    assert compute(warehouse, periods, run_id="run-2") == n
    assert count_rows(warehouse, as_of_date=AS_OF) == n
    assert count_rows(warehouse, as_of_date=AS_OF, run_id="run-2") == n
    assert count_rows(warehouse, as_of_date=day_before, run_id="run-0") == n
    assert snapshots(warehouse, MAY)[COMM, "online_rate"] == expect(1, 2, "50.00")
    assert snapshots(warehouse, MAY, as_of=day_before)[COMM, "online_rate"] == expect(
        1, 1, "100.00")


def test_no_portals_or_no_units_write_nothing(warehouse):
    assert compute(warehouse, [MAY], portals=[]) == 0
    assert compute(warehouse, [MAY], portals=["unknown"]) == 0
    assert count_rows(warehouse) == 0
