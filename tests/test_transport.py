"""The shared HTTP transport (egov.sources.transport): Retry-After, backoff, capped reads,
redirect descriptions, per-host pacing."""

from __future__ import annotations

import email.utils
import random
import threading
import time

import pytest
import requests

from egov.sources import transport


def test_retry_after_seconds_dates_and_nonsense():
    assert transport.parse_retry_after("7") == 7.0
    assert transport.parse_retry_after(" 0 ") == 0.0
    for bad in (None, "", "inf", "nan", "-5", "soon", "1e400"):
        assert transport.parse_retry_after(bad) is None, bad
    ahead = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= transport.parse_retry_after(ahead) <= 31
    past = email.utils.formatdate(time.time() - 300, usegmt=True)
    assert transport.parse_retry_after(past) == 0.0


def test_backoff_doubles_is_capped_has_jitter_and_obeys_retry_after():
    rng = random.Random(1)
    delays = [transport.backoff(a, base=1, cap=5, rng=rng) for a in range(6)]
    for attempt, delay in enumerate(delays):
        top = min(5, 2 ** attempt)
        assert top / 2 <= delay < top
    assert transport.backoff(3, base=1, cap=5, rng=rng, retry_after=42.0) == 42.0


def test_redirect_targets_are_described_by_host_only():
    assert transport.describe_host("https://u:p@evil.example:8443/x?session=s") \
        == "https://evil.example:8443"
    assert transport.describe_host("/login?next=1") == "a path on the same host"
    assert transport.describe_host(None) == "nowhere (no Location)"
    assert transport.host_key("https://u:p@Portal.GOV.vn:443/api") == "portal.gov.vn:443"


def test_pacer_from_start_spaces_request_starts():
    pacer, slept = transport.Pacer(), []
    for _ in range(3):
        with pacer.turn(10.0, sleep=slept.append) as waited:
            assert waited >= 0
    # the sleep is not real: each start is booked 10 s after the one before
    assert len(slept) == 2 and 9 < slept[0] <= 10 and 19 < slept[1] <= 20
    with transport.Pacer().turn(0.0, sleep=slept.append) as waited:  # no limit
        assert waited == 0.0 and len(slept) == 2


def test_pacer_from_end_holds_the_host_and_pauses_after_the_answer():
    pacer, inside, overlaps = transport.Pacer(), [], []

    def request() -> None:
        with pacer.turn(0.05, jitter=0.5, from_end=True, rng=random.Random(3)):
            if inside:
                overlaps.append(1)
            inside.append(1)
            time.sleep(0.02)
            inside.pop()

    started = time.monotonic()
    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps  # one request at a time
    assert time.monotonic() - started >= 4 * 0.02 + 3 * 0.05  # a pause between answers
    assert transport.host_pacer("http://a.example/x") is transport.host_pacer("http://A.example")
    assert transport.host_pacer("http://a.example") is not transport.host_pacer("http://b.example")


@pytest.fixture
def body_server():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            size = int(self.path.strip("/") or 0)
            self.send_response(200)
            if self.headers.get("X-Lie") != "1":
                self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(b"x" * size)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _read(url: str, **caps):
    resp = requests.get(url, stream=True, timeout=5, headers=caps.pop("headers", None))
    try:
        return transport.read_capped(resp, started=time.monotonic(), **caps)
    finally:
        resp.close()


def test_read_capped_reads_whole_bodies_and_refuses_big_ones(body_server):
    assert _read(f"{body_server}/1000", max_bytes=1000, max_seconds=5) == b"x" * 1000
    with pytest.raises(transport.BodyTooLarge, match="announced 300000 bytes"):
        _read(f"{body_server}/300000", max_bytes=1000, max_seconds=5)
    with pytest.raises(transport.BodyTooLarge, match="more than 1000 bytes sent"):
        _read(f"{body_server}/300000", max_bytes=1000, max_seconds=5, headers={"X-Lie": "1"})


def test_read_capped_times_out_a_body_still_arriving(body_server):
    with pytest.raises(transport.Retryable, match="max_response_seconds") as info:
        resp = requests.get(f"{body_server}/3000000", stream=True, timeout=5)
        try:
            transport.read_capped(resp, max_bytes=10**9, max_seconds=0.0,
                                  started=time.monotonic() - 1)
        finally:
            resp.close()
    assert info.value.kind == transport.TIMEOUT
