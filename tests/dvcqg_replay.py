"""A local HTTP server replaying the national portal's recorded 766 answers
(tests/fixtures/dvcqg/) at the contract's paths, for client, DAG and end-to-end tests.

A POST to `/api/v1/reporting/<group path>` is answered with the recorded body of that group,
byte for byte (HTTP 201), whatever period is asked: only year 2026 was recorded, so the
replay gives the year's figures for any period (tests say so where it matters). A province
other than the recorded one gets the recorded body with its departmentId put in place of
the recorded province's (a built answer, never a file edited). `script[(root, path)]` lists
answers served first, in order: `(status, bytes)` or a callable of the request body giving
one; `requests` logs what was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dvcqg"
PREFIX = "/api/v1/reporting/"
RECORDED_ROOT = "019d2be3-6a88-732b-8b17-b68020c8553a"

Answer = tuple[int, bytes] | Callable[[dict], tuple[int, bytes]]


def manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))


def recorded() -> dict[str, bytes]:
    """{group path under /api/v1/reporting/: recorded body} of the six groups."""
    out = {}
    for capture in manifest()["captures"]:
        if capture.get("scope") == "all":
            path = capture["url"].split(PREFIX, 1)[1]
            out[path] = (FIXTURES / capture["file"]).read_bytes()
    return out


class ReplayServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.bodies = recorded()
        self.script: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                status, content = server.answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def answer(self, url_path: str, body: dict) -> tuple[int, bytes]:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            self.requests.append((url_path, body))
        try:
            if not url_path.startswith(PREFIX):
                return 404, b'{"code": "NOT_FOUND", "message": "no such path"}'
            path = url_path[len(PREFIX):]
            root = str(body.get("rootDepartmentId"))
            with self._lock:
                queue = self.script.get((root, path))
                scripted = queue.pop(0) if queue else None
            if scripted is not None:
                return scripted(body) if callable(scripted) else scripted
            content = self.bodies.get(path)
            if content is None:
                return 404, b'{"code": "NOT_FOUND", "message": "no such path"}'
            if root != RECORDED_ROOT:
                content = content.replace(RECORDED_ROOT.encode(), root.encode())
            return 201, content
        finally:
            with self._lock:
                self._in_flight -= 1
