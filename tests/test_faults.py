"""Fault injection in the simulator, and the client surviving every fault (real HTTP on
127.0.0.1; sleeps are recorded, not slept; hangs last 1 s against a 0.3 s read timeout)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from egov.simulator import FaultConfig, SimulatorFleet, build_world, parse_faults, portal_codes
from egov.simulator.faults import PRESETS, format_faults, preset
from egov.sources.onestop.client import (
    STATS_KEYS,
    PortalClient,
    PortalError,
    PortalIncompleteError,
)

CLOCK = datetime(2025, 12, 31, 23, 0)
CREDS = {code: (code, f"pw-{code}-faulty") for code in portal_codes()}
HANG_S = 1.0
READ_TIMEOUT = 0.3  # where hangs are injected
CALM_READ_TIMEOUT = 10.0  # elsewhere: a loaded machine must not turn slow replies into faults


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fleet, code, *, hangs: bool = False, **kw) -> PortalClient:
    """A client of the fleet's portal; `hangs`: the faults include hangs (short read timeout)."""
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("read_timeout", READ_TIMEOUT if hangs else CALM_READ_TIMEOUT)
    kw.setdefault("connect_timeout", 1)
    kw.setdefault("max_retries", 6)
    kw.setdefault("page_size", 50)
    return PortalClient(fleet.base_url(code), *CREDS[code], portal_code=code,
                        conn_id="portal_" + code.replace("-", "_"), **kw)


def quick(cfg: FaultConfig) -> FaultConfig:
    return dataclasses.replace(cfg, hang_seconds=HANG_S)


@pytest.fixture(scope="module")
def world():
    # a clock that never moves in this fixture (churn tests build their own worlds)
    return build_world(seed=11, scale=300, clock=CLOCK, history_start=date(2024, 1, 1))


@pytest.fixture(scope="module")
def fleet(world):
    with SimulatorFleet(world, credentials=CREDS, portals=["binh-dinh", "tay-ninh"]) as f:
        yield f


def full_extraction(c: PortalClient) -> tuple[list, list, list]:
    return c.units(), c.procedures(), c.fetch_dossiers()


# kind → the client counter that shows it was survived
SURVIVED_BY = {
    "429": "retries_429", "5xx": "retries_5xx", "hang": "retries_timeout",
    "reset": "retries_connection", "cut": "retries_bad_body", "not_json": "retries_bad_body",
    "error_code": "retries_error_code", "session": "reauths", "dup": "duplicates_dropped",
}


@pytest.mark.parametrize("kind", list(SURVIVED_BY))
def test_each_fault_kind_is_survived(fleet, world, kind):
    code = "binh-dinh"
    fleet.set_faults(code, quick(preset(kind)), seed=5)
    try:
        c = client(fleet, code, hangs=kind == "hang")
        units, procedures, dossiers = full_extraction(c)
        counts = fleet.fault_counts(code)
    finally:
        fleet.set_faults(code, None)
    assert units == world.units(code)
    assert procedures == world.procedures(code)
    assert dossiers == world.dossiers_as_of(code)
    assert counts.get(kind, 0) >= 2, counts  # the faults really happened
    assert set(counts) <= {kind, "token_" + kind}
    assert c.stats[SURVIVED_BY[kind]] >= 1, c.stats
    if kind in ("429", "5xx", "hang", "reset", "cut", "not_json", "error_code"):
        assert c.stats["retries"] == counts[kind] + counts.get("token_" + kind, 0)
    if kind == "429":
        assert all(s in (0, 1) for s in c.sleep)  # Retry-After (0..1 s) honoured
    assert c.stats["items_received"] == (c.stats["distinct_versions"]
                                         + c.stats["duplicates_dropped"])


def test_faults_on_the_token_call_and_never_on_sim_paths(fleet):
    code = "tay-ninh"
    fleet.set_faults(code, FaultConfig(rate_429=0.25, rate_5xx=0.25, auth_factor=1.0), seed=2)
    try:
        for _ in range(20):
            r = requests.get(fleet.base_url(code) + "/_sim/clock", timeout=5)
            assert r.status_code == 200
        statuses = [requests.post(fleet.base_url(code) + "/api/auth/token",
                                  json={"username": code, "password": CREDS[code][1]},
                                  timeout=5).status_code for _ in range(20)]
        counts = fleet.fault_counts(code)
        c = client(fleet, code)
        assert c.units()  # the client logs in through the faults
        r = requests.get(fleet.base_url(code) + "/_sim/faults", timeout=5).json()
    finally:
        fleet.set_faults(code, None)
    assert set(statuses) <= {200, 429, 500, 502, 503, 504} and 200 in statuses
    assert counts.get("token_429", 0) + counts.get("token_5xx", 0) == sum(
        s != 200 for s in statuses) > 0
    assert "429" not in counts and "5xx" not in counts
    assert r["faults"] == "rate_429=0.25,rate_5xx=0.25,auth_factor=1.0" and r["counts"]


def test_malformed_records_survive_every_fault():
    w = build_world(seed=12, scale=300, clock=CLOCK, history_start=date(2024, 6, 1),
                    malformed_rate=0.08)
    code = "vinh-phuc"
    with SimulatorFleet(w, credentials=CREDS, portals=[code]) as f:
        f.set_faults(code, quick(dataclasses.replace(PRESETS["all"], churn_seconds=0)), seed=3)
        c = client(f, code, page_size=15, hangs=True)
        got = c.fetch_dossiers()
        counts = f.fault_counts(code)
    truth = w.dossiers_as_of(code)
    assert got == truth
    assert sum(1 for d in truth if not (d.get("MaHoSo") or "").strip()) > 0  # blanks kept
    assert len(w.corrupt_versions(code)) > 10
    assert len(counts) >= 4, counts


def test_all_preset_across_portals():
    """Every fault on four portals (the world changes while they are read): each extraction
    returns exactly the portal's records, newest versions, at the clock it ended at."""
    w = build_world(seed=13, scale=400, clock=datetime(2025, 3, 11, 9, 0),
                    history_start=date(2024, 3, 1))
    with SimulatorFleet(w, credentials=CREDS) as f:
        f.apply_faults("*:all,hang_s=1", seed=8)
        totals: dict[str, int] = {}
        for code in portal_codes():
            start = w.clock
            c = client(f, code, page_size=25, hangs=True)
            units, procedures, dossiers = full_extraction(c)
            assert units == w.units(code)
            assert procedures == w.procedures(code)
            assert w.clock > start  # records changed while paged
            assert dossiers == w.dossiers_as_of(code), code
            for k, v in f.fault_counts(code).items():
                totals[k] = totals.get(k, 0) + v
            assert set(c.stats) == set(STATS_KEYS)
    for kind in ("429", "5xx", "hang", "reset", "cut", "not_json", "error_code", "session",
                 "dup", "churn"):
        assert totals.get(kind, 0) > 0, (kind, totals)


def test_down_portal_fails_fast_naming_it_and_others_go_on(fleet, world):
    fleet.set_faults("tay-ninh", preset("down"))
    try:
        assert not fleet.is_running("tay-ninh")
        c = client(fleet, "tay-ninh", max_retries=4)
        t0 = time.perf_counter()
        with pytest.raises(PortalError) as ei:
            c.fetch_dossiers("20250101000000")
        assert time.perf_counter() - t0 < 3
        assert "tay-ninh" in str(ei.value) and "portal_tay_ninh" in str(ei.value)
        assert len(c.sleep) == 4 and c.stats["retries_connection"] == 4
        # another portal of the same fleet is not affected
        assert client(fleet, "binh-dinh").units() == world.units("binh-dinh")
        assert fleet.fault_counts("tay-ninh") == {"down": 1}
    finally:
        fleet.set_faults("tay-ninh", None)
    assert fleet.is_running("tay-ninh")
    assert client(fleet, "tay-ninh").units() == world.units("tay-ninh")


def test_down_before_start_gets_a_port_but_refuses():
    w = build_world(seed=1, scale=10, clock=CLOCK)
    f = SimulatorFleet(w, credentials=CREDS, portals=["binh-dinh", "vinh-phuc"])
    f.apply_faults("vinh-phuc:down")
    with f:
        assert f.is_running("binh-dinh") and not f.is_running("vinh-phuc")
        with pytest.raises(requests.ConnectionError):
            requests.get(f.base_url("vinh-phuc") + "/api/donvi", timeout=2)


# ---------------------------------------------------------------- records that move
FROM = "20250101000000"


def naive_pages(base_url: str, code: str, size: int) -> list[dict]:
    """One offset-paging pass, trusting it (what a client without reconciliation does)."""
    s = requests.Session()
    tok = s.post(base_url + "/api/auth/token",
                 json={"username": code, "password": CREDS[code][1]}, timeout=5).json()
    s.headers["Authorization"] = f"Bearer {tok['session']}"
    out, trang = [], 1
    while True:
        body = s.get(base_url + "/api/hoso", params={"capNhatTu": FROM, "trang": trang,
                                                      "soLuong": size}, timeout=5).json()
        out.extend(body["data"])
        if not body["data"] or trang * size >= body["tongSo"]:
            return out
        trang += 1


def test_moving_records_are_never_skipped():
    t0 = datetime(2025, 3, 10, 9, 0)
    w = build_world(seed=4, scale=2000, clock=t0)
    code = "binh-dinh"
    churn = FaultConfig(churn_seconds=7200)  # two hours of real changes per page request
    with SimulatorFleet(w, credentials=CREDS, portals=[code]) as f:
        f.set_faults(code, churn, seed=1)
        naive = naive_pages(f.base_url(code), code, 10)
        truth = [d for d in w.dossiers_as_of(code) if d["NgayCapNhat"] >= FROM]
        skipped = {d["MaHoSo"] for d in truth} - {d["MaHoSo"] for d in naive}
        assert f.fault_counts(code)["churn"] > 10
        assert skipped, "the naive pager should miss records that moved"  # test is meaningful

        w.set_clock(t0)  # the same world again, read by the client
        f.set_faults(code, churn, seed=1)
        pages: list[list[dict]] = []
        c = client(f, code, page_size=10, on_page=lambda *a: pages.append(a))
        got = c.fetch_dossiers(FROM)
        truth = [d for d in w.dossiers_as_of(code) if d["NgayCapNhat"] >= FROM]
    assert got == truth  # every record, in its newest version at the end
    assert skipped <= {d["MaHoSo"] for d in got}
    assert c.stats["splits"] >= 1
    # the raw pages carry every distinct version the client counted
    versions = {(d["MaHoSo"], d["NgayCapNhat"]) for p in pages if p[0] == "/api/hoso"
                for d in json.loads(p[4])["data"]}
    assert len(versions) == c.stats["distinct_versions"] > len(got)


def test_iter_dossier_pages_yields_each_version_once_with_churn_and_dups():
    w = build_world(seed=4, scale=1000, clock=datetime(2025, 3, 10, 9, 0))
    code = "binh-dinh"
    with SimulatorFleet(w, credentials=CREDS, portals=[code]) as f:
        f.set_faults(code, FaultConfig(churn_seconds=3600, churn_max_seconds=20 * 3600,
                                       rate_dup=0.5), seed=4)
        c = client(f, code, page_size=15)
        items = [d for page in c.iter_dossier_pages(FROM) for d in page]
        counts = f.fault_counts(code)
        truth = {d["MaHoSo"]: d for d in w.dossiers_as_of(code) if d["NgayCapNhat"] >= FROM}
    keys = [(d["MaHoSo"], d["NgayCapNhat"]) for d in items]
    assert len(keys) == len(set(keys)) == c.stats["distinct_versions"]
    newest: dict[str, dict] = {}
    for d in items:
        if d["MaHoSo"] not in newest or d["NgayCapNhat"] > newest[d["MaHoSo"]]["NgayCapNhat"]:
            newest[d["MaHoSo"]] = d
    assert newest == truth
    assert counts["churn"] == 20 and counts["dup"] > 0 and c.stats["duplicates_dropped"] > 0


def test_closed_window_with_churn_skips_nothing_that_stays_in_it():
    w = build_world(seed=4, scale=2000, clock=datetime(2025, 3, 10, 9, 0))
    code = "binh-dinh"
    to = "20250305000000"
    with SimulatorFleet(w, credentials=CREDS, portals=[code]) as f:
        f.set_faults(code, FaultConfig(churn_seconds=7200), seed=6)
        c = client(f, code, page_size=10)
        got = {d["MaHoSo"]: d for d in c.fetch_dossiers(FROM, to)}
        truth = [d for d in w.dossiers_as_of(code) if FROM <= d["NgayCapNhat"] < to]
    # records that changed while paged left the window (their old version may be returned:
    # a closed window cannot show their newer one); every record still in it is there
    assert truth and all(got.get(d["MaHoSo"]) == d for d in truth)
    assert all(FROM <= d["NgayCapNhat"] < to for d in got.values())
    assert c.stats["repages"] + c.stats["splits"] > 0


def test_a_lying_tongso_raises_incomplete_with_the_window():
    w = build_world(seed=2, scale=300, clock=CLOCK, history_start=date(2025, 1, 1))
    code = "thanh-hoa"
    with SimulatorFleet(w, credentials=CREDS, portals=[code]) as f:
        f.set_faults(code, preset("tongso"))
        c = client(f, code)
        t0 = time.perf_counter()
        with pytest.raises(PortalIncompleteError) as ei:
            c.fetch_dossiers("20251201000000")
        elapsed = time.perf_counter() - t0
        c2 = client(f, code, max_splits=3)
        with pytest.raises(PortalIncompleteError) as ei2:
            c2.fetch_dossiers("20251201000000")
        assert f.fault_counts(code)["tongso"] > 0
    e = ei.value
    msg = str(e)
    assert e.expected == e.received + 3 and e.portal_code == code
    assert e.endpoint == "/api/hoso" and isinstance(e, PortalError)
    assert "thanh-hoa" in msg and "portal_thanh_hoa" in msg and "incomplete" in msg
    assert f"announced {e.expected} records but {e.received} distinct" in msg
    assert e.window_from and e.window_from >= "20251201000000" and e.window_to
    assert e.window_from in msg and e.window_to in msg
    assert "while reading [20251201000000, now)" in msg
    assert elapsed < 5 and c.stats["repages"] > 0 and c.stats["splits"] > 0
    assert "3 window splits" in str(ei2.value) and c2.stats["splits"] == 3


def test_same_seed_same_faults():
    def run(seed: int) -> tuple[dict, dict]:
        w = build_world(seed=3, scale=200, clock=CLOCK, history_start=date(2025, 1, 1))
        with SimulatorFleet(w, credentials=CREDS, portals=["binh-dinh"]) as f:
            f.set_faults("binh-dinh", FaultConfig(rate_429=0.2, rate_5xx=0.2, rate_dup=0.3,
                                                  rate_error_code=0.1), seed=seed)
            c = client(f, "binh-dinh", page_size=30)
            assert c.fetch_dossiers() == w.dossiers_as_of("binh-dinh")
            return f.fault_counts("binh-dinh"), dict(c.stats)

    a, b, other = run(21), run(21), run(22)
    assert a == b
    assert other != a


def test_politeness_limits_the_request_rate(fleet, world):
    # 10 per second: requests 100 ms apart, far more than one request takes even on a loaded
    # machine, so the throttle is what spaces them (it waits only what is left of a gap).
    c = client(fleet, "binh-dinh", max_requests_per_second=10, sleep=time.sleep)
    t0 = time.perf_counter()
    c.units()
    for _ in range(9):
        c.units()
    elapsed = time.perf_counter() - t0
    assert c.stats["requests"] == 11  # + the login
    assert elapsed >= 10 / 10 - 0.05 and c.stats["throttle_seconds"] > 0.3
    with pytest.raises(ValueError):
        client(fleet, "binh-dinh", max_requests_per_second=0)


# ---------------------------------------------------------------- specs and the CLI
def test_parse_faults_forms():
    got = parse_faults("binh-dinh:429=0.1,5xx=0.05,hang=0.02;tay-ninh:all")
    assert got["binh-dinh"] == FaultConfig(rate_429=0.1, rate_5xx=0.05, rate_hang=0.02)
    assert got["tay-ninh"] == PRESETS["all"]
    got = parse_faults("*:all;tay-ninh:hang=0,hang_s=0.5,retry_after=0", portal_codes())
    assert set(got) == set(portal_codes())
    assert got["tay-ninh"] == dataclasses.replace(PRESETS["all"], rate_hang=0.0,
                                                  hang_seconds=0.5, retry_after_max=0.0)
    assert got["binh-dinh"] == PRESETS["all"]
    assert parse_faults("vinh-phuc:session=7,churn=60,churn_max=600,tongso=2,dup,down")[
        "vinh-phuc"] == FaultConfig(session_every=7, churn_seconds=60, churn_max_seconds=600,
                                    tongso_extra=2, rate_dup=0.5, down=True)
    assert parse_faults('{"binh-dinh": {"rate_429": 0.1}, "tay-ninh": "cut,not_json"}') == {
        "binh-dinh": FaultConfig(rate_429=0.1),
        "tay-ninh": FaultConfig(rate_cut=0.3, rate_not_json=0.3)}
    assert parse_faults("") == {} and parse_faults(None) == {}
    assert parse_faults("x:all,none") == {"x": FaultConfig()}
    cfgs = {"a": PRESETS["all"], "b": FaultConfig(churn_max_seconds=5, down=True)}
    assert parse_faults(format_faults(cfgs)) == cfgs
    for bad in ("binh-dinh", "binh-dinh:nope", "binh-dinh:429=2", "binh-dinh:429=x",
                "binh-dinh:all,429=0.9", "binh-dinh:session=1", "{not json", "[1]"):
        with pytest.raises(ValueError):
            parse_faults(bad)
    with pytest.raises(ValueError, match="unknown portal"):
        parse_faults("ha-noi:all", portal_codes())


def test_cli_reads_faults_from_env(tmp_path):
    conn_file = tmp_path / "portals.env"
    env = dict(os.environ, EGOV_SIM_FAULTS="*:5xx=1;vinh-phuc:down", EGOV_SIM_FAULT_SEED="4",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent / "include"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "egov.simulator", "--scale", "5", "--base-port", "0",
         "--history-start", "2025-12-01", "--connections-file", str(conn_file)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("egov portal simulator ready"):
                break
        urls = dict(kv.split("=", 1) for kv in lines[-1].split()
                    if kv.split("=", 1)[0] in portal_codes())
        r = requests.post(urls["binh-dinh"] + "/api/auth/token", json={}, timeout=5)
        assert r.status_code in (500, 502, 503, 504) or r.status_code == 400
        r = requests.get(urls["binh-dinh"] + "/api/donvi", timeout=5)
        assert r.status_code in (500, 502, 503, 504)
        with pytest.raises(requests.ConnectionError):
            requests.get(urls["vinh-phuc"] + "/_sim/clock", timeout=2)
        assert requests.get(urls["binh-dinh"] + "/_sim/faults", timeout=5).json()[
            "counts"]["5xx"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        out = proc.stdout.read()  # (communicate() would skip what the line reader buffered)
        proc.stdout.close()
    text = "".join(lines) + out
    assert "faults vinh-phuc: rate_5xx=1.0,down=True (seed 4)" in text, text
    assert "faults injected binh-dinh: 5xx=1" in text
    bad = subprocess.run([sys.executable, "-m", "egov.simulator", "--faults", "x:nope",
                          "--connections-file", str(conn_file)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--faults" in bad.stderr
