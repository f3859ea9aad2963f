"""Raw zone of the index: every response kept whole, gzip-compressed, with the request that
produced it and its SHA-256 (dvcqg-766.md rule 2).

Layout: `<EGOV_RAW_DIR>/_dvcqg/<province>/<period>/<run key>/<group>-<n>.json.gz` and a
`manifest.json` (one per read of a province and period), written atomically. The folder
`_dvcqg` is not a portal code: the one-stop raw zone's housekeeping and rebuild never touch
it. The index is public statistics about public bodies: these files are kept (no retention).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from egov.settings import check_portal_code
from egov.sources.raw_zone import (
    make_private_dir,
    path_of,
    run_key,
    source_path,
    write_private,
)

SOURCE_DIR = "_dvcqg"
MANIFEST = "manifest.json"


def read_folder(province_code: str, period_label: str, run_id: str,
                root: str | None = None) -> Path:
    check_portal_code(province_code, "province code")
    return source_path(SOURCE_DIR, province_code, period_label, run_key(run_id), root=root)


class ResponseWriter:
    """The client's `on_response` hook for one read of a (province, period)."""

    def __init__(self, province_code: str, period_label: str, run_id: str, *,
                 base_url: str, root_department_id: str, root: str | None = None):
        self.folder = read_folder(province_code, period_label, run_id, root)
        self.meta = {"province_code": province_code, "period": period_label,
                     "run_id": run_id, "base_url": base_url,
                     "root_department_id": root_department_id,
                     "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.responses: list[dict[str, Any]] = []
        self.group = "unknown"
        if self.folder.exists():  # a retried task starts its folder afresh
            for child in self.folder.iterdir():
                child.unlink()
        make_private_dir(self.folder)
        self._manifest({"state": "reading"})

    def __call__(self, path: str, body: dict[str, Any], status: int, content: bytes,
                 seconds: float) -> None:
        name = f"{self.group}-{len(self.responses) + 1:03d}.json.gz"
        write_private(self.folder / name, gzip.compress(content, compresslevel=5))
        self.responses.append({
            "file": name, "group": self.group, "method": "POST", "path": path,
            "payload": body, "http_status": status, "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(), "seconds": round(seconds, 3),
            "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        })

    def _manifest(self, extra: dict[str, Any]) -> None:
        doc = {**self.meta, "responses": self.responses, **extra}
        write_private(self.folder / MANIFEST,
                       json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode(),
                       atomic=True)

    def finish(self, **extra: Any) -> str:
        self._manifest({"state": "done", **extra})
        return str(self.folder / MANIFEST)


def read_response(folder: str | os.PathLike[str], entry: dict[str, Any]) -> bytes:
    """A kept response's bytes, checked against its SHA-256."""
    content = gzip.decompress((path_of(str(folder)) / entry["file"]).read_bytes())
    if hashlib.sha256(content).hexdigest() != entry["sha256"]:
        raise ValueError(f"{folder}/{entry['file']}: SHA-256 differs from the manifest's")
    return content
