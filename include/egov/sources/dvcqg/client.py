"""HTTP client of the national portal's index API (dvcqg-766.md "Transport").

Every call is a POST with a JSON body; any 2xx is an answer, whose body must be the envelope
`{"code": "OK", "data": {...}}`. Politeness towards a public site of the government:

* one request at a time per host (in this process; the DAG runs one province task at a
  time) and a pause between requests (`pause` seconds plus up to `jitter` × pause);
* 5xx, timeouts, cut connections and bodies that are not JSON are retried, at most
  `max_retries` times, with exponential backoff and jitter;
* 403 and 429 are never retried: `DvcqgBlocked` (that province's read stops; the next
  scheduled run tries again); other 4xx and redirects fail at once (not followed);
* a body is read in pieces, at most `max_response_bytes`, within `max_response_seconds`.

The transport itself (pacing per host, backoff, capped reads, redirect refusal) is
`egov.sources.transport`, shared with the one-stop client.

Errors name the province, the path, the period's fields and the status: never a body (the
envelope's `message` is kept, masked and cut to 200 characters).
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Callable
from typing import Any

from egov.safe_errors import SafeMessageError, mask
from egov.sources import transport
from egov.sources.onestop import json_body

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://dichvucong.gov.vn"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
BLOCKED_STATUSES = frozenset({403, 429})
# the transport's kinds of a failed attempt, as this client's errors name them
_KINDS = {transport.TIMEOUT: "transport", transport.CONNECTION: "transport",
          transport.BAD_BODY: "transport"}

# (path, request body, HTTP status, raw body, seconds): every response received
OnResponse = Callable[[str, dict[str, Any], int, bytes, float], None]


class DvcqgError(SafeMessageError):
    """A call to the index failed; `kind` says how (http, blocked, envelope, body, paging,
    transport, too_large)."""

    def __init__(self, message: str, *, kind: str, status: int | None = None,
                 path: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.path = path


class DvcqgBlocked(DvcqgError):
    """HTTP 403 or 429: never retried; the province's read stops."""


def _code_text(code: Any) -> str:
    """An envelope code for messages: short codes as they are, anything else by its type."""
    if isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", code):
        return code
    return f"<{type(code).__name__}>"


def _query_part(body: dict[str, Any]) -> str:
    """The request's fields that say what was asked (no paging noise), for messages."""
    keys = ("timeType", "year", "quarter", "month", "fromDate", "toDate", "currentPage")
    return ", ".join(f"{k}={body[k]}" for k in keys if k in body)


class DvcqgClient:
    """Client of one province's reads. `sleep` and `rng` are injectable for tests."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, province_code: str,
                 conn_id: str | None = None, pause: float = 1.0, jitter: float = 0.5,
                 max_retries: int = 3, backoff_base: float = 2.0, backoff_max: float = 60.0,
                 connect_timeout: float = 10, read_timeout: float = 60,
                 max_response_bytes: int = 32 * 2**20, max_response_seconds: float = 120,
                 max_pages: int = 50, sleep: Callable[[float], None] = time.sleep,
                 session: Any = None, rng: random.Random | None = None,
                 on_response: OnResponse | None = None):
        for name, value in (("pause", pause), ("jitter", jitter), ("backoff_base", backoff_base),
                            ("backoff_max", backoff_max)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout),
                            ("max_response_seconds", max_response_seconds),
                            ("max_response_bytes", max_response_bytes)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if not (isinstance(max_retries, int) and 0 <= max_retries <= 20):
            raise ValueError(f"max_retries must be 0..20, got {max_retries!r}")
        if not (isinstance(max_pages, int) and max_pages >= 1):
            raise ValueError(f"max_pages must be >= 1, got {max_pages!r}")
        if not str(base_url).startswith(("http://", "https://")):
            raise ValueError("the base URL must start with http:// or https://")
        import requests

        self.base_url = str(base_url).rstrip("/")
        self.province_code = province_code
        self.conn_id = conn_id
        self.pause = float(pause)
        self.jitter = float(jitter)
        self.max_retries = max_retries
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.timeout = (connect_timeout, read_timeout)
        self.max_response_bytes = int(max_response_bytes)
        self.max_response_seconds = float(max_response_seconds)
        self.max_pages = max_pages
        self.sleep = sleep
        self.http = session or requests.Session()
        self._rng = rng or random.Random()
        self.on_response = on_response
        self._pacer = transport.host_pacer(self.base_url)  # shared by the host's clients
        self.stats = {"requests": 0, "retries": 0, "pages": 0, "paused_seconds": 0.0}

    def __repr__(self) -> str:
        return f"DvcqgClient(province_code={self.province_code!r}, base_url={self.base_url!r})"

    @property
    def _who(self) -> str:
        conn = f" (connection {self.conn_id!r})" if self.conn_id else ""
        return f"index of province {self.province_code}{conn}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DvcqgClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public
    def read_pages(self, path: str, body: dict[str, Any], page_size: int) -> list[dict[str, Any]]:
        """Every page of `path` for `body` (the envelopes' `data`, in order): the next page
        while `data.pagination.currentPage < totalPages`, one response when there is no
        pagination. A paging that runs past `max_pages` or goes back is a DvcqgError."""
        pages: list[dict[str, Any]] = []
        page = 1
        while True:
            request = dict(body, currentPage=page, pageSize=page_size)
            data = self.post(path, request)
            pages.append(data)
            pagination = data.get("pagination")
            if pagination is None:
                return pages
            current, total = self._pagination(path, request, pagination)
            if current != page:
                raise DvcqgError(f"{self._who}: {path} ({_query_part(request)}) answered page "
                                 f"{current} when page {page} was asked: paging stopped",
                                 kind="paging", path=path)
            if current >= total:
                return pages
            if page >= self.max_pages:
                raise DvcqgError(f"{self._who}: {path} ({_query_part(request)}) announces "
                                 f"{total} pages, more than max_pages={self.max_pages}: a "
                                 f"paging that does not end is a failed read", kind="paging",
                                 path=path)
            page += 1

    def _pagination(self, path: str, request: dict[str, Any], pagination: Any) -> tuple[int, int]:
        def whole(value: Any) -> int | None:
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return None

        if isinstance(pagination, dict):
            current = whole(pagination.get("currentPage"))
            total = whole(pagination.get("totalPages"))
            if current is not None and total is not None and current >= 1 and total >= 0:
                return current, total
        raise DvcqgError(f"{self._who}: {path} ({_query_part(request)}) answered a pagination "
                         f"without whole currentPage and totalPages: paging stopped",
                         kind="paging", path=path)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call with its retries: the envelope's `data` (a JSON object)."""
        attempt = 0
        while True:
            try:
                return self._attempt(path, body)
            except transport.Retryable as exc:
                if attempt >= self.max_retries:
                    raise DvcqgError(
                        f"{self._who}: {path} ({_query_part(body)}) failed after "
                        f"{attempt + 1} attempts: {exc.reason}", kind=_KINDS.get(exc.kind,
                                                                               exc.kind),
                        status=exc.status, path=path) from None
                delay = transport.backoff(attempt, base=self.backoff_base,
                                          cap=self.backoff_max, rng=self._rng)
                log.warning("%s: %s (%s): %s; retry %d/%d in %.1f s", self._who, path,
                            _query_part(body), exc.reason, attempt + 1, self.max_retries, delay)
                self.stats["retries"] += 1
                self.sleep(delay)
                attempt += 1

    # ------------------------------------------------------------------ HTTP
    def _attempt(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # one request at a time per host, `pause` (plus jitter) between the answer and the next
        with self._pacer.turn(self.pause, jitter=self.jitter, from_end=True, rng=self._rng,
                              sleep=self.sleep) as waited:
            self.stats["paused_seconds"] += waited
            status, content, seconds, location = self._send(path, body)
        if self.on_response is not None:
            self.on_response(path, dict(body), status, content, seconds)
        return self._check(path, body, status, content, location)

    def _send(self, path: str, body: dict[str, Any]) -> tuple[int, bytes, float, str | None]:
        import requests

        self.stats["requests"] += 1
        started = time.monotonic()
        try:
            resp = self.http.post(self.base_url + path, json=body, timeout=self.timeout,
                                  allow_redirects=False, stream=True,
                                  headers={"Accept": "application/json"})
        except requests.Timeout:
            raise transport.Retryable("timeout", kind=transport.TIMEOUT) from None
        except requests.RequestException as exc:
            raise transport.Retryable(f"connection failed ({type(exc).__name__})",
                                      kind=transport.request_error_kind(exc)) from None
        try:
            content = self._read_body(resp, path, body, started)
        finally:
            resp.close()
        return (resp.status_code, content, time.monotonic() - started,
                resp.headers.get("Location"))

    def _read_body(self, resp: Any, path: str, body: dict[str, Any], started: float) -> bytes:
        try:
            return transport.read_capped(resp, max_bytes=self.max_response_bytes,
                                         max_seconds=self.max_response_seconds,
                                         started=started)
        except transport.BodyTooLarge as exc:
            raise self._too_large(path, body, exc.what) from None

    def _too_large(self, path: str, body: dict[str, Any], what: str) -> DvcqgError:
        return DvcqgError(f"{self._who}: {path} ({_query_part(body)}) answered a body too large"
                          f" ({what}; max_response_bytes={self.max_response_bytes})",
                          kind="too_large", path=path)

    def _check(self, path: str, body: dict[str, Any], status: int, content: bytes,
               location: str | None = None) -> dict[str, Any]:
        asked = _query_part(body)
        if status in BLOCKED_STATUSES:
            raise DvcqgBlocked(f"{self._who}: {path} ({asked}) answered HTTP {status}: not "
                               f"retried (the portal refuses or throttles us); this province's "
                               f"read stops, the next run tries again", kind="blocked",
                               status=status, path=path)
        if status in RETRY_STATUSES or status >= 500:
            raise transport.Retryable(f"HTTP {status}", kind="http", status=status)
        if 300 <= status < 400:
            raise DvcqgError(f"{self._who}: {path} ({asked}) answered HTTP {status}, a redirect"
                             f" to {transport.describe_host(location)}: not followed; check "
                             f"the connection's base URL", kind="http", status=status,
                             path=path)
        if not 200 <= status < 300:
            raise DvcqgError(f"{self._who}: {path} ({asked}) answered HTTP {status}"
                             f"{self._message_of(content)}", kind="http", status=status,
                             path=path)
        try:
            envelope = json_body.loads(content)
        except ValueError:
            raise transport.Retryable("body is not JSON", kind="body", status=status) from None
        if not isinstance(envelope, dict):
            raise transport.Retryable("body is not a JSON object", kind="body", status=status)
        code = envelope.get("code")
        if code != "OK":
            raise DvcqgError(f"{self._who}: {path} ({asked}) answered code "
                             f"{_code_text(code)}{self._message_of(content, envelope)}",
                             kind="envelope", status=status, path=path)
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise DvcqgError(f"{self._who}: {path} ({asked}) answered code OK without a data "
                             f"object (data is {type(data).__name__})", kind="body",
                             status=status, path=path)
        return data

    @staticmethod
    def _message_of(content: bytes, envelope: Any = None) -> str:
        if envelope is None:
            try:
                envelope = json_body.loads(content)
            except ValueError:
                return ""
        message = envelope.get("message") if isinstance(envelope, dict) else None
        if message is None:
            return ""
        return f", message {mask(str(message), 200)!r}"
