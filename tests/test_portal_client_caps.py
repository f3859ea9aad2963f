"""A hostile portal cannot stall or mislead the client, over real HTTP: Retry-After is capped,
redirects are never followed (the password and the session stay home), and a response body is
read only up to a size and a time limit."""

from __future__ import annotations

import email.utils
import gzip
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from egov.simulator import SimulatorFleet, build_world, portal_codes
from egov.sources.onestop.client import (
    PortalClient,
    PortalError,
    PortalRedirectError,
)
from egov.sources.onestop.hook import client_from_connection

PASSWORD = "s3cret-Pa55word"
TOKEN_OK = b'{"error_code":"0","session":"sess-123","expires_in":1800}'
UNITS_OK = b'{"error_code":"0","data":[{"MaDonVi":"X"}]}'


class Server:
    """A local HTTP server on a free port; `route(handler, method, path)` answers; every
    request is recorded as (method, path, headers, body)."""

    def __init__(self, route=None):
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.route = route or (lambda h, method, path: h.reply(200, TOKEN_OK if "auth" in path
                                                              else UNITS_OK))
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                server.requests.append((self.command, self.path, dict(self.headers), body))
                self.close_connection = True
                try:
                    server.route(self, self.command, self.path)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up: what it should do with an endless body

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def make(route=None) -> Server:
        servers.append(Server(route))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(server: Server, **kw) -> PortalClient:
    kw.setdefault("sleep", Sleeps())
    return PortalClient(server.url, "user", PASSWORD, portal_code="hostile",
                        conn_id="portal_hostile", read_timeout=5, **kw)


# --- Retry-After ------------------------------------------------------------------------------

def _http_date(seconds_ahead: float) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


def _throttled_once(value: str):
    answered = {"n": 0}

    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        answered["n"] += 1
        if answered["n"] == 1:
            return h.reply(429, b'{"error_code":"429"}', {"Retry-After": value})
        return h.reply(200, UNITS_OK)

    return route


CAP = 120
RETRY_AFTER = [
    # (header, what the client waits: a number, "cap", or "backoff")
    ("7", 7),
    ("0", 0),
    ("2.5", 2.5),
    ("99999999", "cap"),
    ("4.9e+07", "cap"),
    ("9" * 400, "backoff"),  # overflows a float: not a wait
    ("inf", "backoff"),
    ("Infinity", "backoff"),
    ("nan", "backoff"),
    ("-5", "backoff"),
    ("1e400", "backoff"),
    ("soon", "backoff"),
    ("", "backoff"),
    ("Fri, 31 Dec 9999 23:59:59 GMT", "cap"),
    ("Mon, 01 Jan 1990 00:00:00 GMT", 0),  # in the past: at once
]


@pytest.mark.parametrize("header, expected", RETRY_AFTER, ids=[repr(h[:20]) for h, _ in
                                                                RETRY_AFTER])
def test_retry_after_is_capped_and_odd_values_fall_back_to_backoff(serve, header, expected):
    server = serve(_throttled_once(header))
    c = client(server, backoff_base=0.5, backoff_max=3)
    assert c.units() == [{"MaDonVi": "X"}]
    (slept,) = c.sleep
    if expected == "cap":
        assert slept == CAP
    elif expected == "backoff":
        assert 0.25 <= slept <= 0.5  # first backoff step, with jitter
    else:
        assert slept == expected
    assert c.stats["retries_429"] == 1


def test_an_http_date_retry_after_is_honoured_up_to_the_cap(serve):
    c = client(serve(_throttled_once(_http_date(30))), max_retry_after=60)
    c.units()
    assert 25 <= c.sleep[0] <= 31
    c = client(serve(_throttled_once(_http_date(3600))), max_retry_after=60)
    c.units()
    assert c.sleep == [60]


def test_a_portal_that_always_says_wait_a_year_fails_in_bounded_time(serve):
    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.reply(429, b'{"error_code":"429"}', {"Retry-After": str(365 * 86400)})

    c = client(serve(route), max_retries=3, max_retry_after=45)
    with pytest.raises(PortalError) as exc:
        c.units()
    assert c.sleep == [45, 45, 45] and exc.value.status == 429
    assert "portal_hostile" in str(exc.value)


def test_retry_after_of_the_simulator_is_capped_and_the_extraction_is_whole():
    clock = datetime(2025, 12, 31, 23, 0)
    world = build_world(seed=5, scale=300, clock=clock)
    creds = {code: (code, f"pw-{code}") for code in portal_codes()}
    with SimulatorFleet(world, credentials=creds, portals=["thanh-hoa"]) as fleet:
        fleet.apply_faults("thanh-hoa:429=0.3,retry_after=99999999", seed=2)
        c = PortalClient(fleet.base_url("thanh-hoa"), *creds["thanh-hoa"],
                         portal_code="thanh-hoa", sleep=Sleeps(), page_size=100,
                         max_retries=20, max_retry_after=90)
        assert c.dossiers() == world.dossiers_as_of("thanh-hoa")
        assert fleet.fault_counts("thanh-hoa").get("429", 0) >= 3
    assert c.stats["retries_429"] >= 3 and max(c.sleep) <= 90
    assert 90 in c.sleep  # some Retry-After above the cap was cut to it


# --- redirects ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_on_the_token_call_is_not_followed(serve, status):
    elsewhere = serve()
    portal = serve(lambda h, m, p: h.reply(status, b"", {
        "Location": f"{elsewhere.url}/api/auth/token?user=x"}))
    c = client(portal)
    with pytest.raises(PortalRedirectError) as exc:
        c.units()
    message = str(exc.value)
    assert elsewhere.requests == []  # the password went nowhere else
    assert f"HTTP {status}" in message and "portal_hostile" in message
    assert elsewhere.url in message and "user=x" not in message and PASSWORD not in message
    assert exc.value.endpoint == "/api/auth/token" and c.sleep == []  # not retried
    assert [r[1] for r in portal.requests] == ["/api/auth/token"]


def test_a_redirect_on_a_data_call_gets_no_session(serve):
    elsewhere = serve()

    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.reply(302, b"", {"Location": f"{elsewhere.url}/api/donvi"})

    c = client(serve(route))
    with pytest.raises(PortalRedirectError, match="redirect to " + elsewhere.url):
        c.units()
    assert elsewhere.requests == [] and c.sleep == []


def test_a_redirect_fails_the_portal_step_at_once(serve, tmp_path, monkeypatch):
    """In the pipeline, a redirect is a configuration error: no Airflow retry either."""
    from egov import pipeline

    elsewhere = serve()
    portal = serve(lambda h, m, p: h.reply(307, b"", {"Location": elsewhere.url}))
    (tmp_path / "portals.yaml").write_text(
        "portals:\n  - {code: hostile, name: H, conn_id: portal_hostile}\n", encoding="utf-8")
    monkeypatch.setenv("EGOV_PORTALS_FILE", str(tmp_path / "portals.yaml"))
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_HOSTILE", f"http://user:{PASSWORD}@{portal.host}")
    monkeypatch.setenv("AIRFLOW_CONN_EGOV_WAREHOUSE", f"sqlite:///{tmp_path / 'wh.db'}")
    monkeypatch.setenv("EGOV_RAW_DIR", str(tmp_path / "raw"))
    job = {"portal_code": "hostile", "seq": 0, "windows": 1, "as_of": "2025-12-30",
           "window_from": "2025-01-01T00:00:00", "window_to": None, "full_refresh": False}
    with pytest.raises(pipeline.NotRetryable, match="redirect"):
        pipeline.run_portal_step("extract", job, run_id="run-1")
    assert elsewhere.requests == []


# --- response size and time -----------------------------------------------------------------------

def _big(h, method, path, size=3 * 2**20, declare=True):
    if "auth" in path:
        return h.reply(200, TOKEN_OK)
    body = b'{"error_code":"0","data":["' + b"x" * size + b'"]}'
    h.reply(200, body, None if declare else {"Content-Length": str(len(body))})


def test_a_body_announced_too_large_is_refused_unread(serve):
    c = client(serve(_big), max_response_bytes=2**20)
    with pytest.raises(PortalError) as exc:
        c.units()
    assert "too large" in str(exc.value) and "max_response_bytes=1048576" in str(exc.value)
    assert "announced" in str(exc.value) and c.sleep == []  # not retried


def test_an_endless_body_is_read_only_up_to_the_limit(serve):
    sent = {"bytes": 0}

    def endless(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(b'3\r\n{"a\r\n')
        chunk = b"x" * 65536
        for _ in range(10_000):  # 640 MB if nobody stops reading
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent["bytes"] += len(chunk)

    c = client(serve(endless), max_response_bytes=2**20)
    with pytest.raises(PortalError, match="more than 1048576 bytes"):
        c.units()
    assert c.sleep == [] and sent["bytes"] < 100 * 2**20


def test_a_gzip_bomb_is_measured_after_decompression(serve):
    bomb = gzip.compress(b'{"error_code":"0","data":["' + b"0" * (50 * 2**20) + b'"]}')
    assert len(bomb) < 2**20

    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.reply(200, bomb, {"Content-Encoding": "gzip"})

    c = client(serve(route), max_response_bytes=2**20)
    with pytest.raises(PortalError, match="too large"):
        c.units()


def test_a_body_within_the_limit_and_gzip_bodies_are_read(serve):
    body = json.dumps({"error_code": "0", "data": [{"MaDonVi": "Ý" * 1000}]}).encode()

    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.reply(200, gzip.compress(body), {"Content-Encoding": "gzip"})

    pages = []
    c = client(serve(route), max_response_bytes=len(body), on_page=lambda *a: pages.append(a))
    assert c.units() == [{"MaDonVi": "Ý" * 1000}]
    assert pages[0][4] == body  # the raw zone keeps the decoded body


def test_a_trickling_body_is_cut_at_the_deadline_and_retried(serve):
    def trickle(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(100):  # one byte every 0.1 s: a read timeout never fires
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)

    c = client(serve(trickle), max_response_seconds=0.5, max_retries=1)
    with pytest.raises(PortalError, match="max_response_seconds") as exc:
        c.units()
    assert c.stats["retries_timeout"] == 1 and len(c.sleep) == 1
    assert "after 2 attempts" in str(exc.value)


# --- settings of the connection ---------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("max_retry_after", "nan"), ("max_retry_after", -1), ("max_retry_after", "a day"),
    ("max_response_bytes", 0), ("max_response_bytes", "64MB"), ("max_response_bytes", True),
    ("max_response_seconds", "inf"), ("read_timeout", 0), ("connect_timeout", "nan"),
    ("max_retries", -1), ("backoff_max", "inf"), ("max_requests_per_second", "nan"),
])
def test_a_bad_connection_extra_names_the_connection(monkeypatch, key, value):
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_ODD", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": 9, "login": "u",
        "password": PASSWORD, "extra": {key: value}}))
    with pytest.raises(PortalError) as exc:
        client_from_connection("portal_odd", "odd")
    assert "portal_odd" in str(exc.value) and key in str(exc.value)
    assert PASSWORD not in str(exc.value)


def test_connection_extras_set_the_caps(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PORTAL_CAPS", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": 9, "login": "u", "password": "p",
        "extra": {"max_retry_after": "30", "max_response_bytes": 1000,
                  "max_response_seconds": 12.5}}))
    c = client_from_connection("portal_caps", "caps")
    assert (c.max_retry_after, c.max_response_bytes, c.max_response_seconds) == (30, 1000, 12.5)
    c = client_from_connection("portal_caps", "caps", max_retry_after=5)
    assert c.max_retry_after == 5


# --- the next page travels while the current one is read -----------------------------------

def _paged(pages: int, failing_page: int | None = None):
    """/api/hoso in `pages` pages of one record each; `failing_page` always answers 503."""
    def route(h, method, path):
        if "auth" in path:
            return h.reply(200, TOKEN_OK)
        page = int(path.split("trang=")[1].split("&")[0])
        if page == failing_page:
            return h.reply(503, b'{"error_code":"503"}')
        item = {"MaHoSo": f"H{page}", "NgayCapNhat": f"202501010000{page:02d}"}
        return h.reply(200, json.dumps({"error_code": "0", "tongSo": pages,
                                        "data": [item]}).encode())
    return route


def _page_requests(server: Server) -> list[int]:
    return [int(p.split("trang=")[1].split("&")[0]) for m, p, *_ in server.requests
            if "hoso" in p]


def test_the_next_page_is_requested_while_the_caller_reads_this_one(serve):
    server = serve(_paged(3))
    pages = []
    c = client(server, page_size=1, on_page=lambda *a: pages.append(a[2]))
    seen = []
    for items in c.iter_dossier_pages("20250101000000", "20250102000000"):
        seen += [i["MaHoSo"] for i in items]
        if len(seen) == 1:  # page 1 in hand: page 2 is asked for without waiting for us
            deadline = time.monotonic() + 10
            while 2 not in _page_requests(server):
                assert time.monotonic() < deadline, "page 2 was not requested ahead"
                time.sleep(0.01)
    c.close()
    assert seen == ["H1", "H2", "H3"]
    assert pages == [1, 2, 3]  # kept in page order, each once
    assert _page_requests(server) == [1, 2, 3]  # one request per page, none past the last


def test_a_page_fetched_ahead_and_left_unread_stops_retrying(serve):
    server = serve(_paged(3, failing_page=2))
    sleeps = Sleeps()
    c = client(server, page_size=1, max_retries=50, sleep=sleeps)
    listing = c.iter_dossier_pages("20250101000000", "20250102000000")
    assert [i["MaHoSo"] for i in next(listing)] == ["H1"]
    listing.close()  # the caller stops reading: page 2 is in flight, failing
    c.close()
    assert 1 <= _page_requests(server).count(2) <= 3  # not 51 attempts
    assert len(sleeps) <= 2


def test_a_failing_next_page_fails_the_listing_after_the_pages_before_it(serve):
    server = serve(_paged(3, failing_page=2))
    pages = []
    c = client(server, page_size=1, max_retries=2, on_page=lambda *a: pages.append(a[2]))
    seen = []
    with pytest.raises(PortalError, match="failed after 3 attempts: HTTP 503"):
        for items in c.iter_dossier_pages("20250101000000", "20250102000000"):
            seen += [i["MaHoSo"] for i in items]
    c.close()
    assert seen == ["H1"] and pages == [1]
    assert _page_requests(server) == [1, 2, 2, 2]
