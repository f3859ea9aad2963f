"""The raw zone: every page a portal sent, gzip-compressed, with a manifest per portal and run.

Layout: `<root>/<portal>/<run key>.w<window>/<endpoint>-<n>.json.gz` plus `manifest.json`. The root is
EGOV_RAW_DIR: a local folder, or any ObjectStoragePath URL (s3://, gs://, file://, ...).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from egov.settings import check_portal_code, raw_zone_root

MANIFEST = "manifest.json"


def _path(location: str):
    if "://" in location:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(location)
    return Path(location)


def run_key(run_id: str) -> str:
    """A run id as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"


def run_folder(portal_code: str, run_id: str, root: str | None = None, window: int = 0):
    check_portal_code(portal_code)  # it names a folder: never '..' or a path
    return _path(root or raw_zone_root()) / portal_code / f"{run_key(run_id)}.w{window:03d}"


class PageWriter:
    """Keeps each page as it arrives (the client's `on_page` hook), then writes the manifest."""

    def __init__(self, portal_code: str, run_id: str, root: str | None = None, window: int = 0):
        self.portal_code = portal_code
        self.run_id = run_id
        self.folder = run_folder(portal_code, run_id, root, window)
        self.pages: list[dict] = []
        self._clear()

    def _clear(self) -> None:
        """A retried extraction starts its run folder afresh."""
        if self.folder.exists():
            for child in self.folder.iterdir():
                child.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)

    def on_page(self, endpoint, params, page_no, status, body: bytes) -> None:
        name = endpoint.strip("/").replace("/", "_").removeprefix("api_")
        file_name = f"{name}-{len(self.pages) + 1:05d}.json.gz"
        (self.folder / file_name).write_bytes(gzip.compress(body, compresslevel=5))
        self.pages.append({
            "file": file_name, "endpoint": endpoint, "params": dict(params or {}),
            "page": page_no, "http_status": status, "bytes": len(body),
            "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })

    def finish(self, **extra) -> str:
        manifest = {"portal_code": self.portal_code, "run_id": self.run_id,
                    "pages": self.pages, **extra}
        target = self.folder / MANIFEST
        target.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str))
        return str(target)


def read_manifest(location: str) -> dict:
    return json.loads(_path(location).read_text())


def read_page(manifest_location: str, entry: dict) -> dict:
    body = (_path(manifest_location).parent / entry["file"]).read_bytes()
    return json.loads(gzip.decompress(body))


def page_items(manifest_location: str, endpoint: str) -> list[dict]:
    """The `data` items of every page kept for `endpoint`, in arrival order."""
    manifest = read_manifest(manifest_location)
    items: list[dict] = []
    for entry in manifest["pages"]:
        if entry["endpoint"].rstrip("/").endswith(endpoint):
            items.extend(read_page(manifest_location, entry).get("data") or [])
    return items


def manifests(portal_code: str | None = None, root: str | None = None) -> list[str]:
    """Every manifest in the raw zone, oldest run first (by the time its first page arrived)."""
    base = _path(root or raw_zone_root())
    found = []
    if not base.exists():
        return found
    for portal_dir in sorted(base.iterdir()):
        if portal_code and portal_dir.name != portal_code:
            continue
        for run_dir in portal_dir.iterdir():
            m = run_dir / MANIFEST
            if m.exists():
                found.append(str(m))
    def order(location):
        m = read_manifest(location)
        return (m.get("extracted_at", ""), m.get("seq", 0))

    return sorted(found, key=order)
