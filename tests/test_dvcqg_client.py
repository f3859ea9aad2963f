"""The index's HTTP client against a local server replaying the recorded answers: the
contract's requests, paging, politeness (one request at a time per host, pauses), retries on
5xx and bodies that are not JSON, none on 403/429, envelope codes, caps."""

from __future__ import annotations

import json
import threading

import pytest

from egov.sources.dvcqg.client import DvcqgBlocked, DvcqgClient, DvcqgError
from egov.sources.dvcqg.groups import BY_CODE
from tests.dvcqg_replay import PREFIX, RECORDED_ROOT, ReplayServer, manifest

YEAR = {"timeType": "year", "year": 2026, "rootDepartmentId": RECORDED_ROOT}


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _client(server, **kw):
    sleeps = []
    kw.setdefault("pause", 0.0)
    client = DvcqgClient(server.base_url, province_code="phu-tho", sleep=sleeps.append,
                         backoff_base=0.01, **kw)
    return client, sleeps


def test_a_group_is_read_with_the_recorded_request_and_answer(server):
    client, _ = _client(server)
    responses = []
    client.on_response = lambda *a: responses.append(a)
    group = BY_CODE["transparency"]
    [data] = client.read_pages(group.url_path, YEAR, group.page_size)
    assert len(data["evaluation"]) == 163
    capture = next(c for c in manifest()["captures"] if c["file"].startswith("transparency"))
    path, body = server.requests[0]
    assert path == PREFIX + "evaluation/transparency" and body == capture["payload"]
    [(r_path, r_body, status, content, _)] = responses
    assert status == 201 and r_body == capture["payload"] and len(content) == capture["bytes"]


def test_pages_are_read_until_the_last_and_a_paging_that_never_ends_fails(server):
    def page(body, total):
        data = {"overview": {}, "evaluation": [{"n": body["currentPage"]}],
                "pagination": {"total": total, "currentPage": body["currentPage"],
                               "pageSize": 1, "totalPages": total}}
        return 201, json.dumps({"code": "OK", "data": data, "message": "OK"}).encode()

    key = (RECORDED_ROOT, "evaluation/transparency")
    server.script[key] = [lambda b: page(b, 3)] * 3
    client, _ = _client(server)
    pages = client.read_pages(PREFIX + "evaluation/transparency", YEAR, 1)
    assert [p["evaluation"][0]["n"] for p in pages] == [1, 2, 3]
    server.requests.clear()
    server.script[key] = [lambda b: page(b, 10**6)] * 100
    client, _ = _client(server, max_pages=7)
    with pytest.raises(DvcqgError, match="max_pages=7") as info:
        client.read_pages(PREFIX + "evaluation/transparency", YEAR, 1)
    assert info.value.kind == "paging" and len(server.requests) == 7
    # a page that comes back as another page stops the paging
    server.script[key] = [lambda b: page(dict(b, currentPage=1), 5)] * 3
    with pytest.raises(DvcqgError, match="answered page 1 when page 2"):
        client.read_pages(PREFIX + "evaluation/transparency", YEAR, 1)


@pytest.mark.parametrize("status", [403, 429])
def test_403_and_429_are_never_retried(server, status):
    server.script[(RECORDED_ROOT, "evaluation/transparency")] = [(status, b"{}")] * 5
    client, sleeps = _client(server)
    with pytest.raises(DvcqgBlocked, match=f"HTTP {status}") as info:
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert info.value.status == status and len(server.requests) == 1 and sleeps == []


def test_5xx_is_retried_boundedly_then_fails_and_a_recovery_reads(server):
    key = (RECORDED_ROOT, "evaluation/transparency")
    server.script[key] = [(503, b"busy"), (500, b"")]
    client, sleeps = _client(server, max_retries=3)
    data = client.post(PREFIX + "evaluation/transparency", YEAR)
    assert len(data["evaluation"]) == 163 and len(server.requests) == 3 and len(sleeps) == 2
    server.requests.clear()
    server.script[key] = [(502, b"")] * 10
    with pytest.raises(DvcqgError, match="failed after 4 attempts: HTTP 502") as info:
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert len(server.requests) == 4 and info.value.status == 502


@pytest.mark.parametrize("content,message", [
    (b"<html>maintenance</html>", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
])
def test_a_body_that_is_not_json_is_a_failed_read(server, content, message):
    server.script[(RECORDED_ROOT, "evaluation/transparency")] = [(201, content)] * 10
    client, _ = _client(server, max_retries=1)
    with pytest.raises(DvcqgError, match=message):
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert len(server.requests) == 2


def test_an_envelope_code_other_than_ok_is_a_failed_read_with_its_message(server):
    server.script[(RECORDED_ROOT, "evaluation/transparency")] = [
        (201, json.dumps({"code": "INVALID_PARAM", "data": None,
                          "message": "Tham số không hợp lệ"}).encode()),
        (201, json.dumps({"code": "OK", "data": [], "message": "OK"}).encode()),
    ]
    client, _ = _client(server)
    with pytest.raises(DvcqgError, match="code INVALID_PARAM, message 'Tham số không hợp lệ'") \
            as info:
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert info.value.kind == "envelope" and len(server.requests) == 1
    with pytest.raises(DvcqgError, match="without a data object"):
        client.post(PREFIX + "evaluation/transparency", YEAR)


def test_other_4xx_and_redirects_fail_at_once_and_big_bodies_are_refused(server):
    key = (RECORDED_ROOT, "evaluation/transparency")
    server.script[key] = [(404, b'{"code": "NOT_FOUND", "message": "x"}'), (302, b"")]
    client, _ = _client(server)
    with pytest.raises(DvcqgError, match="HTTP 404"):
        client.post(PREFIX + "evaluation/transparency", YEAR)
    with pytest.raises(DvcqgError, match="redirect"):
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert len(server.requests) == 2
    client, _ = _client(server, max_response_bytes=1000)
    with pytest.raises(DvcqgError, match="too large") as info:
        client.post(PREFIX + "evaluation/transparency", YEAR)
    assert info.value.kind == "too_large"


def test_one_request_at_a_time_per_host_with_a_pause_between(server):
    import time

    clients = [DvcqgClient(server.base_url, province_code=f"p{i}", pause=0.05, jitter=0.5)
               for i in range(3)]
    stamps = []

    def work(client):
        for _ in range(3):
            client.post(PREFIX + "evaluation/dvc-progress-tree", YEAR)
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests) == 9 and server.max_in_flight == 1
    stamps.sort()
    assert all(b - a >= 0.045 for a, b in zip(stamps, stamps[1:], strict=False))


def test_a_timeout_is_retried_then_a_failed_read():
    import socket

    listener = socket.socket()  # accepts, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        port = listener.getsockname()[1]
        client = DvcqgClient(f"http://127.0.0.1:{port}", province_code="phu-tho", pause=0,
                             read_timeout=0.2, max_retries=1, backoff_base=0.01)
        with pytest.raises(DvcqgError, match="failed after 2 attempts: timeout"):
            client.post(PREFIX + "evaluation/transparency", YEAR)
    finally:
        listener.close()


def test_errors_carry_no_secret_of_the_connection():
    import os

    from egov.sources.dvcqg.hook import DvcqgHook

    os.environ["AIRFLOW_CONN_DVCQG_TEST_SECRET"] = json.dumps(
        {"conn_type": "http", "host": "http://127.0.0.1:9", "login": "u",
         "password": "s3cr3t-pw", "extra": {"max_retries": "0", "pause": "0"}})
    try:
        client = DvcqgHook("dvcqg_test_secret", province_code="phu-tho").get_conn()
        assert client.base_url == "http://127.0.0.1:9" and client.max_retries == 0
        with pytest.raises(DvcqgError) as info:
            client.post(PREFIX + "evaluation/transparency", YEAR)
        assert "s3cr3t" not in str(info.value) and "dvcqg_test_secret" in str(info.value)
    finally:
        del os.environ["AIRFLOW_CONN_DVCQG_TEST_SECRET"]
