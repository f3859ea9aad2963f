"""Biểu số 06/VPCP/KSTT (mart_form06): hand-worked counts, every row reconciles, reruns
replace, and the SQL equals the oracle's reading on simulated records, on SQLite and
PostgreSQL (fixture `warehouse`)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from egov.compute.form06 import compute_form06, form06_periods
from egov.periods import period_containing, year_period
from egov.warehouse.schema import FORM06_COUNTS, fct_dossier, mart_form06
from tests import oracle
from tests.test_indicators import (
    COMM,
    COMM2,
    DEPT,
    DIST,
    OTHER,
    P1,
    P2,
    PROV,
    dossier,
    load_units,
)

AS_OF = date(2025, 5, 20)
Q2 = period_containing("quarter", AS_OF)
Y2025 = year_period(2025)
COMPUTED_AT = datetime(2025, 5, 21, 1, 5)


def rec(code, status, received, *, field="F1", name="Đất đai", unit=COMM, **kw):
    row = dossier(code, unit, status, received, **kw)
    row.update(field_code=field, field_name=name)
    return row


RECORDS = [
    rec("r1", 2, "2025-04-10", channel=2, due="2025-05-30"),  # online; open within
    rec("r2", 10, "2025-04-02", ended="2025-04-05", due="2025-04-07"),  # early
    rec("r3", 9, "2025-04-03", ended="2025-04-07", due="2025-04-07", channel=3),  # on time
    rec("r4", 9, "2025-03-20", ended="2025-04-15", due="2025-04-10", channel=2,
        field="F2", name="Hộ tịch"),  # carried over (Q2); late
    rec("r5", 4, "2025-03-01", due="2025-05-01", field="F2", name="Hộ tịch"),  # overdue
    rec("r6", 7, "2025-04-20", ended="2025-04-22", channel=2, field="F2",
        name="Hộ tịch"),  # withdrawn
    rec("r7", 9, "2025-04-10", ended="2025-04-11", unit=DIST, field=None,
        name=None),  # no field; no due date: on time
    rec("r8", 9, "2025-03-01", ended="2025-03-15", field="F2", name="Hộ tịch"),  # Q1 only
    rec("r9", 1, "2025-04-10"), rec("r10", 3, "2025-04-10"),  # never received
    rec("r11", 2, "2025-05-21"),  # after the as-of day
    rec("r12", 8, "2025-02-01", ended="2025-05-25"),  # stopped after the cut: still open
    rec("r13", 10, "2025-05-19", ended="2025-05-20", due="2025-05-20", channel=2),
    rec("r14", 5, "2025-05-01", due="2025-05-20", name="Dat dai"),  # due = end: within
]


def setup(engine, records=RECORDS):
    with engine.begin() as conn:
        load_units(conn)
        conn.execute(sa.insert(fct_dossier), list(records))


def compute(engine, *, as_of=AS_OF, run_id="run-1", portals=(P1,)):
    with engine.begin() as conn:
        return compute_form06(conn, portal_codes=list(portals), as_of=as_of, run_id=run_id,
                              computed_at=COMPUTED_AT)


def form(engine, *, as_of=AS_OF, **where) -> dict:
    """(unit, period_type, field) -> (field_name, nine counts)."""
    f = mart_form06.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mart_form06).where(
            f.as_of_date == as_of, *[f[k] == v for k, v in where.items()])).mappings().all()
    return {(r["unit_code"], r["period_type"], r["field_code"]):
            (r["field_name"], tuple(r[c] for c in FORM06_COUNTS)) for r in rows}


def C(**counts) -> tuple[int, ...]:  # noqa: N802 - reads like the form's columns
    return tuple(counts.get(c, 0) for c in FORM06_COUNTS)


def test_periods_are_the_quarter_and_year_of_as_of():
    assert form06_periods(AS_OF) == [Q2, Y2025]


def test_hand_worked_counts(warehouse):
    setup(warehouse)
    written = compute(warehouse)
    got = form(warehouse)
    assert written == len(got)
    q2_f1 = C(received_online=2, received_in_person_or_postal=3, carried_over=1,
              resolved_early=1, resolved_on_time=2, open_within_deadline=3)
    q2_f2 = C(received_online=1, carried_over=2, resolved_late=1, withdrawn_or_stopped=1,
              open_overdue=1)
    q2_comm = tuple(a + b for a, b in zip(q2_f1, q2_f2, strict=True))
    q2_none = C(received_in_person_or_postal=1, resolved_on_time=1)
    q2_dist = tuple(a + b for a, b in zip(q2_comm, q2_none, strict=True))
    # the smallest name by code point: "Dat dai" (r14) < "Đất đai"
    assert got[COMM, "quarter", "F1"] == ("Dat dai", q2_f1)
    assert got[COMM, "quarter", "F2"] == ("Hộ tịch", q2_f2)
    assert got[COMM, "quarter", None] == (None, q2_comm)
    assert got[DIST, "quarter", ""] == (None, q2_none)
    assert got[DIST, "quarter", None] == (None, q2_dist)
    assert got[PROV, "quarter", None] == (None, q2_dist)
    for unit in (DEPT, COMM2):  # no records: the total row only, all zero
        assert got[unit, "quarter", None] == (None, C())
        assert got[unit, "year", None] == (None, C())
        assert (unit, "quarter", "F1") not in got
    # the year so far: nothing carried over from 2024; r4, r5, r8, r12 received this year
    y_f1 = C(received_online=2, received_in_person_or_postal=4, resolved_early=1,
             resolved_on_time=2, open_within_deadline=3)
    y_f2 = C(received_online=2, received_in_person_or_postal=2, resolved_on_time=1,
             resolved_late=1, withdrawn_or_stopped=1, open_overdue=1)
    assert got[COMM, "year", "F1"] == ("Dat dai", y_f1)
    assert got[COMM, "year", "F2"] == ("Hộ tịch", y_f2)
    # totals of 5 units; F1, F2 of COMM, DIST, PROV; "" of DIST, PROV; each in 2 periods
    assert len(got) == 5 * 2 + 3 * 2 * 2 + 2 * 2
    # rows of other portals are not written
    assert not form(warehouse, portal_code=P2)


def test_every_row_reconciles_unless_a_record_ended_before_it_was_received(warehouse):
    odd = rec("odd", 9, "2025-04-10", ended="2025-03-30", unit=OTHER, portal=P2)
    setup(warehouse, [*RECORDS, odd])
    compute(warehouse, portals=(P1, P2))
    rows = form(warehouse)
    assert len(rows) > 10
    for key, (_, counts) in rows.items():
        if key[0] == OTHER and key[1] == "quarter":
            # received in Q2 but ended in Q1: neither resolved in, nor open at the end of, Q2
            assert counts == C(received_in_person_or_postal=1)
            assert not oracle.form06_reconciles(counts)
        else:
            assert oracle.form06_reconciles(counts), key


def test_rerun_replaces_rows_of_its_day(warehouse):
    setup(warehouse)
    compute(warehouse, as_of=date(2025, 5, 19), run_id="run-0")
    compute(warehouse, run_id="run-1")
    first = form(warehouse)
    compute(warehouse, run_id="run-2")
    assert form(warehouse) == first
    f = mart_form06.c
    with warehouse.connect() as conn:
        runs = dict(conn.execute(sa.select(f.as_of_date, sa.func.count(sa.distinct(f.run_id)))
                                 .group_by(f.as_of_date)).all())
        run_of_day = set(conn.execute(sa.select(f.run_id).where(f.as_of_date == AS_OF))
                         .scalars())
    assert len(runs) == 2 and run_of_day == {"run-2"}
    assert form(warehouse, as_of=date(2025, 5, 19))  # the other day stays


@pytest.mark.parametrize("as_of", [date(2024, 12, 31), date(2025, 4, 1), date(2025, 6, 30)])
def test_sql_equals_the_oracle_on_simulated_records(warehouse, as_of):
    from egov.simulator.world import build_world
    from egov.warehouse.load import replace_units, upsert_dossiers

    world = build_world(seed=5, scale=120, clock=datetime(2025, 6, 30, 20, 0))
    portal = "tay-ninh"
    records = list(world.warehouse_truth(portal, [world.clock]).values())
    units = world.units(portal)
    now = datetime(2025, 7, 1)
    with warehouse.begin() as conn:
        replace_units(conn, portal, units, run_id="r", now=now)
        upsert_dossiers(conn, portal, records, pii_key=None, run_id="r", now=now)
        compute_form06(conn, portal_codes=[portal], as_of=as_of, run_id="r", computed_at=now)
    got = form(warehouse, as_of=as_of)
    expected = {}
    for period in form06_periods(as_of):
        rows = oracle.compute_form06(records, units, as_of, period.period_type, period.start)
        for (unit, field), value in rows.items():
            expected[(unit, period.period_type, field)] = value
    assert got == expected
    assert sum(1 for k in got if k[2] is not None) > 20  # field rows, not just totals
    assert all(oracle.form06_reconciles(counts) for _, counts in got.values())
