"""Incremental snapshots and Biểu 06 (egov.warehouse.aggregates): after nights of changes (records
changing state, moving unit or field name, deleted; units moved), the marts computed from the
aggregates equal a full recompute from fct_dossier row for row, on both databases; and a
night's cost follows its changes (the log holds only changed images)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from egov.compute.form06 import compute_form06
from egov.compute.indicators.snapshots import compute_snapshots
from egov.periods import snapshot_periods
from egov.warehouse.aggregates import rebuild, refresh
from egov.warehouse.schema import (
    agg_dossier_day,
    agg_dossier_log,
    agg_state,
    fct_dossier,
    mart_form06,
    mart_indicator_snapshot,
)

PORTAL = "tay-ninh"
YEARS = {2024, 2025}
NIGHTS = [date(2025, 3, 29) + timedelta(days=k) for k in range(5)]  # across a quarter's end


@pytest.fixture(scope="module")
def world():
    from egov.simulator.world import build_world

    return build_world(seed=3, scale=100, clock=datetime(2025, 6, 30, 20, 0))


def _load(conn, world, clock, *, units=None):
    from egov.warehouse.load import replace_catalogue, replace_units, upsert_dossiers

    now = datetime(2025, 7, 1)
    replace_units(conn, PORTAL, units or world.units(PORTAL), run_id="load", now=now)
    replace_catalogue(conn, PORTAL, world.procedures(PORTAL), run_id="load", now=now)
    records = list(world.warehouse_truth(PORTAL, [clock]).values())
    upsert_dossiers(conn, PORTAL, records, pii_key=None, run_id="load", now=now)


def _marts(engine, day, *, incremental: bool):
    with engine.begin() as conn:
        periods = snapshot_periods(day, YEARS)
        compute_snapshots(conn, portal_codes=[PORTAL], as_of=day, periods=periods,
                          run_id="r", computed_at=None, incremental=incremental)
        compute_form06(conn, portal_codes=[PORTAL], as_of=day, run_id="r", computed_at=None,
                       incremental=incremental)
    with engine.connect() as conn:
        snap = sorted(tuple(r) for r in conn.execute(
            sa.select(mart_indicator_snapshot).where(mart_indicator_snapshot.c.as_of_date == day)))
        form = sorted((tuple(r) for r in conn.execute(
            sa.select(mart_form06).where(mart_form06.c.as_of_date == day))),
            key=lambda r: tuple("" if v is None else str(v) for v in r))
    return snap, form


def _moved_units(world):
    """The unit tree with one commune-level unit moved under another parent."""
    units = [dict(u) for u in world.units(PORTAL)]
    parents = sorted({u["MaDonViCha"] for u in units if u.get("MaDonViCha")})
    leaf = next(u for u in units if u.get("MaDonViCha") and u["MaDonViCha"] != parents[-1]
                and u["MaDonVi"] not in parents)
    leaf["MaDonViCha"] = parents[-1]
    return units


def _mess_up(conn, night: int):
    """Changes no portal makes but a warehouse can see: records moved to another unit or
    field name, a field code cleared, records deleted."""
    f = fct_dossier.c
    codes = conn.execute(sa.select(f.dossier_code, f.unit_code).where(f.portal_code == PORTAL)
                         .order_by(f.dossier_code)).all()
    units = sorted({u for _, u in codes})
    step = len(codes) // 7
    picked = [codes[(night * 13 + k * step) % len(codes)][0] for k in range(6)]
    conn.execute(sa.update(fct_dossier).where(f.dossier_code == picked[0])
                 .values(unit_code=units[night % len(units)]))
    conn.execute(sa.update(fct_dossier).where(f.dossier_code.in_(picked[1:3]))
                 .values(field_name="  " + str(night) + " Lĩnh vực khác"))
    conn.execute(sa.update(fct_dossier).where(f.dossier_code == picked[3])
                 .values(field_code=None, field_name=None))
    conn.execute(sa.delete(fct_dossier).where(f.dossier_code.in_(picked[4:6])))


def test_nights_of_changes_equal_a_full_recompute(warehouse, world):
    start = datetime.combine(NIGHTS[0], datetime.min.time()).replace(hour=20)
    with warehouse.begin() as conn:
        _load(conn, world, start)
    for k, day in enumerate(NIGHTS):
        clock = datetime.combine(day, datetime.min.time()).replace(hour=20)
        with warehouse.begin() as conn:
            _load(conn, world, clock, units=_moved_units(world) if k == 3 else None)
            if k % 2:
                _mess_up(conn, k)
        full = _marts(warehouse, day, incremental=False)
        incremental = _marts(warehouse, day, incremental=True)
        assert incremental[0] == full[0], day
        assert incremental[1] == full[1], day
        assert len(full[0]) > 1000 and len(full[1]) > 100
        with warehouse.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(agg_dossier_log)) == 0
    # rebuilt from scratch, the aggregates hold the same (non-zero) rows as folded ones
    with warehouse.connect() as conn:
        folded = _nonzero_aggregates(conn)
    with warehouse.begin() as conn:
        rebuild(conn, [PORTAL], daily_from=NIGHTS[-1])
    with warehouse.connect() as conn:
        assert _nonzero_aggregates(conn) == folded


def _nonzero_aggregates(conn):
    return sorted(tuple(r) for r in conn.execute(
        sa.select(agg_dossier_day).where(agg_dossier_day.c.n != 0)))


def test_a_night_logs_only_the_changed_records(warehouse, world):
    clock = datetime(2025, 3, 29, 20, 0)
    with warehouse.begin() as conn:
        _load(conn, world, clock)
        first = refresh(conn, [PORTAL], as_of=NIGHTS[0])
    assert first[PORTAL]["rebuilt"]  # never built: one pass over fct_dossier
    with warehouse.begin() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(agg_state)) == 1
        _load(conn, world, clock)  # the same versions again: nothing counted changes
        assert refresh(conn, [PORTAL], as_of=NIGHTS[0]) == {PORTAL: {"rebuilt": False, "log_rows": 0}}
    f = fct_dossier.c
    with warehouse.begin() as conn:
        open_codes = conn.execute(
            sa.select(f.dossier_code).where(f.portal_code == PORTAL, f.status.in_((2, 4, 5, 6)))
            .order_by(f.dossier_code).limit(3)).scalars().all()
        conn.execute(sa.update(fct_dossier).where(f.dossier_code.in_(open_codes))
                     .values(status=9, ended_date=date(2025, 3, 29)))
        conn.execute(sa.update(fct_dossier).where(f.dossier_code.in_(open_codes))
                     .values(run_id="other"))  # not a counted column: not logged
        stats = refresh(conn, [PORTAL], as_of=NIGHTS[0])
    assert stats == {PORTAL: {"rebuilt": False, "log_rows": 2 * len(open_codes)}}
    assert len(open_codes) == 3
    full = _marts(warehouse, NIGHTS[0], incremental=False)
    assert _marts(warehouse, NIGHTS[0], incremental=True) == full


def _log_rows(conn) -> int:
    return conn.scalar(sa.select(sa.func.count()).select_from(agg_dossier_log))


def test_a_portal_never_built_logs_nothing_until_its_first_build(warehouse, world):
    """Its next compute rebuilds it from fct_dossier: a first load writes no log rows."""
    clock = datetime(2025, 3, 29, 20, 0)
    with warehouse.begin() as conn:
        _load(conn, world, clock)
        assert _log_rows(conn) == 0
        assert conn.scalar(sa.select(sa.func.count()).select_from(fct_dossier)) > 400
        assert refresh(conn, [PORTAL], as_of=NIGHTS[0])[PORTAL]["rebuilt"]
    f = fct_dossier.c
    with warehouse.begin() as conn:
        code = conn.scalar(sa.select(f.dossier_code).where(f.status.in_((2, 4, 5, 6)))
                           .order_by(f.dossier_code).limit(1))
        conn.execute(sa.update(fct_dossier).where(f.dossier_code == code)
                     .values(status=9, ended_date=date(2025, 3, 29)))
        assert _log_rows(conn) == 2  # built: the before- and after-image
    assert _marts(warehouse, NIGHTS[0], incremental=True) == \
        _marts(warehouse, NIGHTS[0], incremental=False)


def test_a_load_waiting_on_the_first_build_logs_its_rows(pg_url, world):
    """PostgreSQL, two sessions: a compute builds the portal's aggregates while a load writes
    new records of it. The load's trigger waits for the compute's lock on the log, then sees
    the portal built and logs its rows, so the next night counts them."""
    import threading
    import time

    from egov.warehouse.db import make_engine
    from egov.warehouse.load import upsert_dossiers
    from egov.warehouse.migrations import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    truth = list(world.warehouse_truth(PORTAL, [datetime(2025, 3, 29, 20, 0)]).values())
    late = truth[len(truth) // 2:]
    with engine.begin() as conn:
        _load(conn, world, datetime(2025, 3, 29, 20, 0))
        conn.execute(sa.delete(fct_dossier).where(
            fct_dossier.c.dossier_code.in_([r["MaHoSo"] for r in late])))
        assert _log_rows(conn) == 0
    errors = []

    def load_late():
        try:
            with engine.begin() as conn:
                upsert_dossiers(conn, PORTAL, late, pii_key=None, run_id="late",
                                now=datetime(2025, 7, 1))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    compute = engine.connect()
    transaction = compute.begin()
    refresh(compute, [PORTAL], as_of=NIGHTS[0])  # builds, holding the log
    writer = threading.Thread(target=load_late)
    writer.start()
    deadline = time.monotonic() + 30
    with engine.connect() as watch:  # until the load waits on a lock
        while not watch.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")):
            assert time.monotonic() < deadline and writer.is_alive()
            watch.rollback()  # pg_stat_activity is a snapshot per transaction: a fresh one
            time.sleep(0.05)
    transaction.commit()
    compute.close()
    writer.join(30)
    assert not errors and not writer.is_alive()
    with engine.connect() as conn:
        assert _log_rows(conn) == len(late)
    assert _marts(engine, NIGHTS[0], incremental=True) == \
        _marts(engine, NIGHTS[0], incremental=False)
    engine.dispose()
