"""HTTP servers of the simulated portals (the contract of docs/contracts/portal-api.md).

One ``ThreadingHTTPServer`` per portal, each on its own port, all reading one ``World`` (so
one clock). Faults plug in per portal: ``SimulatorFleet.set_faults(code, FaultConfig)`` (or
``apply_faults(spec)``, see ``egov.simulator.faults``) installs a seeded ``FaultInjector``;
``fault_counts(code)`` tells what it injected. Underneath, a fault hook is middleware
``hook(request, handle) -> SimResponse`` that may answer by itself (429, 5xx, ...), sleep (a
hang), or call ``handle(request)`` and alter the response (``SimResponse.cut_at`` sends only
that many body bytes, then closes the connection; ``SimResponse.drop`` closes it without an
answer); ``set_fault_hook`` installs any such hook.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from egov.simulator.faults import FaultConfig, FaultInjector, parse_faults
from egov.simulator.generator import format_ts, from_local_seconds, parse_ts
from egov.simulator.messages import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    FaultHook,
    SimRequest,
    SimResponse,
)
from egov.simulator.units import portal_codes
from egov.simulator.world import World

log = logging.getLogger(__name__)

def _error(status: int, message: str) -> SimResponse:
    return SimResponse.json(status, {"error_code": str(status), "message": message})


class _BadRequest(Exception):
    pass


class _PortalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr, handler, fleet: SimulatorFleet, portal: str):
        self.fleet = fleet
        self.portal = portal
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _PortalHTTPServer
    server_version = "EgovPortalSim/1.0"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK stall every keep-alive response by ~40 ms
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if not self.server.fleet.quiet:
            log.info("%s %s", self.server.portal, format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        fleet = self.server.fleet
        portal = self.server.portal
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        req = SimRequest(portal, self.command, split.path, query,
                         {k.lower(): v for k, v in self.headers.items()}, body)
        hook = fleet.fault_hooks.get(portal)
        try:
            resp = hook(req, fleet.handle) if hook is not None else fleet.handle(req)
        except Exception:  # a bug in a handler must not kill the connection silently
            log.exception("simulator error on %s %s", portal, self.path)
            resp = _error(500, "internal error")
        self._send(resp)

    def _send(self, resp: SimResponse) -> None:
        try:
            self._write(resp)
        except OSError:  # the client went away (gave up on a hang, ...): nothing to answer
            self.close_connection = True

    def _write(self, resp: SimResponse) -> None:
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        if resp.cut_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if resp.cut_at is not None:
            self.wfile.write(resp.body[: resp.cut_at])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(resp.body)


class SimulatorFleet:
    """The four (or the given) portals' HTTP servers over one world.

    ``credentials``: {portal: (username, password)}; missing portals get username = portal
    code and a random password (see ``.credentials``). ``base_port=0`` lets the OS pick each
    port; otherwise portal i (in ``portal_codes()`` order) listens on ``base_port + i``.
    """

    def __init__(self, world: World, host: str = "127.0.0.1", base_port: int = 0,
                 credentials: dict[str, tuple[str, str]] | None = None,
                 session_ttl: float = 1800, portals: list[str] | None = None,
                 quiet: bool = True):
        self.world = world
        self.host = host
        self.base_port = base_port
        self.portals = list(portals or portal_codes())
        creds = dict(credentials or {})
        for code in self.portals:
            creds.setdefault(code, (code, secrets.token_urlsafe(16)))
        self.credentials = creds
        self.session_ttl = session_ttl
        self.quiet = quiet
        self.fault_hooks: dict[str, FaultHook] = {}
        self.clock_lock = threading.Lock()  # clock advances by fault injectors (churn)
        self._stop_events: dict[str, threading.Event] = {}
        self._sessions: dict[str, tuple[str, float]] = {}  # token → (portal, expires monotonic)
        self._sessions_lock = threading.Lock()
        self._injectors: dict[str, FaultInjector] = {}
        self._down: set[str] = set()  # portals down by a fault config
        self._servers: dict[str, _PortalHTTPServer] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._ports: dict[str, int] = {}

    # ---- lifecycle ----
    def start(self) -> SimulatorFleet:
        for i, code in enumerate(self.portals):
            port = self._ports.get(code, self.base_port + i if self.base_port else 0)
            if code in self._down:  # a "down" fault: it gets a port but does not listen
                self._reserve_port(code, port)
                continue
            self._start(code, port)
        return self

    def _start(self, code: str, port: int) -> None:
        if code in self._servers:
            return
        srv = _PortalHTTPServer((self.host, port), _Handler, self, code)
        self._stop_events[code] = threading.Event()
        self._ports[code] = srv.server_address[1]
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                             name=f"portal-sim-{code}", daemon=True)
        self._servers[code] = srv
        self._threads[code] = t
        t.start()

    def _reserve_port(self, code: str, port: int) -> None:
        if code not in self._ports:
            if port == 0:
                with socket.socket() as s:
                    s.bind((self.host, 0))
                    port = s.getsockname()[1]
            self._ports[code] = port

    def stop_portal(self, code: str) -> None:
        """Take one portal down (connections refused) until ``start_portal``."""
        srv = self._servers.pop(code, None)
        if srv is None:
            return
        self.stop_event(code).set()  # wakes hung requests
        srv.shutdown()
        srv.server_close()
        srv.drop_connections()
        self._threads.pop(code).join(timeout=5)

    def start_portal(self, code: str) -> None:
        """Bring a stopped portal back on its former port."""
        self._start(code, self._ports.get(code, 0))

    def is_running(self, code: str) -> bool:
        return code in self._servers

    def stop(self) -> None:
        for code in list(self._servers):
            self.stop_portal(code)

    def __enter__(self) -> SimulatorFleet:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- addresses ----
    def port(self, code: str) -> int:
        return self._ports[code]

    def base_url(self, code: str) -> str:
        return f"http://{self.host}:{self._ports[code]}"

    def urls(self) -> dict[str, str]:
        return {code: self.base_url(code) for code in self.portals}

    # ---- sessions ----
    def expire_sessions(self, code: str | None = None) -> None:
        """Make every session (of one portal, or all) invalid now."""
        with self._sessions_lock:
            if code is None:
                self._sessions.clear()
            else:
                for tok in [t for t, (p, _) in self._sessions.items() if p == code]:
                    del self._sessions[tok]

    def _new_session(self, code: str) -> str:
        tok = secrets.token_urlsafe(24)
        with self._sessions_lock:
            now = time.monotonic()
            for t in [t for t, (_, exp) in self._sessions.items() if exp <= now]:
                del self._sessions[t]
            self._sessions[tok] = (code, now + self.session_ttl)
        return tok

    def _session_ok(self, code: str, req: SimRequest) -> bool:
        auth = req.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return False
        tok = auth[7:].strip()
        with self._sessions_lock:
            entry = self._sessions.get(tok)
        return entry is not None and entry[0] == code and entry[1] > time.monotonic()

    # ---- fault injection ----
    def set_fault_hook(self, code: str, hook: FaultHook | None) -> None:
        """Install any middleware as the portal's fault hook (None removes it)."""
        if hook is None:
            self.fault_hooks.pop(code, None)
        else:
            self.fault_hooks[code] = hook

    def set_faults(self, code: str, config: FaultConfig | None, seed: int = 0) -> None:
        """Inject ``config``'s faults on one portal from now on, deterministically from
        ``seed`` (None or an empty config: no faults). ``down`` stops the portal (and a
        config without it starts a stopped one again). Fault counts start from zero."""
        if code not in self.portals:
            raise KeyError(f"unknown portal {code!r}")
        if config is None or config == FaultConfig():
            self.fault_hooks.pop(code, None)
            self._injectors.pop(code, None)
        else:
            inj = FaultInjector(self, code, config, seed)
            self._injectors[code] = inj
            self.fault_hooks[code] = inj
        if config is not None and config.down:
            self._injectors[code].count("down")
            self._down.add(code)
            self.stop_portal(code)
        elif code in self._down:
            self._down.discard(code)
            if code in self._ports:
                self.start_portal(code)

    def apply_faults(self, spec: str | dict | None, seed: int = 0) -> dict[str, FaultConfig]:
        """``set_faults`` for each portal of a ``parse_faults`` spec (string, JSON or dict);
        portals it does not name keep their faults. Returns the configs applied."""
        configs = parse_faults(spec, self.portals) if not (
            isinstance(spec, dict) and all(isinstance(v, FaultConfig) for v in spec.values())
        ) else dict(spec)
        for code, cfg in configs.items():
            self.set_faults(code, cfg, seed)
        return configs

    def faults(self, code: str) -> FaultConfig | None:
        inj = self._injectors.get(code)
        return inj.config if inj else None

    def fault_counts(self, code: str) -> dict[str, int]:
        """Faults injected on one portal since ``set_faults``, by kind (see
        ``egov.simulator.faults``); kinds that did not happen are absent."""
        inj = self._injectors.get(code)
        return dict(inj.counts) if inj else {}

    def stop_event(self, code: str) -> threading.Event:
        """Set while the portal is stopped (hung requests wait on it)."""
        return self._stop_events.setdefault(code, threading.Event())

    # ---- request handling ----
    def handle(self, req: SimRequest) -> SimResponse:
        path = req.path.rstrip("/") or "/"
        try:
            if path == "/api/auth/token":
                if req.method != "POST":
                    return _error(405, "use POST")
                return self._token(req)
            if path == "/_sim/clock":
                return self._clock(req)
            if path == "/_sim/faults":
                inj = self._injectors.get(req.portal)
                return SimResponse.json(200, {
                    "error_code": "0", "faults": inj.config.describe() if inj else "none",
                    "counts": dict(inj.counts) if inj else {}})
            if path in ("/api/donvi", "/api/tthc", "/api/hoso"):
                if req.method != "GET":
                    return _error(405, "use GET")
                if not self._session_ok(req.portal, req):
                    return _error(401, "phiên làm việc không hợp lệ hoặc đã hết hạn")
                if path == "/api/donvi":
                    return SimResponse.json(200, {"error_code": "0",
                                                  "data": self.world.units(req.portal)})
                if path == "/api/tthc":
                    return self._paged(req, self.world.procedures(req.portal), None)
                return self._dossiers(req)
        except _BadRequest as e:
            return _error(400, str(e))
        return _error(404, "not found")

    def _token(self, req: SimRequest) -> SimResponse:
        try:
            payload = json.loads(req.body or b"{}")
            user, pw = payload["username"], payload["password"]
            if not isinstance(user, str) or not isinstance(pw, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise _BadRequest("body must be JSON {\"username\": ..., \"password\": ...}") from None
        exp_user, exp_pw = self.credentials[req.portal]
        ok_user = hmac.compare_digest(user.encode(), exp_user.encode())
        ok_pw = hmac.compare_digest(pw.encode(), exp_pw.encode())
        if not (ok_user and ok_pw):
            return _error(401, "sai tên đăng nhập hoặc mật khẩu")
        return SimResponse.json(200, {"error_code": "0", "session": self._new_session(req.portal),
                                      "expires_in": int(self.session_ttl)})

    def _clock(self, req: SimRequest) -> SimResponse:
        if req.method == "POST":
            try:
                payload = json.loads(req.body or b"{}")
                ts = parse_ts(str(payload["now"]))
            except (ValueError, KeyError, TypeError):
                raise _BadRequest("body must be JSON {\"now\": \"yyyyMMddHHmmss\"}") from None
            try:
                self.world.set_clock(from_local_seconds(ts))
            except ValueError as e:
                raise _BadRequest(str(e)) from None
        elif req.method != "GET":
            return _error(405, "use GET or POST")
        return SimResponse.json(200, {"error_code": "0", "now": format_ts(self.world.clock_ts)})

    @staticmethod
    def _page_args(req: SimRequest) -> tuple[int, int]:
        def intarg(name: str, default: int, lo: int, hi: int | None) -> int:
            raw = req.query.get(name, "")
            if raw == "":
                return default
            if not raw.isdigit():
                raise _BadRequest(f"{name} phải là số nguyên")
            v = int(raw)
            if v < lo or (hi is not None and v > hi):
                rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
                raise _BadRequest(f"{name} phải trong khoảng {rng}")
            return v

        return (intarg("trang", 1, 1, None),
                intarg("soLuong", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE))

    def _paged(self, req: SimRequest, items: list, materialize: Callable | None,
               plain: Callable | None = None) -> SimResponse:
        trang, so_luong = self._page_args(req)
        chunk = items[(trang - 1) * so_luong: trang * so_luong]
        data = [materialize(x) for x in chunk] if materialize else list(chunk)
        return SimResponse.json(200, {"error_code": "0", "tongSo": len(items), "trang": trang,
                                      "soLuong": so_luong, "data": data},
                                plain=plain is not None and all(map(plain, chunk)))

    def _dossiers(self, req: SimRequest) -> SimResponse:
        def ts_arg(name: str) -> int | None:
            raw = req.query.get(name, "")
            if raw == "":
                return None
            try:
                return parse_ts(raw)
            except ValueError:
                raise _BadRequest(f"{name} phải có dạng yyyyMMddHHmmss") from None

        self._page_args(req)  # validate before the (possibly costly) query
        upd_from, upd_to = ts_arg("capNhatTu"), ts_arg("capNhatDen")
        unit = req.query.get("maDonVi") or None
        now = self.world.clock_ts
        entries = self.world.query(req.portal, upd_from, upd_to, unit, now)
        return self._paged(req, entries, lambda e: self.world.materialize(req.portal, e),
                           plain=lambda e: e[5] is None)  # a corrupted version may be odd


def clock_string(dt: datetime) -> str:
    return dt.strftime("%Y%m%d%H%M%S")
