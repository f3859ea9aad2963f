"""Windows bounded by count (EGOV_WINDOW_MAX_VERSIONS): `prepare` asks each portal for `tongSo`
of its windows and halves them until each holds at most the cap, contiguous and covering the
same range; a portal it cannot reach keeps its windows by time and stops no other portal. The
simulator answers over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from bisect import bisect_left
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from egov import pipeline
from egov.settings import ConfigError
from egov.simulator import SimulatorFleet, build_world, portal_codes
from egov.sources.onestop.windows import Window, plan_windows, split_by_count
from tests.e2e_support import portal_conn_env

CLOCK = datetime(2025, 12, 31, 23, 0)
HISTORY = date(2024, 1, 1)
CREDS = {code: (code, f"pw-{code}-planning") for code in portal_codes()}
CAP = 120


def counter(moments: list[datetime], calls: list):
    moments = sorted(moments)

    def count(start, end):
        calls.append((start, end))
        hi = len(moments) if end is None else bisect_left(moments, end)
        return hi - bisect_left(moments, start)
    return count


def assert_tiles(windows: list[Window], start: datetime, end: datetime | None):
    assert [w.seq for w in windows] == list(range(len(windows)))
    assert windows[0].start == start and windows[-1].end == end
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.end == b.start and a.start < a.end


def test_split_by_count_halves_the_fullest_windows_until_each_fits():
    now = datetime(2026, 3, 1)
    moments = [datetime(2021, 1, 1) + timedelta(hours=7 * i) for i in range(6000)]
    moments += [datetime(2025, 6, 1, 12, 0, 0)] * 30  # 30 versions in one second
    by_time = plan_windows(None, full_refresh=False, history_start=date(2021, 1, 1),
                           overlap=timedelta(hours=2), months=12, now=now)
    calls: list = []
    count = counter(moments, calls)
    windows, over = split_by_count(by_time, count, cap=500, now=now)
    assert_tiles(windows, datetime(2021, 1, 1), None)
    assert len(windows) > len(by_time)
    assert over == [] and all(count(w.start, w.end) <= 500 for w in windows)
    assert sum(count(w.start, w.end) for w in windows) == len(moments)
    # bounds at whole days where the windows are long enough
    assert all(w.start.time() == datetime.min.time() for w in windows)

    # a second that holds more than the cap cannot be cut: reported, still covered
    windows, over = split_by_count(by_time, counter(moments, []), cap=20, now=now)
    assert_tiles(windows, datetime(2021, 1, 1), None)
    assert len(over) == 1 and over[0].end - over[0].start == timedelta(seconds=1)
    assert over[0].start == datetime(2025, 6, 1, 12, 0, 0)


def test_a_window_under_the_cap_is_left_alone_and_counted_once():
    now = datetime(2026, 3, 1)
    nightly = plan_windows(datetime(2026, 2, 28, 23), full_refresh=False,
                           history_start=date(2021, 1, 1), overlap=timedelta(hours=2),
                           months=12, now=now)
    calls: list = []
    windows, over = split_by_count(nightly, counter([datetime(2026, 2, 28, 22)] * 3, calls),
                                   cap=3, now=now)
    assert windows == nightly and over == [] and len(calls) == 1
    # above the cap, the nightly window is cut too; the last part stays open-ended
    moments = [datetime(2026, 2, 28, 21) + timedelta(minutes=i) for i in range(170)]
    windows, over = split_by_count(nightly, counter(moments, []), cap=50, now=now)
    assert_tiles(windows, datetime(2026, 2, 28, 21), None)
    assert over == [] and len(windows) >= 5


def test_adjacent_small_windows_are_joined_up_to_the_cap():
    now = datetime(2026, 3, 1)
    by_time = plan_windows(None, full_refresh=False, history_start=date(2021, 1, 1),
                           overlap=timedelta(hours=2), months=12, now=now)
    assert len(by_time) == 6
    # history only from mid-2024: the empty years and the small ones make one window
    moments = [datetime(2024, 6, 1) + timedelta(days=i) for i in range(400)]
    windows, over = split_by_count(by_time, counter(moments, []), cap=1000, now=now)
    assert windows == [Window(0, datetime(2021, 1, 1), None)] and over == []
    # joined only while the sum fits: 2024 (214) + 2025 (186) fit 400, 2026 does not join
    moments += [datetime(2026, 1, 2)] * 300
    count = counter(moments, [])
    windows, over = split_by_count(by_time, count, cap=400, now=now)
    assert_tiles(windows, datetime(2021, 1, 1), None)
    assert [count(w.start, w.end) for w in windows] == [400, 300] and over == []
    assert windows[1].start == datetime(2026, 1, 1)


def test_split_by_count_stops_at_max_windows():
    now = datetime(2026, 3, 1)
    by_time = [Window(0, datetime(2021, 1, 1), None)]
    lying = lambda start, end: 10**9  # noqa: E731 - a portal whose tongSo never falls
    windows, over = split_by_count(by_time, lying, cap=10, now=now, max_windows=16)
    assert_tiles(windows, datetime(2021, 1, 1), None)
    assert len(windows) <= 16 and over == windows


@pytest.fixture
def world():
    return build_world(seed=19, scale=300, clock=CLOCK, history_start=HISTORY)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'warehouse.db'}")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("EGOV_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("EGOV_DATA_DOCS", "false")
    monkeypatch.setenv("EGOV_PII_KEY", "window-planning-test-key")
    monkeypatch.setenv("EGOV_HISTORY_START", HISTORY.isoformat())
    monkeypatch.setenv("EGOV_FIRST_LOAD_WINDOW_MONTHS", "12")
    monkeypatch.setenv("EGOV_WINDOW_MAX_VERSIONS", str(CAP))
    monkeypatch.setenv("EGOV_PAGE_SIZE", "50")
    return tmp_path


def connect(monkeypatch, fleet, query="max_retries=1&backoff_base=0.01&backoff_max=0.01"):
    for name, value in portal_conn_env(fleet, CREDS, query).items():
        monkeypatch.setenv(name, value)


def by_portal(jobs: list[dict]) -> dict[str, list[Window]]:
    out: dict[str, list[Window]] = {}
    for job in jobs:
        assert job["windows"] == sum(j["portal_code"] == job["portal_code"] for j in jobs)
        out.setdefault(job["portal_code"], []).append(Window(
            job["seq"], datetime.fromisoformat(job["window_from"]),
            datetime.fromisoformat(job["window_to"]) if job["window_to"] else None))
    return out


def in_window(world, code, w: Window) -> int:
    lo = w.start.strftime("%Y%m%d%H%M%S")
    hi = w.end.strftime("%Y%m%d%H%M%S") if w.end else "99999999999999"
    return sum(lo <= r["NgayCapNhat"] < hi for r in world.dossiers_as_of(code))


def test_prepare_cuts_windows_by_count_and_the_run_loads_every_record(env, world,
                                                                      monkeypatch):
    from egov.warehouse.db import make_engine
    from egov.warehouse.schema import etl_watermark, fct_dossier

    with SimulatorFleet(world, credentials=CREDS) as fleet:
        connect(monkeypatch, fleet)
        jobs = pipeline.prepare(params={}, logical_date=datetime(2026, 1, 1))
        planned = by_portal(jobs)
        assert sorted(planned) == sorted(portal_codes())
        for code, windows in planned.items():
            assert world.record_count(code) > 2 * CAP  # the cap really cuts
            assert_tiles(windows, datetime(2024, 1, 1), None)
            assert len(windows) > 3  # more than the 3 windows by time
            assert all(in_window(world, code, w) <= CAP for w in windows), code

        code = "binh-dinh"
        for job in (j for j in jobs if j["portal_code"] == code):
            pipeline.load(pipeline.extract(job, run_id="run-1"), run_id="run-1")
        truth = {r["MaHoSo"]: r["NgayCapNhat"] for r in world.dossiers_as_of(code)}
        engine = make_engine()
        with engine.connect() as conn:
            loaded = {r.dossier_code: r.updated_at.strftime("%Y%m%d%H%M%S")
                      for r in conn.execute(select(fct_dossier))}
            mark = conn.execute(select(etl_watermark.c.updated_through).where(
                etl_watermark.c.portal_code == code)).scalar()
        engine.dispose()
        assert loaded == truth
        assert mark == datetime.strptime(max(truth.values()), "%Y%m%d%H%M%S")

        # the next night: one window from the watermark, counted and left whole ...
        again = [j for j in pipeline.prepare(params={}, logical_date=datetime(2026, 1, 2))
                 if j["portal_code"] == code]
        assert [(j["seq"], j["windows"], j["window_to"]) for j in again] == [(0, 1, None)]
        # ... unless it holds more than the cap
        monkeypatch.setenv("EGOV_WATERMARK_OVERLAP_MINUTES", str(60 * 24 * 365))
        wide = by_portal([j for j in pipeline.prepare(params={}, logical_date=datetime(2026, 1, 2))
                          if j["portal_code"] == code])[code]
        assert len(wide) > 1
        assert_tiles(wide, mark - timedelta(days=365), None)
        assert all(in_window(world, code, w) <= CAP for w in wide)


def test_a_portal_down_during_prepare_keeps_its_windows_by_time_and_the_others_are_cut(
        env, world, monkeypatch, caplog):
    with SimulatorFleet(world, credentials=CREDS) as fleet:
        connect(monkeypatch, fleet)
        fleet.stop_portal("thanh-hoa")
        with caplog.at_level(logging.WARNING, logger="egov.pipeline"):
            planned = by_portal(pipeline.prepare(params={}, logical_date=datetime(2026, 1, 1)))
    assert sorted(planned) == sorted(portal_codes())
    assert [(w.start, w.end) for w in planned["thanh-hoa"]] == [
        (datetime(2024, 1, 1), datetime(2025, 1, 1)), (datetime(2025, 1, 1), datetime(2026, 1, 1)),
        (datetime(2026, 1, 1), None)]
    for code in set(planned) - {"thanh-hoa"}:
        assert len(planned[code]) > 3 and all(in_window(world, code, w) <= CAP
                                              for w in planned[code])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("thanh-hoa: could not count") for m in warnings), warnings
    assert not any(CREDS["thanh-hoa"][1] in m for m in warnings)


def test_a_portal_without_a_connection_keeps_its_windows_by_time(env, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="egov.pipeline"):
        planned = by_portal(pipeline.prepare(params={}, logical_date=datetime(2026, 1, 1)))
    assert {len(w) for w in planned.values()} == {3}
    assert sum("could not count" in r.getMessage() for r in caplog.records) == 4


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e5", "2.5"])
def test_a_bad_cap_fails_prepare_before_the_warehouse_is_touched(env, monkeypatch, value):
    monkeypatch.setenv("EGOV_WINDOW_MAX_VERSIONS", value)
    with pytest.raises(ConfigError, match="EGOV_WINDOW_MAX_VERSIONS"):
        pipeline.prepare(params={}, logical_date=datetime(2026, 1, 1))
    assert not (env / "warehouse.db").exists()
