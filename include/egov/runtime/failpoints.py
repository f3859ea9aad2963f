"""Named crash points for crash-safety tests: `EGOV_FAILPOINTS="load.before_commit@binh-dinh"`
makes the process SIGKILL itself when it reaches that point for that portal. Unset in
production: `hit` is then a dictionary look-up and nothing else.

`point@portal:hang` makes the process stop there instead, once, so that a test can kill its
worker from outside: it fires only while the file `$EGOV_FAILPOINTS_DIR/point@portal.armed`
exists: the first process to arrive renames it to `.hit` and writes its pid, process group
and worker to `point@portal.hit.json`. A hung process kills itself after
EGOV_FAILPOINT_HANG_SECONDS (default 600), so a test that forgets it cannot hang forever."""

from __future__ import annotations

import json
import os
import signal
import socket
import time


def hit(name: str, portal_code: str | None = None) -> None:
    spec = os.environ.get("EGOV_FAILPOINTS")
    if not spec:
        return
    for item in spec.split(","):
        item, _, action = item.strip().partition(":")
        point, _, portal = item.partition("@")
        if point == name and (not portal or portal == portal_code):
            if action == "hang":
                _hang(item)
            else:
                os.kill(os.getpid(), signal.SIGKILL)


def _hang(item: str) -> None:
    folder = os.environ.get("EGOV_FAILPOINTS_DIR")
    if not folder:
        return
    armed, hit_file = (os.path.join(folder, f"{item}.{suffix}") for suffix in ("armed", "hit"))
    try:
        os.rename(armed, hit_file)  # atomic: one process wins
    except FileNotFoundError:
        return  # not armed, or another process got there first
    with open(hit_file + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "pgid": os.getpgid(0), "host": socket.gethostname(),
                   "worker": os.environ.get("EGOV_WORKER_HOSTNAME")}, fh)
    os.replace(hit_file + ".tmp", hit_file + ".json")
    from egov.settings import env_number

    deadline = time.monotonic() + env_number("EGOV_FAILPOINT_HANG_SECONDS", 600, float, minimum=0)
    while time.monotonic() < deadline:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)
