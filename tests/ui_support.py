"""A live Airflow API server (SimpleAuthManager, a real user) and a real headless Chromium
(Debian's `chromium`, driven by Playwright for Python; never `playwright install`)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e_support import AIRFLOW, REPO

CHROMIUM = os.environ.get("EGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps",
                 "--disable-extensions", "--metrics-recording-only", "--mute-audio"]
USER = "analyst"


def artifacts_dir() -> Path:
    """Where screenshots are kept ($EGOV_TEST_ARTIFACTS, default tests/artifacts/; git-ignored)."""
    path = Path(os.environ.get("EGOV_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def auth_env(home: Path, *, role: str = "viewer") -> tuple[dict, str]:
    """SimpleAuthManager with one user and a password file written here: (env, password)."""
    password = secrets.token_urlsafe(12)
    pw_file = home / "passwords.json"
    pw_file.write_text(json.dumps({USER: password}))
    return {
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:{role}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
    }, password


class ApiServer:
    """`airflow api-server` on a free port of 127.0.0.1, stopped by `stop()`."""

    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**env, "AIRFLOW__API__BASE_URL": self.base,
               "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(self.port)}
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"], env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait(self, timeout: float = 180) -> ApiServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"api-server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=5):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        raise RuntimeError(f"api-server did not answer in {timeout}s: {self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def token(self, user: str, password: str) -> str:
        req = urllib.request.Request(
            f"{self.base}/auth/token", data=json.dumps({"username": user,
                                                        "password": password}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())["access_token"]

    def get(self, path: str, token: str | None = None, accept: str = "*/*"):
        """(status, headers, body) of a GET, without following redirects."""
        headers = {"Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {token}"

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(urllib.request.Request(self.base + path, headers=headers),
                             timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self._log.close()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


def sign_in(page, server: ApiServer, password: str, user: str = USER) -> None:
    """Through the real login page of the SimpleAuthManager."""
    page.goto(f"{server.base}/auth/login")
    page.fill("input[name=username], #username", user)
    page.fill("input[name=password], #password", password)
    page.click("button[type=submit]")
    page.wait_for_function("document.cookie.includes('_token=')", timeout=60_000)


class RequestLog:
    """Every URL the page asked for; `outside()` lists those not on 127.0.0.1."""

    def __init__(self, page):
        self.urls: list[str] = []
        page.on("request", lambda req: self.urls.append(req.url))

    def outside(self) -> list[str]:
        from urllib.parse import urlparse

        return [u for u in self.urls if urlparse(u).scheme not in ("data", "about", "blob")
                and urlparse(u).hostname not in ("127.0.0.1",)]
