"""Recompute the marts for a past range of as-of days from the warehouse alone: no portal is
running here (the simulator is not started), and the figures equal the oracle's."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from egov.compute.recompute import days_between, recompute
from egov.settings import ConfigError
from egov.warehouse.schema import mart_form06, mart_indicator_snapshot, mart_target_evaluation
from tests import oracle
from tests.e2e_support import snapshot_table, table_rows, target_years

PORTAL = "tay-ninh"
DAYS = [date(2025, 3, 30), date(2025, 3, 31), date(2025, 4, 1)]


@pytest.fixture(scope="module")
def world():
    from egov.simulator.world import build_world

    return build_world(seed=3, scale=100, clock=datetime(2025, 6, 30, 20, 0))


def load(engine, world, portals=(PORTAL,)):
    from egov.warehouse.load import replace_catalogue, replace_units, upsert_dossiers
    from egov.warehouse.migrations import upgrade

    upgrade(engine)
    now = datetime(2025, 7, 1)
    with engine.begin() as conn:
        for portal in portals:
            replace_units(conn, portal, world.units(portal), run_id="load", now=now)
            replace_catalogue(conn, portal, world.procedures(portal), run_id="load", now=now)
            records = list(world.warehouse_truth(portal, [world.clock]).values())
            upsert_dossiers(conn, portal, records, pii_key=None, run_id="load", now=now)


def test_days_between():
    assert days_between(date(2025, 2, 27), date(2025, 3, 1)) == [
        date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1)]
    with pytest.raises(ValueError):
        days_between(date(2025, 3, 1), date(2025, 2, 1))


def test_recompute_a_range_equals_the_oracle(warehouse, world):
    load(warehouse, world)
    results = recompute(DAYS, engine=warehouse, run_id="rc-1")
    assert [r["as_of"] for r in results] == [d.isoformat() for d in DAYS]
    records = list(world.warehouse_truth(PORTAL, [world.clock]).values())
    years = target_years([PORTAL])
    for day in DAYS:
        expected = {
            (k[0], k[1], k[2], k[3].isoformat()): (num, den, value)
            for k, (num, den, value) in oracle.compute_run(
                records, world.procedures(PORTAL), world.units(PORTAL), day, years).items()
        }
        assert snapshot_table(warehouse, day) == expected, day
        with warehouse.connect() as conn:
            form = conn.execute(sa.select(mart_form06).where(mart_form06.c.as_of_date == day)
                                ).mappings().all()
            statuses = conn.execute(sa.select(mart_target_evaluation.c.status).where(
                mart_target_evaluation.c.as_of_date == day)).scalars().all()
        want = {}
        for period_type in ("quarter", "year"):
            start = oracle.period_bounds(period_type, day)[0]
            for (unit, field), (_, counts) in oracle.compute_form06(
                    records, world.units(PORTAL), day, period_type, start).items():
                want[(unit, period_type, field)] = counts
        got = {(r["unit_code"], r["period_type"], r["field_code"]):
               tuple(r[c] for c in oracle.FORM06_COUNTS) for r in form}
        assert got == want, day
        assert {"on_track", "at_risk"} & set(statuses), statuses  # 2025 is running

    # a second recompute of the same days replaces their rows: nothing duplicated
    before = {t.name: table_rows(warehouse, t) for t in
              (mart_indicator_snapshot, mart_target_evaluation, mart_form06)}
    recompute(DAYS, engine=warehouse, run_id="rc-2")
    for t in (mart_indicator_snapshot, mart_target_evaluation, mart_form06):
        assert table_rows(warehouse, t) == before[t.name], t.name
        with warehouse.connect() as conn:
            runs = set(conn.execute(sa.select(t.c.run_id).distinct()).scalars())
        assert runs == {"rc-2"}, t.name


def test_unknown_or_missing_portals_are_refused(warehouse, world):
    with pytest.raises(ConfigError, match="holds no portal"):
        recompute(DAYS, engine=warehouse)
    load(warehouse, world)
    with pytest.raises(ConfigError, match="binh-dinh"):
        recompute(DAYS, engine=warehouse, portals=["binh-dinh"])


def test_cli(tmp_path, world):
    from egov.warehouse.db import make_engine

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = make_engine(url)
    load(engine, world)
    cmd = [sys.executable, "-m", "egov.compute.recompute", "--from", "2025-01-30", "--to",
           "2025-02-02", "--url", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "recomputed 4 days from 2025-01-30 for tay-ninh" in proc.stdout
    with engine.connect() as conn:
        days = conn.execute(sa.select(mart_indicator_snapshot.c.as_of_date).distinct()
                            .order_by(mart_indicator_snapshot.c.as_of_date)).scalars().all()
    assert [str(d) for d in days] == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    proc = subprocess.run([*cmd[:-2], "--portal", "nowhere", "--url", url],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "nowhere" in proc.stdout
    engine.dispose()
