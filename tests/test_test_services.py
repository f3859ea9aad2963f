"""`make test` on a machine without PostgreSQL or Redis: scripts/test_services.py starts its
own from pip wheels on free ports for the command it runs, and stops them after."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from tests.e2e_support import REPO

PROBE = """
import json, os, sys
import redis, sqlalchemy as sa
pg, rd = os.environ["EGOV_TEST_PG_URL"], os.environ["EGOV_TEST_REDIS_URL"]
with sa.create_engine(pg).connect() as c:
    version = c.execute(sa.text("show server_version_num")).scalar()
ping = redis.Redis.from_url(rd + "/15").ping()
json.dump({"pg": pg, "redis": rd, "version": int(version), "ping": ping}, sys.stdout)
"""


def _closed(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.socket() as s:
        return s.connect_ex((parts.hostname, parts.port)) != 0


def _run(env_overrides: dict) -> tuple[dict, str]:
    import os

    env = {**os.environ, **env_overrides}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "test_services.py"), "--",
                           sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), proc.stderr


def test_servers_are_started_when_none_answers_and_stopped_after():
    with socket.socket() as a, socket.socket() as b:  # two ports nothing listens on
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        dead_pg, dead_redis = a.getsockname()[1], b.getsockname()[1]
    got, log = _run({"EGOV_TEST_PG_URL": f"postgresql+psycopg2://postgres@127.0.0.1:{dead_pg}/"
                                         "postgres",
                     "EGOV_TEST_REDIS_URL": f"redis://127.0.0.1:{dead_redis}"})
    assert f":{dead_pg}/" not in got["pg"] and f":{dead_redis}" not in got["redis"]
    assert got["version"] >= 150000 and got["ping"] is True
    assert "started one" in log and "stopped the servers it started" in log
    assert _closed(got["pg"]) and _closed(got["redis"])


def test_a_server_that_answers_is_used_as_it_is():
    from tests.conftest import PG_ADMIN_URL as PG_URL

    with socket.socket() as s:  # a Redis-looking listener: it answers, so it is kept
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "test_services.py"), "--", sys.executable,
             "-c", "import os; print(os.environ['EGOV_TEST_PG_URL']); "
                   "print(os.environ['EGOV_TEST_REDIS_URL'])"],
            env={**__import__("os").environ, "EGOV_TEST_PG_URL": PG_URL,
                 "EGOV_TEST_REDIS_URL": f"redis://127.0.0.1:{port}"},
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [PG_URL, f"redis://127.0.0.1:{port}"]
    assert "started one" not in proc.stderr
