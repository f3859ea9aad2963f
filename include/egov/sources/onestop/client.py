"""HTTP client for one one-stop-shop portal (docs/contracts/portal-api.md).

Authenticates lazily, re-authenticates once on a 401 for a data call, retries with
exponential backoff and jitter on 429 (honouring ``Retry-After``), 500/502/503/504,
connection errors and timeouts, bodies that are not JSON or are cut short, and 200 bodies
whose ``error_code`` is not ``"0"``; fails at once on 400 (and other 4xx) and on wrong
credentials (``PortalAuthError``). Every raw body received successfully is handed to
``on_page`` (the pipeline's raw zone). Optional politeness: ``max_requests_per_second``.

A portal cannot stall or mislead it:

* ``Retry-After`` is obeyed up to ``max_retry_after`` seconds (default 120): a longer wait
  (or an HTTP date further ahead) is cut to that maximum and the request retried as usual
  (``max_retries`` bounds the total); a value that is not a non-negative number or an HTTP
  date (``inf``, ``nan``, ``-5``) is ignored: the client's own backoff applies.
* Redirects are never followed, on the token call (it carries the password) or on data calls
  (they carry the session): a 3xx raises ``PortalRedirectError`` naming the connection and
  the host it pointed to; not retried (fix the connection's host).
* A response body is read in pieces, at most ``max_response_bytes`` (default 64 MiB, counted
  after decompression) and within ``max_response_seconds`` (default 300) from the request:
  a larger body raises ``PortalError`` at once (not retried: the same page would come again);
  a body still arriving after the deadline is retried as a timeout.

Completeness of ``/api/hoso`` (offset paging while records change, portal-api.md "Paging"):
the window asked for is read in passes and checked against ``tongSo``.

* A *live* window (open-ended, or reaching past anything seen) may gain records while it is
  read (new ones, and changed ones that move to the end). One pass is enough when it was
  consistent: the same ``tongSo`` on every page, no record in two versions within the pass,
  and as many distinct records as ``tongSo``. Otherwise the window is cut at the newest
  ``NgayCapNhat`` seen + 1 s into a *settled* part and a live tail, read in that order
  (whatever changes after the settled part was read moves into the tail).
* A *settled* window ``[from, to)`` (``to`` ≤ the portal's clock) can only lose records while
  it is read (they change and move past ``to``), so every record seen in it was there at its
  first page: it is complete once the distinct records seen over its passes reach the
  largest ``tongSo``. If not after ``1 + max_repages`` passes, it is halved by time and each
  half reconciled the same way, up to ``max_splits`` splits in all.
* A window that cannot be reconciled raises ``PortalIncompleteError`` naming the window,
  the records announced and the records received.

Duplicates (the same MaHoSo and NgayCapNhat) are dropped; every distinct version is yielded
by ``iter_dossier_pages`` (and reached ``on_page`` in its raw page); ``fetch_dossiers``
returns the newest version of each record. ``stats`` counts what happened (see
``STATS_KEYS``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from egov.safe_errors import SafeMessageError
from egov.sources import transport
from egov.sources.onestop import json_body
from egov.sources.onestop.records import dedup_key, parse_portal_time

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

OnPage = Callable[[str, dict[str, Any], int, int, bytes], None]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
UNITS = "/api/donvi"
PROCEDURES = "/api/tthc"
DOSSIERS = "/api/hoso"
TOKEN = "/api/auth/token"

RETRY_KINDS = ("429", "5xx", "timeout", "connection", "bad_body", "error_code")
STATS_KEYS = (
    "requests",  # HTTP requests sent (token calls included)
    "retries",  # retried requests, all kinds; by kind:
    *(f"retries_{k}" for k in RETRY_KINDS),
    "reauths",  # new logins after a 401 on a data call
    "pages",  # successful data responses (each went to on_page)
    "repages",  # extra passes over a /api/hoso window (or the catalogue) to reconcile
    "splits",  # /api/hoso windows cut in two to reconcile
    "items_received",  # /api/hoso items in all pages, duplicates included
    "distinct_versions",  # distinct (MaHoSo, NgayCapNhat) versions received
    "duplicates_dropped",  # items_received - distinct_versions
    "records",  # distinct records (MaHoSo) received, in any version
    "throttle_seconds",  # time waited for max_requests_per_second
)
_TS_FMT = "%Y%m%d%H%M%S"


class PortalError(SafeMessageError):
    """A portal call failed (after retries where retrying makes sense)."""

    def __init__(self, message: str, *, portal_code: str, endpoint: str | None = None,
                 params: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message)
        self.portal_code = portal_code
        self.endpoint = endpoint
        self.params = dict(params or {})
        self.status = status


class PortalAuthError(PortalError):
    """The portal rejected the credentials: a configuration error, not retried."""


class PortalRedirectError(PortalError):
    """The portal answered a redirect: never followed (it would carry the password or the
    session to another address); a configuration error, not retried."""


class PortalIncompleteError(PortalError):
    """A window of ``/api/hoso`` (or the catalogue) could not be reconciled with ``tongSo``."""

    def __init__(self, message: str, *, portal_code: str, endpoint: str | None = None,
                 params: dict[str, Any] | None = None, window_from: str | None = None,
                 window_to: str | None = None, expected: int = 0, received: int = 0):
        super().__init__(message, portal_code=portal_code, endpoint=endpoint, params=params)
        self.window_from = window_from
        self.window_to = window_to
        self.expected = expected
        self.received = received


_Retryable = transport.Retryable


class _SessionRejected(Exception):
    pass


# The record version's key, as the loader has it: (MaHoSo, NgayCapNhat) bounded to strings;
# ("", hash of the item) for an item without a MaHoSo.
_dedup_key = dedup_key


def _ts(value: Any) -> int | None:
    """``yyyyMMddHHmmss`` → seconds (naive local time), None if not such a string; read at
    fixed positions by the loader's own `parse_portal_time`."""
    if not isinstance(value, str) or len(value) != 14:
        return None
    try:
        dt = parse_portal_time(value)
    except ValueError:
        return None
    return int((dt - _EPOCH).total_seconds())  # type: ignore[operator]  # 14 characters: never None


_EPOCH = datetime(1970, 1, 1)


_MAX_TS = int((datetime(9999, 12, 31, 23, 59, 59) - _EPOCH).total_seconds())


def _fmt(ts: int | None) -> str | None:
    """Seconds → ``yyyyMMddHHmmss``; a cut after a version stamped 99991231235959 stays in
    the calendar (that version is quarantined by the loader: updated_at_future)."""
    if ts is None:
        return None
    ts = min(ts, _MAX_TS)
    return (datetime(1970, 1, 1) + timedelta(seconds=ts)).strftime(_TS_FMT)


@dataclass
class _Pass:
    """What one pass over a window saw."""

    tong_min: int | None = None
    tong_max: int = 0
    versions: dict[str, Any] = field(default_factory=dict)  # MaHoSo → NgayCapNhat
    blanks: set[tuple[Any, ...]] = field(default_factory=set)  # keys of items without a MaHoSo
    multi_version: bool = False  # a record came in two versions within the pass
    min_ts: int | None = None
    max_ts: int | None = None
    pages: int = 0

    @property
    def distinct(self) -> int:
        return len(self.versions) + len(self.blanks)

    @property
    def consistent(self) -> bool:
        return (self.tong_min == self.tong_max and not self.multi_version
                and self.distinct >= self.tong_max)


class _Extraction:
    """Everything received for one ``iter_dossier_pages`` call. Only ``fetch_dossiers``
    keeps the items (``keep``); otherwise what stays in memory is one key per distinct
    version and one code per record (for the completeness checks and ``stats``): O(window),
    bounded by EGOV_WINDOW_MAX_VERSIONS in the pipeline (docs/performance.md)."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.keys: set[tuple[Any, ...]] = set()
        self.newest: dict[str, dict[str, Any]] = {}  # MaHoSo → newest item (keep)
        self.record_codes: set[str] = set()  # MaHoSo seen (not keep)
        self.blank_items: list[dict[str, Any]] = []  # items without a MaHoSo (keep)
        self.splits = 0


class PortalClient:
    """Client for one portal. Not thread-safe (one per task/thread); it fetches the next
    page of a listing on a thread of its own while the caller reads the current one."""

    def __init__(self, base_url: str, username: str, password: str, *, portal_code: str,
                 conn_id: str | None = None, connect_timeout: float = 5,
                 read_timeout: float = 60, max_retries: int = 5, backoff_base: float = 0.5,
                 backoff_max: float = 30, page_size: int = 1000, on_page: OnPage | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None, rng: random.Random | None = None,
                 max_requests_per_second: float | None = None, max_repages: int = 2,
                 max_splits: int = 256, max_retry_after: float = 120,
                 max_response_bytes: int = 64 * 2**20, max_response_seconds: float = 300):
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be within 1..1000")
        if max_requests_per_second is not None and not (
                math.isfinite(max_requests_per_second) and max_requests_per_second > 0):
            raise ValueError("max_requests_per_second must be > 0 (or None: unlimited)")
        if max_repages < 0 or max_splits < 0 or max_retries < 0:
            raise ValueError("max_retries, max_repages and max_splits must be >= 0")
        for name, value in (("connect_timeout", connect_timeout),
                            ("read_timeout", read_timeout),
                            ("max_response_seconds", max_response_seconds),
                            ("max_response_bytes", max_response_bytes)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        for name, value in (("backoff_base", backoff_base), ("backoff_max", backoff_max),
                            ("max_retry_after", max_retry_after)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.portal_code = portal_code
        self.conn_id = conn_id
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.page_size = page_size
        self.on_page = on_page
        self.sleep = sleep
        self.http = session or requests.Session()
        self._rng = rng or random.Random()
        self._token: str | None = None
        self.max_requests_per_second = max_requests_per_second
        self._min_interval = 1.0 / max_requests_per_second if max_requests_per_second else 0.0
        self._pacer = transport.Pacer()  # this client's own: one portal, one task
        self.max_repages = max_repages
        self.max_splits = max_splits
        self.max_retry_after = max_retry_after
        self.max_response_bytes = int(max_response_bytes)
        self.max_response_seconds = max_response_seconds
        self._calls_with_token = 0
        self._request_lock = threading.Lock()
        self._unwanted: threading.Event | None = None  # set: the page fetched ahead is not read
        self._pool: ThreadPoolExecutor | None = None  # the thread that fetches the next page ahead (``_pages``)
        self.stats: dict[str, float] = {}
        self.reset_stats()

    def reset_stats(self) -> None:
        """Zero ``stats`` (one client per extraction needs no reset)."""
        self.stats = dict.fromkeys(STATS_KEYS, 0)
        self.stats["throttle_seconds"] = 0.0

    @property
    def retries(self) -> int:
        return int(self.stats["retries"])

    def __repr__(self) -> str:  # never shows the password
        return (f"PortalClient(portal_code={self.portal_code!r}, base_url={self.base_url!r}, "
                f"username={self.username!r})")

    @property
    def _who(self) -> str:
        if self.conn_id:
            return f"portal {self.portal_code} (connection {self.conn_id!r})"
        return f"portal {self.portal_code}"

    # ---------------------------------------------------------------- public API
    def units(self) -> list[dict[str, Any]]:
        """``/api/donvi`` (not paged)."""
        body = self._call(UNITS, {}, page_no=1)
        return list(body["data"])

    def procedures(self) -> list[dict[str, Any]]:
        """``/api/tthc``, all pages, one item per MaTTHC, checked against ``tongSo`` (paged
        again up to ``max_repages`` times when short)."""
        by_code: dict[Any, dict[str, Any]] = {}
        expected = 0
        for attempt in range(1 + self.max_repages):
            if attempt:
                self.stats["repages"] += 1
                log.info("%s: %d procedures < tongSo %d; paging %s again", self._who,
                         len(by_code), expected, PROCEDURES)
            for tong_so, data in self._pages(PROCEDURES, {}):
                expected = max(expected, tong_so)
                for item in data:
                    key = item.get("MaTTHC") if isinstance(item, dict) else None
                    if not isinstance(key, str) or not key:
                        key = json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
                    by_code.setdefault(key, item)
            if len(by_code) >= expected:
                break
        else:
            raise PortalIncompleteError(
                f"{self._who}: {PROCEDURES} announced tongSo {expected} procedures but "
                f"{len(by_code)} distinct arrived after {1 + self.max_repages} passes",
                portal_code=self.portal_code, endpoint=PROCEDURES, expected=expected,
                received=len(by_code))
        return sorted(by_code.values(), key=lambda p: str(p.get("MaTTHC") or "")
                      if isinstance(p, dict) else "")

    def iter_dossier_pages(self, updated_from: str | None = None,
                           updated_to: str | None = None,
                           unit_code: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield, page by page, the ``/api/hoso`` items over ``[updated_from, updated_to)``
        not yielded before (same MaHoSo and NgayCapNhat), reconciling every window with
        ``tongSo`` (module docstring). Every distinct version is yielded, not only the newest
        (newest-wins is the loader's job). Raises ``PortalIncompleteError`` when a window
        cannot be reconciled, ``PortalError`` when the portal keeps failing."""
        ex = _Extraction()
        yield from self._extract(ex, updated_from, updated_to, unit_code)

    def fetch_dossiers(self, updated_from: str | None = None, updated_to: str | None = None,
                       unit_code: str | None = None) -> list[dict[str, Any]]:
        """The newest version of each record over ``[updated_from, updated_to)``, complete
        (as ``iter_dossier_pages``), ordered like the API (NgayCapNhat, then MaHoSo). Items
        without a usable MaHoSo (malformed) cannot be matched to a record: each distinct one
        is returned."""
        ex = _Extraction(keep=True)
        for _ in self._extract(ex, updated_from, updated_to, unit_code):
            pass
        out = list(ex.newest.values()) + ex.blank_items
        out.sort(key=lambda d: (str(d.get("NgayCapNhat") or ""), str(d.get("MaHoSo") or ""))
                 if isinstance(d, dict) else ("", ""))
        return out

    dossiers = fetch_dossiers

    def count_dossiers(self, updated_from: str | None = None, updated_to: str | None = None,
                       unit_code: str | None = None) -> int:
        """``tongSo`` of ``/api/hoso`` over ``[updated_from, updated_to)``: one request for a
        page of one item (with the usual retries); what the portal counts at that moment.
        Nothing reaches ``on_page`` (the item is not kept: this is for planning)."""
        params = dict(self._window_params(updated_from, updated_to, unit_code),
                      trang="1", soLuong="1")
        on_page, self.on_page = self.on_page, None
        try:
            body = self._call(DOSSIERS, params, page_no=1)
        finally:
            self.on_page = on_page
        tong_so = body.get("tongSo")
        if not isinstance(tong_so, int) or isinstance(tong_so, bool) or tong_so < 0:
            raise PortalError(f"{self._who}: {DOSSIERS} {params} answered without tongSo",
                              portal_code=self.portal_code, endpoint=DOSSIERS, params=params)
        return tong_so

    def close(self) -> None:
        if self._unwanted is not None:
            self._unwanted.set()
        self.http.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- paging
    def _window_params(self, lo: int | str | None, hi: int | str | None,
                       unit_code: str | None) -> dict[str, str]:
        params: dict[str, str] = {}
        lo_s = _fmt(lo) if isinstance(lo, int) else lo
        hi_s = _fmt(hi) if isinstance(hi, int) else hi
        if lo_s:
            params["capNhatTu"] = lo_s
        if hi_s:
            params["capNhatDen"] = hi_s
        if unit_code:
            params["maDonVi"] = unit_code
        return params

    def _pass(self, ex: _Extraction, params: dict[str, Any]) -> Generator[list[dict[str, Any]], None, _Pass]:
        """One pass over a window: yields the new items of each page, returns what it saw."""
        ps = _Pass()
        st = self.stats
        for tong_so, data in self._pages(DOSSIERS, params):
            ps.pages += 1
            ps.tong_min = tong_so if ps.tong_min is None else min(ps.tong_min, tong_so)
            ps.tong_max = max(ps.tong_max, tong_so)
            fresh = []
            for item in data:
                st["items_received"] += 1
                key = _dedup_key(item)
                if key[0]:
                    version = key[1]
                    before = ps.versions.setdefault(key[0], version)
                    if before != version:
                        ps.multi_version = True
                else:
                    ps.blanks.add(key)
                t = _ts(item.get("NgayCapNhat")) if isinstance(item, dict) else None
                if t is not None:
                    ps.min_ts = t if ps.min_ts is None else min(ps.min_ts, t)
                    ps.max_ts = t if ps.max_ts is None else max(ps.max_ts, t)
                if key in ex.keys:
                    st["duplicates_dropped"] += 1
                    continue
                ex.keys.add(key)
                st["distinct_versions"] += 1
                if key[0] and not ex.keep:
                    if key[0] not in ex.record_codes:
                        ex.record_codes.add(key[0])
                        st["records"] += 1
                elif key[0]:
                    prev = ex.newest.get(key[0])
                    if prev is None:
                        st["records"] += 1
                    if prev is None or str(item.get("NgayCapNhat") or "") >= str(
                            prev.get("NgayCapNhat") or ""):
                        ex.newest[key[0]] = item
                else:
                    st["records"] += 1
                    if ex.keep:
                        ex.blank_items.append(item)
                fresh.append(item)
            if fresh:
                yield fresh
        return ps

    def _incomplete(self, why: str, lo: Any, hi: Any, unit_code: str | None, expected: int,
                    received: int, top: tuple[Any, ...]) -> PortalIncompleteError:
        lo_s = _fmt(lo) if isinstance(lo, int) else lo
        hi_s = _fmt(hi) if isinstance(hi, int) else hi
        window = f"[{lo_s or 'beginning'}, {hi_s or 'now'})"
        unit = f" of unit {unit_code}" if unit_code else ""
        top_s = f"[{top[0] or 'beginning'}, {top[1] or 'now'})"
        extra = "" if (lo_s, hi_s) == top else f" (while reading {top_s})"
        return PortalIncompleteError(
            f"{self._who}: {DOSSIERS} window {window}{unit} is incomplete{extra}: tongSo "
            f"announced {expected} records but {received} distinct arrived; {why}",
            portal_code=self.portal_code, endpoint=DOSSIERS,
            params=self._window_params(lo, hi, unit_code), window_from=lo_s, window_to=hi_s,
            expected=expected, received=received)

    def _extract(self, ex: _Extraction, updated_from: str | None, updated_to: str | None,
                 unit_code: str | None) -> Generator[list[dict[str, Any]], None, None]:
        top = (updated_from or None, updated_to or None)
        lo0: int | str | None = _ts(updated_from) if updated_from else None
        hi0: int | str | None = _ts(updated_to) if updated_to else None
        if updated_from and lo0 is None:
            lo0 = updated_from  # not ours to judge: the portal answers 400
        if updated_to and hi0 is None:
            hi0 = updated_to
        # windows to read, last = next; (lo, hi, live). Bounds are seconds (or the caller's
        # strings when unparsable: such a window is never split).
        todo: list[tuple[Any, Any, bool]] = [(lo0, hi0, True)]
        while todo:
            lo, hi, live = todo.pop()
            params = self._window_params(lo, hi, unit_code)
            if live:
                ps = yield from self._pass(ex, params)
                if ps.consistent:
                    continue
                cut = None if ps.max_ts is None else ps.max_ts + 1
                if cut is None or isinstance(lo, str) or isinstance(hi, str):
                    # nothing to cut at: read it again as it is
                    yield from self._settle(ex, lo, hi, unit_code, top, todo, first=ps)
                    continue
                if hi is not None and cut >= hi:
                    # nothing newer than what was seen can land in it: it is settled
                    yield from self._settle(ex, lo, hi, unit_code, top, todo, reread=True)
                    continue
                self._count_split(ex, lo, hi, unit_code, top, ps)
                log.info("%s: %s %s changed while paged (tongSo %s..%s, %d distinct, "
                         "moved records: %s); reading [.., %s) and the tail apart",
                         self._who, DOSSIERS, params, ps.tong_min, ps.tong_max, ps.distinct,
                         ps.multi_version, _fmt(cut))
                todo.append((cut, hi, True))
                todo.append((lo, cut, False))
            else:
                yield from self._settle(ex, lo, hi, unit_code, top, todo)

    def _count_split(self, ex: _Extraction, lo: Any, hi: Any, unit_code: str | None,
                     top: tuple[Any, ...], ps: _Pass | None, expected: int = 0, received: int = 0
                     ) -> None:
        if ex.splits >= self.max_splits:
            raise self._incomplete(
                f"gave up after {self.max_splits} window splits (max_splits)", lo, hi,
                unit_code, expected or (ps.tong_max if ps else 0),
                received or (ps.distinct if ps else 0), top)
        ex.splits += 1
        self.stats["splits"] += 1

    def _settle(self, ex: _Extraction, lo: Any, hi: Any, unit_code: str | None, top: tuple[Any, ...],
                todo: list[Any], first: _Pass | None = None, reread: bool = False
                ) -> Generator[list[dict[str, Any]], None, None]:
        """Reconcile a window that can only lose records while read: passes until the
        distinct records seen reach the largest tongSo, else halve it (pushed on ``todo``)."""
        params = self._window_params(lo, hi, unit_code)
        seen: set[Any] = set()
        expected = 0
        min_ts: int | None = None
        passes = 0
        for attempt in range(1 + self.max_repages):
            if attempt == 0 and first is not None:
                ps = first  # already read (a live window with nothing to cut at)
            else:
                if attempt or reread:
                    self.stats["repages"] += 1
                ps = yield from self._pass(ex, params)
            passes += 1
            seen.update(ps.versions)
            seen.update(ps.blanks)
            expected = max(expected, ps.tong_max)
            if ps.min_ts is not None:
                min_ts = ps.min_ts if min_ts is None else min(min_ts, ps.min_ts)
            if len(seen) >= expected:
                return
            log.info("%s: %s %s: %d distinct records < tongSo %d after %d passes", self._who,
                     DOSSIERS, params, len(seen), expected, passes)
        # still short: halve by time
        a = lo if lo is not None else min_ts
        if not isinstance(a, int) or not isinstance(hi, int) or hi - a <= 1:
            raise self._incomplete(
                f"still short after {passes} passes and the window cannot be split further",
                lo, hi, unit_code, expected, len(seen), top)
        self._count_split(ex, lo, hi, unit_code, top, None, expected, len(seen))
        mid = a + (hi - a) // 2
        log.info("%s: %s %s still short (%d < %d): splitting at %s", self._who, DOSSIERS,
                 params, len(seen), expected, _fmt(mid))
        todo.append((mid, hi, False))
        todo.append((lo, mid, False))

    def _pages(self, endpoint: str, params: dict[str, Any]) -> Iterator[tuple[int, list[Any]]]:
        """The pages of `endpoint`, in order. The next page is requested as soon as a page
        shows there is one, and travels while this one is kept and read (one request in
        flight at a time, as before; the portal works while the client does)."""
        trang, ahead = 1, None
        try:
            while True:
                p = dict(params, trang=str(trang), soLuong=str(self.page_size))
                if ahead is None:
                    status, content, body = self._receive(endpoint, p)
                else:
                    status, content, body = ahead.result()
                    ahead = None
                tong_so = body.get("tongSo")
                data = body["data"]
                if not isinstance(tong_so, int) or isinstance(tong_so, bool):
                    raise PortalError(f"{self._who}: {endpoint} {p} answered without tongSo",
                                      portal_code=self.portal_code, endpoint=endpoint,
                                      params=p)
                more = bool(data) and trang * self.page_size < tong_so
                if more:
                    following = dict(params, trang=str(trang + 1), soLuong=str(self.page_size))
                    unwanted = self._unwanted = threading.Event()  # close() sets it too
                    ahead = self._prefetcher().submit(self._receive, endpoint, following,
                                                      unwanted=unwanted)
                self._kept(endpoint, p, trang, status, content)
                yield tong_so, data
                if not more:
                    return
                trang += 1
        finally:
            if ahead is not None and not ahead.cancel():  # left unread: no more retries
                unwanted.set()
                ahead.add_done_callback(lambda f: f.exception())

    def _prefetcher(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix=f"egov-{self.portal_code}")
        return self._pool

    # ---------------------------------------------------------------- HTTP
    def _send(self, method: str, endpoint: str, params: dict[str, Any], *, json_body: Any = None,
              headers: dict[str, Any] | None = None) -> tuple[int, Mapping[str, str], bytes]:
        """One request, redirects not followed, its body read within the caps."""
        self._throttle()
        started = time.monotonic()
        try:
            resp = self.http.request(method, self.base_url + endpoint, params=params or None,
                                     json=json_body, headers=headers, timeout=self.timeout,
                                     allow_redirects=False, stream=True)
        except requests.RequestException as e:
            detail = "" if endpoint == TOKEN else f": {e}"  # the token call's stays terse
            raise _Retryable(f"{type(e).__name__}{detail}",
                             kind=transport.request_error_kind(e)) from e
        try:
            return resp.status_code, resp.headers, self._read_body(resp, endpoint, params,
                                                                   started)
        finally:
            resp.close()

    def _read_body(self, resp: requests.Response, endpoint: str, params: dict[str, Any],
                   started: float) -> bytes:
        """The body, one network read at a time: past ``max_response_bytes`` a PortalError,
        past ``max_response_seconds`` (a body trickling in) a retryable timeout."""
        try:
            return transport.read_capped(resp, max_bytes=self.max_response_bytes,
                                         max_seconds=self.max_response_seconds,
                                         started=started)
        except transport.BodyTooLarge as e:
            raise self._too_large(endpoint, params, e.what) from None

    def _too_large(self, endpoint: str, params: dict[str, Any], what: str) -> PortalError:
        return PortalError(
            f"{self._who}: {endpoint} {params} answered a body too large to read ({what}; "
            f"max_response_bytes={self.max_response_bytes}): lower page_size or raise the "
            f"connection extra max_response_bytes", portal_code=self.portal_code,
            endpoint=endpoint, params=params)

    def _authenticate(self) -> None:
        payload = {"username": self.username, "password": self._password}

        def attempt() -> dict[str, Any]:
            status, headers, content = self._send("POST", TOKEN, {}, json_body=payload)
            if status == 401:
                raise PortalAuthError(
                    f"{self._who} rejected the credentials of user {self.username!r} (HTTP "
                    f"401 on {TOKEN}): the login or password in the connection is wrong",
                    portal_code=self.portal_code, endpoint=TOKEN, status=401)
            body = self._check(status, headers, content, TOKEN, {})
            if not isinstance(body.get("session"), str) or not body["session"]:
                raise _Retryable("token response without a session", kind="bad_body")
            return body

        body = self._with_retries(TOKEN, {}, attempt)
        self._token = body["session"]

    def _call(self, endpoint: str, params: dict[str, Any], *, page_no: int) -> dict[str, Any]:
        status, content, body = self._receive(endpoint, params)
        self._kept(endpoint, params, page_no, status, content)
        return body

    def _kept(self, endpoint: str, params: dict[str, Any], page_no: int, status: int,
              content: bytes) -> None:
        """A page received: counted and handed to ``on_page``, in page order."""
        self.stats["pages"] += 1
        if self.on_page is not None:
            self.on_page(endpoint, dict(params), page_no, status, content)

    def _receive(self, endpoint: str, params: dict[str, Any], *, unwanted: threading.Event | None = None
                 ) -> tuple[int, bytes, dict[str, Any]]:
        """One data request with its retries and re-authentication: (status, raw body,
        parsed body). One at a time (a page fetched ahead runs on the client's thread); no
        retry once `unwanted` is set."""
        with self._request_lock:
            return self._receive_unlocked(endpoint, params, unwanted)

    def _receive_unlocked(self, endpoint: str, params: dict[str, Any],
                          unwanted: threading.Event | None) -> tuple[int, bytes, dict[str, Any]]:
        reauths = 0
        while True:
            if self._token is None:
                self._authenticate()
                self._calls_with_token = 0
            try:
                (status, content), body = self._with_retries(
                    endpoint, params, lambda: self._get(endpoint, params), unwanted)
            except _SessionRejected:
                # A fresh session refused at its first request is an auth problem; a session
                # that served requests and then expired is renewed (boundedly).
                if (self._calls_with_token <= 1 and reauths) or reauths >= self.max_retries:
                    raise PortalAuthError(
                        f"{self._who}: {endpoint} {params} still answers 401 with a fresh "
                        f"session", portal_code=self.portal_code, endpoint=endpoint,
                        params=params, status=401) from None
                reauths += 1
                self._token = None
                self.stats["reauths"] += 1
                continue
            return status, content, body

    def _get(self, endpoint: str, params: dict[str, Any]) -> tuple[tuple[int, bytes], dict[str, Any]]:
        self._calls_with_token += 1
        status, headers, content = self._send(
            "GET", endpoint, params, headers={"Authorization": f"Bearer {self._token}"})
        if status == 401:
            raise _SessionRejected()
        body = self._check(status, headers, content, endpoint, params)
        if not isinstance(body.get("data"), list):
            raise _Retryable("body without a data list", kind="bad_body")
        return (status, content), body

    def _check(self, status: int, headers: Mapping[str, str], content: bytes, endpoint: str,
               params: dict[str, Any]) -> dict[str, Any]:
        if status in RETRY_STATUSES:
            retry_after = None
            if status == 429:
                retry_after = transport.parse_retry_after(headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_after:
                    log.warning("%s: %s asked to wait %.0f s (Retry-After); waiting "
                                "max_retry_after=%g s instead", self._who, endpoint,
                                retry_after, self.max_retry_after)
                    retry_after = self.max_retry_after
            raise _Retryable(f"HTTP {status}", retry_after=retry_after, status=status,
                             kind="429" if status == 429 else "5xx")
        if 300 <= status < 400:
            raise PortalRedirectError(
                f"{self._who}: {endpoint} answered HTTP {status}, a redirect to "
                f"{transport.describe_host(headers.get('Location'))}: not followed (it would carry the "
                f"{'password' if endpoint == TOKEN else 'session'} elsewhere); set the "
                f"connection's host to the portal's real address",
                portal_code=self.portal_code, endpoint=endpoint, params=params, status=status)
        if status >= 300 or status < 200:
            message = ""
            try:
                message = str(json_body.loads(content).get("message", ""))[:200]
            except (ValueError, AttributeError):
                pass
            raise PortalError(
                f"{self._who}: {endpoint} {params} answered HTTP {status} {message}".rstrip(),
                portal_code=self.portal_code, endpoint=endpoint, params=params, status=status)
        try:
            body = json_body.loads(content)
        except ValueError:
            raise _Retryable("body is not JSON (or is cut short)", status=status,
                             kind="bad_body") from None
        if not isinstance(body, dict):
            raise _Retryable("body is not a JSON object", status=status, kind="bad_body")
        code = body.get("error_code")
        if code != "0":
            raise _Retryable(f"error_code {code!r}: {str(body.get('message', ''))[:200]}",
                             status=status, kind="error_code")
        return body

    def _throttle(self) -> None:
        """Keep requests ``1 / max_requests_per_second`` apart (None: no limit)."""
        with self._pacer.turn(self._min_interval, sleep=self.sleep) as waited:
            self.stats["throttle_seconds"] += waited

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        return transport.backoff(attempt, base=self.backoff_base, cap=self.backoff_max,
                                 rng=self._rng, retry_after=retry_after)

    def _with_retries(self, endpoint: str, params: dict[str, Any], fn: Callable[[], Any],
                      unwanted: threading.Event | None = None) -> Any:
        attempt = 0
        while True:
            self.stats["requests"] += 1
            try:
                return fn()
            except _Retryable as e:
                if attempt >= self.max_retries or (unwanted is not None and unwanted.is_set()):
                    raise PortalError(
                        f"{self._who}: {endpoint} {params} failed after "
                        f"{attempt + 1} attempts: {e.reason}",
                        portal_code=self.portal_code, endpoint=endpoint, params=params,
                        status=e.status) from e
                delay = self._backoff(attempt, e.retry_after)
                log.warning("%s: %s %s: %s; retry %d/%d in %.2fs", self._who, endpoint,
                            params, e.reason, attempt + 1, self.max_retries, delay)
                self.stats["retries"] += 1
                self.stats[f"retries_{e.kind}"] += 1
                self.sleep(delay)
                attempt += 1
