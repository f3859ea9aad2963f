"""Named crash points for crash-safety tests: `EGOV_FAILPOINTS="load.before_commit@binh-dinh"`
makes the process SIGKILL itself when it reaches that point for that portal. Unset in
production: `hit` is then a dictionary look-up and nothing else."""

from __future__ import annotations

import os
import signal


def hit(name: str, portal_code: str | None = None) -> None:
    spec = os.environ.get("EGOV_FAILPOINTS")
    if not spec:
        return
    for item in spec.split(","):
        point, _, portal = item.strip().partition("@")
        if point == name and (not portal or portal == portal_code):
            os.kill(os.getpid(), signal.SIGKILL)
