"""Fault injection for the simulated portals ("Failures a client must expect", portal-api.md).

A ``FaultConfig`` says which faults one portal injects and how often; ``FaultInjector`` is the
middleware (a ``SimulatorFleet`` fault hook) that injects them, deterministically from a seed:
the portal draws its random numbers per request in arrival order, so a sequential client sees
the same faults on every run. Faults hit the data endpoints (``/api/hoso``, ``/api/tthc``,
``/api/donvi``); 429 and 5xx also hit ``/api/auth/token`` at ``auth_factor`` times their rate;
``/_sim/*`` is never touched.

Kinds (the keys of ``SimulatorFleet.fault_counts``):

``429``         HTTP 429 with ``Retry-After`` (whole seconds, 0..``retry_after_max``)
``5xx``         HTTP 500 / 502 / 503 / 504 (JSON or an HTML proxy page)
``token_429``, ``token_5xx``  the same on ``/api/auth/token``
``hang``        the server sleeps ``hang_seconds`` before answering (or closes without an
                answer): a client with a shorter read timeout times out
``reset``       the connection is closed at once, without an answer
``cut``         a 200 whose body is cut short: valid JSON truncated, either with a matching
                Content-Length or with the connection closed mid-body
``not_json``    a 200 whose body is an HTML error page
``error_code``  a 200 with ``{"error_code": "99", "message": "Hệ thống bận"}`` (and the like)
``session``     every ``session_every``-th data call finds the portal's sessions expired (401)
``dup``         a page (``trang`` ≥ 2) repeats the last item of the previous page first
``churn``       each ``/api/hoso`` request first advances the world clock by ``churn_seconds``
                (up to ``churn_max_seconds`` in all): records really change while the client
                pages, so with offset paging they move to the end and others shift left. The
                world stays consistent: the truth is ``world.dossiers_as_of(portal)`` at the
                clock reached (the clock is shared by every portal of the world)
``tongso``      ``tongSo`` of ``/api/hoso`` is ``tongso_extra`` too high, always (a lying
                portal: no client can reconcile it)
``down``        the portal does not listen at all (connection refused; ``stop_portal``)

Malformed records are a property of the world (``build_world(malformed_rate=...)``).

Spec strings (``parse_faults``): portals separated by ``;``, each ``portal:item,item,...``;
an item is a preset name (``all``, ``none``, or a kind above: ``429``, ``5xx``, ``hang``,
``reset``, ``cut``, ``not_json``, ``error_code``, ``session``, ``dup``, ``churn``,
``tongso``, ``down``) or ``key=value`` (a kind sets its rate / its knob; other keys:
``retry_after``, ``hang_s``, ``auth``, ``churn_max``). Items apply left to right, so
``all,hang=0`` is "all but hangs". Portal ``*`` means every portal (a named portal's items
apply after ``*``'s). ``binh-dinh:429=0.1,5xx=0.05,hang=0.02;tay-ninh:all``. A JSON object
``{"binh-dinh": {"rate_429": 0.1}, "tay-ninh": "all"}`` (values: preset/spec string or an
object of ``FaultConfig`` field names) is accepted too.
"""

from __future__ import annotations

import json
import random
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from egov.simulator.messages import DEFAULT_PAGE_SIZE, FleetControl, SimRequest, SimResponse

__all__ = [
    "FAULT_KINDS",
    "PRESETS",
    "FaultConfig",
    "FaultInjector",
    "format_faults",
    "parse_faults",
    "preset",
]

DATA_PATHS = frozenset({"/api/hoso", "/api/tthc", "/api/donvi"})
PAGED_PATHS = frozenset({"/api/hoso", "/api/tthc"})
TOKEN_PATH = "/api/auth/token"
DOSSIER_PATH = "/api/hoso"

FAULT_KINDS = ("429", "5xx", "token_429", "token_5xx", "hang", "reset", "cut", "not_json",
               "error_code", "session", "dup", "churn", "tongso", "down")

# kinds drawn per request, in this order, from one uniform number (their rates add up)
_RATE_KINDS: tuple[tuple[str, str], ...] = (("429", "rate_429"), ("5xx", "rate_5xx"), ("hang", "rate_hang"),
               ("reset", "rate_reset"), ("cut", "rate_cut"), ("not_json", "rate_not_json"),
               ("error_code", "rate_error_code"))


@dataclass(frozen=True)
class FaultConfig:
    """The faults of one portal. Rates are per request, in 0..1 (the per-request kinds'
    rates must add up to at most 1)."""

    rate_429: float = 0.0
    retry_after_max: float = 1.0  # Retry-After is a whole number of seconds in 0..this
    rate_5xx: float = 0.0
    rate_hang: float = 0.0
    hang_seconds: float = 3.0  # how long a hung request sleeps (then answers or hangs up)
    rate_reset: float = 0.0
    rate_cut: float = 0.0
    rate_not_json: float = 0.0
    rate_error_code: float = 0.0
    auth_factor: float = 0.25  # 429/5xx on /api/auth/token at this share of their rates
    session_every: int = 0  # every N-th data call finds its session expired (0: never)
    rate_dup: float = 0.0  # share of pages trang >= 2 that repeat the previous page's last item
    churn_seconds: int = 0  # each /api/hoso request first advances the world clock this much
    churn_max_seconds: int | None = None  # total clock advance allowed (None: unbounded)
    tongso_extra: int = 0  # /api/hoso's tongSo lies by this much, always
    down: bool = False  # the portal does not listen (connection refused)

    def __post_init__(self) -> None:
        for _, name in _RATE_KINDS:
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within 0..1, not {v}")
        if self.total_rate > 1.0 + 1e-9:
            raise ValueError(f"per-request fault rates add up to {self.total_rate:.3f} > 1")
        if not 0.0 <= self.rate_dup <= 1.0:
            raise ValueError("rate_dup must be within 0..1")
        if self.session_every == 1:
            raise ValueError("session_every must be 0 (off) or >= 2 (1 would refuse every "
                             "call, even right after a new login)")
        if self.session_every < 0 or self.churn_seconds < 0 or self.tongso_extra < 0:
            raise ValueError("session_every, churn_seconds and tongso_extra must be >= 0")
        if self.hang_seconds < 0 or self.retry_after_max < 0 or self.auth_factor < 0:
            raise ValueError("hang_seconds, retry_after_max and auth_factor must be >= 0")

    @property
    def total_rate(self) -> float:
        return sum(getattr(self, f) for _, f in _RATE_KINDS)

    def describe(self) -> str:
        """Short ``key=value`` form of the fields that differ from the defaults."""
        d0 = asdict(FaultConfig())
        return ",".join(f"{k}={v}" for k, v in asdict(self).items() if d0[k] != v) or "none"


# every fault at a moderate rate: a client with max_retries=6 and any backoff gets through
# (per-request failure 0.23 → seven failures in a row ~ 3e-5)
ALL = FaultConfig(rate_429=0.05, rate_5xx=0.05, rate_hang=0.02, rate_reset=0.02,
                  rate_cut=0.03, rate_not_json=0.03, rate_error_code=0.03, session_every=25,
                  rate_dup=0.1, churn_seconds=300)

PRESETS: dict[str, FaultConfig] = {
    "none": FaultConfig(),
    "all": ALL,
    "429": FaultConfig(rate_429=0.3),
    "5xx": FaultConfig(rate_5xx=0.3),
    "hang": FaultConfig(rate_hang=0.2),
    "reset": FaultConfig(rate_reset=0.3),
    "cut": FaultConfig(rate_cut=0.3),
    "not_json": FaultConfig(rate_not_json=0.3),
    "error_code": FaultConfig(rate_error_code=0.3),
    "session": FaultConfig(session_every=5),
    "dup": FaultConfig(rate_dup=0.5),
    "churn": FaultConfig(churn_seconds=3600),
    "tongso": FaultConfig(tongso_extra=3),
    "down": FaultConfig(down=True),
}

# spec keys → FaultConfig fields (and the value's type)
_KEYS: dict[str, str] = {
    "429": "rate_429", "5xx": "rate_5xx", "hang": "rate_hang", "reset": "rate_reset",
    "cut": "rate_cut", "not_json": "rate_not_json", "html": "rate_not_json",
    "error_code": "rate_error_code", "err": "rate_error_code", "dup": "rate_dup",
    "session": "session_every", "churn": "churn_seconds", "churn_max": "churn_max_seconds",
    "tongso": "tongso_extra", "retry_after": "retry_after_max", "hang_s": "hang_seconds",
    "auth": "auth_factor", "down": "down",
}
_FIELD_TYPES = {f.name: f.type for f in fields(FaultConfig)}


def preset(name: str) -> FaultConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown fault preset {name!r} (known: {', '.join(PRESETS)})") \
            from None


def _coerce(fname: str, raw: Any) -> Any:
    typ = str(_FIELD_TYPES[fname])
    if "bool" in typ:
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{fname} must be a boolean, not {raw!r}")
    if "int" in typ and "float" not in typ:
        if raw is None or str(raw).strip().lower() in ("none", "null", ""):
            if "None" in typ:
                return None
        return int(float(raw))
    return float(raw)


def _apply_items(base: FaultConfig, items: str) -> FaultConfig:
    cfg = base
    for item in (i.strip() for i in items.split(",")):
        if not item:
            continue
        if "=" in item:
            key, _, value = item.partition("=")
            key = key.strip().lower()
            fname = _KEYS.get(key) or (key if key in _FIELD_TYPES else None)
            if fname is None:
                raise ValueError(f"unknown fault key {key!r} (known: {', '.join(_KEYS)})")
            try:
                cfg = replace(cfg, **{fname: _coerce(fname, value.strip())})
            except (TypeError, ValueError) as e:
                raise ValueError(f"bad fault item {item!r}: {e}") from None
        else:
            p = preset(item.lower())
            # a preset switches its faults on over what is there (knobs at their defaults
            # stay as set)
            d0 = asdict(FaultConfig())
            cfg = replace(cfg, **{k: v for k, v in asdict(p).items() if v != d0[k]}) \
                if item.lower() != "none" else FaultConfig()
    return cfg


def parse_faults(spec: str | dict | None, portals: list[str] | None = None
                 ) -> dict[str, FaultConfig]:
    """``{portal: FaultConfig}`` from a spec string or JSON (see the module docstring).
    ``*`` expands to ``portals`` when given (else stays as the key ``"*"``)."""
    if spec is None:
        return {}
    raw: dict[str, Any]
    if isinstance(spec, dict):
        raw = spec
    else:
        text = spec.strip()
        if not text:
            return {}
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError as e:
                raise ValueError(f"fault spec is not valid JSON: {e}") from None
            if not isinstance(raw, dict):
                raise ValueError("a JSON fault spec must be an object {portal: ...}")
        else:
            raw = {}
            for part in (p.strip() for p in text.split(";")):
                if not part:
                    continue
                portal, sep, items = part.partition(":")
                if not sep or not portal.strip():
                    raise ValueError(f"bad fault spec part {part!r} (use portal:items)")
                raw[portal.strip()] = (raw.get(portal.strip(), "") + "," + items).strip(",")
    out: dict[str, FaultConfig] = {}
    star = raw.get("*")
    star_cfg = _one(star) if star is not None else None
    if star_cfg is not None:
        if portals is None:
            out["*"] = star_cfg
        else:
            for p in portals:
                out[p] = star_cfg
    for portal, value in raw.items():
        if portal == "*":
            continue
        if portals is not None and portal not in portals:
            raise ValueError(f"fault spec names unknown portal {portal!r} "
                             f"(known: {', '.join(portals)})")
        out[portal] = _one(value, out.get(portal, star_cfg or FaultConfig()))
    return out


def _one(value: Any, base: FaultConfig | None = None) -> FaultConfig:
    base = base or FaultConfig()
    if isinstance(value, FaultConfig):
        return value
    if isinstance(value, str):
        return _apply_items(base, value)
    if isinstance(value, dict):
        unknown = set(value) - set(_FIELD_TYPES)
        if unknown:
            raise ValueError(f"unknown FaultConfig fields {sorted(unknown)}")
        return replace(base, **{k: _coerce(k, v) for k, v in value.items()})
    raise ValueError(f"bad fault spec value {value!r}")


def format_faults(configs: dict[str, FaultConfig]) -> str:
    """A spec string ``parse_faults`` reads back to the same configs."""
    return ";".join(f"{p}:{','.join(_items(c)) or 'none'}" for p, c in configs.items())


def _items(cfg: FaultConfig) -> list[str]:
    d0 = asdict(FaultConfig())
    return [f"{k}={'none' if v is None else v}" for k, v in asdict(cfg).items() if d0[k] != v]


# ---------------------------------------------------------------------------- injection
_HTML_ERROR = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Lỗi hệ thống"
               "</title></head><body><h1>Hệ thống đang bảo trì</h1><p>Quý khách vui lòng "
               "quay lại sau.</p></body></html>")
_ERROR_CODES = (("99", "Hệ thống bận"), ("-1", "Lỗi kết nối cơ sở dữ liệu"),
                ("E500", "Có lỗi xảy ra trong quá trình xử lý"), ("1", "Thất bại"))


def _proxy_page(status: int, reason: str) -> bytes:
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center>"
            f"<h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
            f"</html>\r\n").encode()


def _seed_for(seed: int, portal: str) -> int:
    return (seed * 1_000_003) ^ zlib.crc32(portal.encode())


@dataclass
class _Draw:
    kind: str | None
    u1: float
    u2: float
    dup: float
    session: bool
    churn: bool


@dataclass
class FaultInjector:
    """The fault hook of one portal (``SimulatorFleet.set_faults`` installs it)."""

    fleet: FleetControl
    portal: str
    config: FaultConfig
    seed: int = 0
    counts: Counter = field(default_factory=Counter)
    data_calls: int = 0
    churned: int = 0  # seconds of clock advance so far

    def __post_init__(self) -> None:
        self._rng = random.Random(_seed_for(self.seed, self.portal))
        self._lock = threading.Lock()

    # ---- decisions (all random draws under the lock, a fixed number per request) ----
    def _decide(self, path: str) -> _Draw:
        cfg = self.config
        with self._lock:
            r, u1, u2, dup = (self._rng.random() for _ in range(4))
            session = False
            churn = False
            if path in DATA_PATHS:
                self.data_calls += 1
                session = bool(cfg.session_every) and self.data_calls % cfg.session_every == 0
                if path == DOSSIER_PATH and cfg.churn_seconds > 0:
                    room = (None if cfg.churn_max_seconds is None
                            else cfg.churn_max_seconds - self.churned)
                    if room is None or room >= cfg.churn_seconds:
                        self.churned += cfg.churn_seconds
                        churn = True
                factor = 1.0
                kinds = _RATE_KINDS
            elif path == TOKEN_PATH:
                factor = cfg.auth_factor
                kinds = _RATE_KINDS[:2]
            else:
                return _Draw(None, u1, u2, 1.0, False, False)
            kind = None
            acc = 0.0
            for name, fname in kinds:
                acc += getattr(cfg, fname) * factor
                if r < acc:
                    kind = name
                    break
            return _Draw(kind, u1, u2, dup, session, churn)

    def count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    # ---- the hook ----
    def __call__(self, req: SimRequest, handle: Callable[[SimRequest], SimResponse]
                 ) -> SimResponse:

        path = req.path.rstrip("/") or "/"
        if path.startswith("/_sim/") or (path not in DATA_PATHS and path != TOKEN_PATH):
            return handle(req)
        cfg = self.config
        d = self._decide(path)
        if d.churn:
            self._advance_clock(cfg.churn_seconds)
        if d.session:
            self.fleet.expire_sessions(self.portal)
            self.count("session")
            return handle(req)  # → 401 (unless it is the token call, which cannot be)
        kind = d.kind
        if kind is not None and path == TOKEN_PATH:
            self.count("token_" + kind)  # 429/5xx on the login, counted apart
        if kind == "429":
            if path != TOKEN_PATH:
                self.count("429")
            after = min(cfg.retry_after_max, int(d.u1 * (int(cfg.retry_after_max) + 1)))
            return SimResponse.json(429, {"error_code": "429",
                                          "message": "Quá nhiều yêu cầu, thử lại sau"},
                                    {"Retry-After": str(int(after))})
        if kind == "5xx":
            if path != TOKEN_PATH:
                self.count("5xx")
            status = (500, 502, 503, 504)[min(3, int(d.u1 * 4))]
            if status == 500:
                return SimResponse.json(500, {"error_code": "500", "message": "Lỗi hệ thống"})
            reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                      504: "Gateway Time-out"}[status]
            return SimResponse(status, _proxy_page(status, reason),
                               {"Content-Type": "text/html"})
        if kind == "hang":
            self.count("hang")
            self.fleet.stop_event(self.portal).wait(cfg.hang_seconds)
            if d.u1 < 0.5:
                return SimResponse(0, b"", drop=True)  # never answers
            return handle(req)  # answers late (the client has usually given up)
        if kind == "reset":
            self.count("reset")
            return SimResponse(0, b"", drop=True)
        if kind == "not_json":
            self.count("not_json")
            return SimResponse(200, _HTML_ERROR.encode(), {"Content-Type": "text/html; "
                                                                           "charset=utf-8"})
        if kind == "error_code":
            self.count("error_code")
            code, msg = _ERROR_CODES[min(len(_ERROR_CODES) - 1, int(d.u1 * len(_ERROR_CODES)))]
            return SimResponse.json(200, {"error_code": code, "message": msg})
        resp = handle(req)
        if resp.status != 200:
            return resp
        if kind == "cut" and len(resp.body) > 2:
            self.count("cut")
            at = 1 + int(d.u1 * (len(resp.body) - 2))
            if d.u2 < 0.5:  # a short but complete HTTP message: the JSON is cut
                return SimResponse(resp.status, resp.body[:at], dict(resp.headers))
            return SimResponse(resp.status, resp.body, dict(resp.headers), cut_at=at)
        if path == DOSSIER_PATH and cfg.tongso_extra:
            resp = self._edit(resp, lambda b: b.__setitem__("tongSo", b["tongSo"]
                                                              + cfg.tongso_extra))
            self.count("tongso")
        if path in PAGED_PATHS and cfg.rate_dup and d.dup < cfg.rate_dup:
            resp = self._duplicate(req, resp, handle)
        return resp

    def _advance_clock(self, seconds: int) -> None:
        world = self.fleet.world
        with self.fleet.clock_lock:
            try:
                world.advance(timedelta(seconds=seconds))
            except ValueError:  # beyond the simulated calendar: the world stops changing
                return
        self.count("churn")

    @staticmethod
    def _edit(resp: SimResponse, fn: Callable[[dict], None]) -> SimResponse:

        body = json.loads(resp.body)
        fn(body)
        out = SimResponse.json(resp.status, body)
        out.headers.update({k: v for k, v in resp.headers.items() if k != "Content-Type"})
        return out

    def _duplicate(self, req: SimRequest, resp: SimResponse,
                   handle: Callable[[SimRequest], SimResponse]) -> SimResponse:

        try:
            trang = int(req.query.get("trang") or 1)
            size = int(req.query.get("soLuong") or DEFAULT_PAGE_SIZE)
        except ValueError:
            return resp
        if trang < 2:
            return resp
        prev = handle(SimRequest(req.portal, req.method, req.path,
                                 dict(req.query, trang=str((trang - 1) * size), soLuong="1"),
                                 req.headers, req.body))
        if prev.status != 200:
            return resp
        items = json.loads(prev.body).get("data") or []
        if not items:
            return resp
        self.count("dup")
        return self._edit(resp, lambda b: b.__setitem__("data", items[:1] + b["data"]))
