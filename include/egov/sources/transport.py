"""HTTP transport shared by the sources' clients (one-stop portals, the 766 index).

What every client needs and must do the same way; each client keeps its own protocol
(authentication, envelopes, paging) and its own error classes:

* error kinds of a failed attempt (`TIMEOUT`, `CONNECTION`, `BAD_BODY`) and `Retryable`,
  the exception a client's attempt raises when the request may be sent again;
* `parse_retry_after` (delay-seconds or an HTTP date; nonsense ignored) and `backoff`
  (exponential, capped, with jitter; a server's Retry-After wins);
* `read_capped`: a body read in pieces, at most `max_bytes` (after decompression) and within
  `max_seconds` of the request: `BodyTooLarge` past the size (not retryable: the same page
  would come again), a retryable timeout past the time;
* `describe_host`: where a redirect pointed, as scheme://host (redirects are never
  followed; the path and query, which may carry a session, are never shown);
* `Pacer`: requests to one host one at a time and at least an interval apart (politeness),
  `host_pacer(url)` the one shared by every client of the process for that host.

Cheap to import: requests and urllib3 are imported inside the functions that need them.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import requests

CHUNK = 1 << 16  # bytes per network read of a body

# Kinds of a failed attempt that the transport itself sees (clients add their own: a status,
# a body their protocol rejects, ...).
TIMEOUT = "timeout"  # no answer, or a body still arriving, in time
CONNECTION = "connection"  # refused, reset, DNS, TLS, ...
BAD_BODY = "bad_body"  # a body cut short or undecodable


class Retryable(Exception):
    """One attempt failed in a way that sending the request again may cure."""

    def __init__(self, reason: str, *, kind: str = CONNECTION, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class BodyTooLarge(Exception):
    """A body past the size cap; `what` says how it showed (announced, or sent)."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def request_error_kind(exc: requests.RequestException) -> str:
    """The kind of a failed `requests` call (the request, or its headers, never came back)."""
    import requests

    if isinstance(exc, requests.Timeout):
        return TIMEOUT
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return BAD_BODY  # the body was cut short
    return CONNECTION


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delay-seconds or an HTTP date); None when the
    header is absent or is neither (``inf``, ``nan``, ``-5``, text)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # inf, nan, 1e400, 400 digits, negatives: not a wait
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt.tzinfo is None:  # "-0000": UTC
        dt = dt.replace(tzinfo=UTC)
    return max(0.0, dt.timestamp() - time.time())


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random,
            retry_after: float | None = None) -> float:
    """Seconds before retry `attempt + 1`: the server's Retry-After when given, else
    ``min(cap, base × 2^attempt)`` scaled by a random factor in [0.5, 1)."""
    if retry_after is not None:
        return retry_after
    delay: float = min(cap, base * (2 ** attempt))
    return delay * (0.5 + 0.5 * rng.random())


def read_capped(resp: Any, *, max_bytes: int, max_seconds: float, started: float) -> bytes:
    """The body of a streamed `requests` response, one network read at a time. Past
    `max_bytes` (announced or sent): `BodyTooLarge`; still arriving `max_seconds` after
    `started` (monotonic), or a read timing out: `Retryable` (TIMEOUT); cut short or
    undecodable: `Retryable` (BAD_BODY)."""
    import urllib3

    declared = resp.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"announced {int(declared)} bytes")
    body = bytearray()
    try:
        while True:
            chunk = resp.raw.read1(CHUNK, decode_content=True)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > max_bytes:
                raise BodyTooLarge(f"more than {max_bytes} bytes sent")
            if time.monotonic() - started > max_seconds:
                raise Retryable(f"body still arriving after {max_seconds:g} s "
                                f"(max_response_seconds)", kind=TIMEOUT)
    except urllib3.exceptions.ReadTimeoutError as e:
        raise Retryable(f"{type(e).__name__} while reading the body", kind=TIMEOUT) from e
    except (urllib3.exceptions.HTTPError, OSError) as e:  # cut short, undecodable
        raise Retryable(f"{type(e).__name__} while reading the body", kind=BAD_BODY) from e


def describe_host(location: str | None) -> str:
    """Where a redirect pointed, as scheme://host[:port] (never its path or query)."""
    try:
        parts = urlsplit(location or "")
    except ValueError:
        return "an unreadable address"
    if not parts.netloc:
        return "a path on the same host" if location else "nowhere (no Location)"
    return f"{parts.scheme or 'http'}://{parts.netloc.rpartition('@')[2]}"


def host_key(url: str) -> str:
    """The host (and port) of a URL, lower case, without credentials."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


class Pacer:
    """Politeness towards one host: requests at least `interval` seconds apart (plus up to
    `jitter` × interval at random).

    `turn(...)` is a context manager around one request; it yields the seconds it waited.
    ``from_end=False`` spaces the starts of requests (a rate: ``1 / requests per second``);
    ``from_end=True`` holds the host for the whole request (one at a time) and counts the
    interval from its end (a pause between answers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_at = 0.0

    @contextmanager
    def turn(self, interval: float, *, jitter: float = 0.0, from_end: bool = False,
             rng: random.Random | None = None,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[float]:
        if not from_end:
            if not interval:
                yield 0.0
                return
            with self.lock:
                now = time.monotonic()
                wait = self.next_at - now
                if wait > 0:
                    sleep(wait)
                self.next_at = max(now, self.next_at) + interval
            yield max(wait, 0.0)
            return
        with self.lock:
            wait = self.next_at - time.monotonic()
            if wait > 0:
                sleep(wait)
            try:
                yield max(wait, 0.0)
            finally:
                self.next_at = time.monotonic() + interval * (
                    1 + jitter * (rng or random).random())


_PACERS: dict[str, Pacer] = {}
_PACERS_LOCK = threading.Lock()


def host_pacer(url: str) -> Pacer:
    """The `Pacer` of `url`'s host, shared by every client of this process."""
    with _PACERS_LOCK:
        return _PACERS.setdefault(host_key(url), Pacer())
