"""PortalClient against the simulator, and its retry behaviour against a tiny stub server."""

from __future__ import annotations

import json
import math
import random
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from egov.simulator import SimulatorFleet, build_world, portal_codes
from egov.sources.onestop.client import (
    PortalAuthError,
    PortalClient,
    PortalError,
)
from egov.sources.onestop.hook import OneStopPortalHook, client_from_connection

CLOCK = datetime(2025, 12, 31, 23, 0)
CREDS = {code: (code, f"s3cret-{code}-pw") for code in portal_codes()}


@pytest.fixture(scope="module")
def world():
    return build_world(seed=9, scale=800, clock=CLOCK)


@pytest.fixture(scope="module")
def fleet(world):
    with SimulatorFleet(world, credentials=CREDS) as f:
        yield f


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(fleet, code="binh-dinh", **kw) -> PortalClient:
    user, pw = CREDS[code]
    kw.setdefault("sleep", Sleeps())
    return PortalClient(fleet.base_url(code), user, pw, portal_code=code,
                        conn_id="portal_" + code.replace("-", "_"), **kw)


def test_full_extraction_equals_world(fleet, world):
    for code in ("binh-dinh", "thanh-hoa"):
        c = make_client(fleet, code, page_size=700)
        assert c.units() == world.units(code)
        assert c.procedures() == world.procedures(code)
        got = c.dossiers()
        assert got == world.dossiers_as_of(code)
        assert c.stats["retries"] == 0 and c.stats["repages"] == 0
    c = make_client(fleet, "tay-ninh")
    window = c.dossiers("20250101000000", "20250201000000", unit_code="000.00.21.H52")
    assert window == [d for d in world.dossiers_as_of("tay-ninh", unit_code="000.00.21.H52")
                      if "20250101000000" <= d["NgayCapNhat"] < "20250201000000"]
    assert window


def test_reauthenticates_after_sessions_expire(fleet, world):
    c = make_client(fleet, "vinh-phuc")
    assert c.units()
    fleet.expire_sessions()
    assert c.procedures() == world.procedures("vinh-phuc")
    assert c.stats["reauths"] == 1 and c.sleep == []


def test_bad_credentials_name_the_connection_not_the_password(fleet):
    sleeps = Sleeps()
    c = PortalClient(fleet.base_url("tay-ninh"), "tay-ninh", "Wr0ngPassw0rd!",
                     portal_code="tay-ninh", conn_id="portal_tay_ninh", sleep=sleeps)
    with pytest.raises(PortalAuthError) as ei:
        c.units()
    msg = str(ei.value)
    assert "portal_tay_ninh" in msg and "tay-ninh" in msg and "password" in msg
    assert "Wr0ngPassw0rd!" not in msg and "Wr0ngPassw0rd!" not in repr(c)
    assert sleeps == [] and c.stats["requests"] == 1


def test_on_page_receives_every_page(fleet, world):
    pages = []
    c = make_client(fleet, "thanh-hoa", page_size=250,
                    on_page=lambda *a: pages.append(a))
    got = c.dossiers(updated_from="20240101000000")
    hoso = [p for p in pages if p[0] == "/api/hoso"]
    bodies = [json.loads(p[4]) for p in hoso]
    assert len(hoso) == math.ceil(bodies[0]["tongSo"] / 250)
    assert [p[2] for p in hoso] == list(range(1, len(hoso) + 1))
    assert all(p[3] == 200 and p[1]["capNhatTu"] == "20240101000000" for p in hoso)
    assert [d for b in bodies for d in b["data"]] == got
    c.units()
    assert pages[-1][0] == "/api/donvi" and json.loads(pages[-1][4])["data"]


def test_repages_when_records_move_while_paging():
    w = build_world(seed=4, scale=2000, clock=datetime(2025, 3, 10, 20, 0))
    calls = {"n": 0}

    def advance_after_first_page(req, handle):
        resp = handle(req)
        if req.path == "/api/hoso":
            calls["n"] += 1
            if calls["n"] == 1:  # records change between page 1 and page 2
                w.set_clock(datetime(2025, 3, 12, 20, 0))
        return resp

    with SimulatorFleet(w, credentials=CREDS, portals=["binh-dinh"]) as f:
        f.set_fault_hook("binh-dinh", advance_after_first_page)
        c = make_client(f, "binh-dinh", page_size=10)
        got = c.dossiers(updated_from="20250306000000")
    final = [d for d in w.dossiers_as_of("binh-dinh") if d["NgayCapNhat"] >= "20250306000000"]
    # the first pass was inconsistent: the window was cut into a settled part and the tail
    assert c.stats["splits"] == 1 and c.stats["repages"] == 0
    assert got == final  # the newest version of every record, none missing
    keys = [(d["MaHoSo"], d["NgayCapNhat"]) for d in got]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------- stub server
class Stub:
    """Token always OK; other paths answer from a script, then with ``final``."""

    def __init__(self, script: list[tuple[int, dict, bytes]], final=None):
        self.script = list(script)
        self.final = final or (200, {}, json.dumps(
            {"error_code": "0", "data": [{"MaDonVi": "X"}]}).encode())
        self.requests: list[str] = []
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                stub.requests.append(self.path)
                if self.path.startswith("/api/auth/token"):
                    status, headers, body = 200, {}, b'{"error_code":"0","session":"t",' \
                                                     b'"expires_in":1800}'
                else:
                    status, headers, body = stub.script.pop(0) if stub.script else stub.final
                cut = headers.pop("X-Cut", None)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) + (50 if cut else 0)))
                self.end_headers()
                self.wfile.write(body)
                if cut:
                    self.close_connection = True

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory():
    stubs = []

    def make(script, final=None):
        s = Stub(script, final)
        stubs.append(s)
        return s

    yield make
    for s in stubs:
        s.close()


def stub_client(stub, **kw) -> PortalClient:
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("rng", random.Random(1))
    return PortalClient(stub.url, "u", "p", portal_code="stub", conn_id="portal_stub",
                        read_timeout=5, **kw)


def test_retries_then_succeeds(stub_factory):
    stub = stub_factory([
        (429, {"Retry-After": "7"}, b'{"error_code":"429","message":"slow down"}'),
        (503, {}, b"Service Unavailable"),
        (200, {}, b"<html>not json</html>"),
        (200, {}, b'{"error_code":"1","message":"loi he thong"}'),
        (200, {"X-Cut": "1"}, b'{"error_code":"0","data":[{"MaDon'),
        (502, {}, b""),
    ])
    c = stub_client(stub, backoff_base=0.5, backoff_max=3, max_retries=6)
    assert c.units() == [{"MaDonVi": "X"}]
    sleeps = c.sleep
    assert len(sleeps) == 6 and c.stats["retries"] == 6
    assert sleeps[0] == 7  # Retry-After honoured
    for attempt, s in enumerate(sleeps[1:], start=1):
        cap = min(3, 0.5 * 2 ** attempt)
        assert cap / 2 <= s <= cap, (attempt, s)
    assert sum(1 for p in stub.requests if p.startswith("/api/donvi")) == 7


def test_gives_up_after_max_retries(stub_factory):
    stub = stub_factory([], final=(500, {}, b'{"error_code":"500"}'))
    c = stub_client(stub, max_retries=3)
    with pytest.raises(PortalError) as ei:
        c.dossiers("20250101000000", None)
    e = ei.value
    assert not isinstance(e, PortalAuthError)
    assert e.portal_code == "stub" and e.endpoint == "/api/hoso"
    assert e.params["capNhatTu"] == "20250101000000"
    assert "stub" in str(e) and "/api/hoso" in str(e) and "capNhatTu" in str(e)
    assert len(c.sleep) == 3 and e.status == 500


def test_400_fails_at_once(stub_factory):
    stub = stub_factory([(400, {}, b'{"error_code":"400","message":"soLuong sai"}')])
    c = stub_client(stub)
    with pytest.raises(PortalError) as ei:
        c.procedures()
    assert ei.value.status == 400 and "soLuong sai" in str(ei.value)
    assert c.sleep == []


def test_401_after_fresh_session_is_an_auth_error(stub_factory):
    stub = stub_factory([], final=(401, {}, b'{"error_code":"401"}'))
    c = stub_client(stub)
    with pytest.raises(PortalAuthError):
        c.units()
    assert sum(1 for p in stub.requests if p.startswith("/api/auth/token")) == 2


def test_connection_refused_is_retried(stub_factory):
    stub = stub_factory([])
    url = stub.url
    stub.close()
    c = PortalClient(url, "u", "p", portal_code="gone", max_retries=2, sleep=Sleeps(),
                     connect_timeout=1)
    with pytest.raises(PortalError) as ei:
        c.units()
    assert len(c.sleep) == 2 and "gone" in str(ei.value)


def test_client_from_connection(monkeypatch, fleet, world):
    user, pw = CREDS["vinh-phuc"]
    port = fleet.port("vinh-phuc")
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_VINH_PHUC", f"http://{user}:{pw}@127.0.0.1:{port}")
    c = client_from_connection("portal_vinh_phuc", "vinh-phuc")
    assert c.base_url == fleet.base_url("vinh-phuc") and c.conn_id == "portal_vinh_phuc"
    assert c.units() == world.units("vinh-phuc")
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_X",
                       json.dumps({"conn_type": "http", "host": "https://x.example/api/",
                                   "login": "a", "password": "b"}))
    assert client_from_connection("portal_x", "x").base_url == "https://x.example/api"
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_Y",
                       json.dumps({"conn_type": "http", "host": "y.example", "port": 8443,
                                   "schema": "dvc", "login": "a", "password": "b",
                                   "extra": {"scheme": "https"}}))
    assert client_from_connection("portal_y", "y").base_url == "https://y.example:8443/dvc"


def test_window_never_reaches_the_future(fleet, world):
    c = make_client(fleet, "binh-dinh")
    later = (CLOCK + timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    assert c.dossiers(updated_from=later) == []


@pytest.mark.parametrize(("text", "seconds"), [
    ("19700101000001", 1), ("20250101000000", 1735689600), ("20240229235959", 1709251199),
    ("20250229000000", None), ("20251301000000", None), ("2025010100000", None),
    ("２０２５０１０１０００００", None), (20250101000000, None), (None, None),
])
def test_update_stamps_are_read_at_fixed_positions_as_the_loader_reads_them(text, seconds):
    from egov.sources.onestop.client import _ts

    assert _ts(text) == seconds


def test_hook_get_conn_returns_the_client(monkeypatch, fleet, world):
    """The connection is an Airflow hook: get_conn() gives the portal's client, options win."""
    from airflow.sdk import BaseHook

    user, pw = CREDS["binh-dinh"]
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_BD", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": fleet.port("binh-dinh"),
        "login": user, "password": pw, "extra": {"page_size": "250"}}))
    hook = OneStopPortalHook("portal_bd", "binh-dinh", read_timeout=7.5)
    assert isinstance(hook, BaseHook)
    client = hook.get_conn()
    assert isinstance(client, PortalClient)
    assert client.page_size == 250 and client.timeout[1] == 7.5
    assert client.units() == world.units("binh-dinh")
