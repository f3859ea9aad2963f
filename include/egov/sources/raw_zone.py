"""The raw zone: every page a portal sent, gzip-compressed, with a manifest per portal and run.

Layout: `<root>/<portal>/<run key>.w<window>/<endpoint>-<n>.json.gz` plus `manifest.json`. The root is
EGOV_RAW_DIR: a local folder, or any ObjectStoragePath URL (s3://, gs://, file://, ...).

A run folder carries its manifest from the moment it is created (`state` "extracting", then
"complete" with the list of pages when the extraction ends); housekeeping deletes only folders
whose manifest names them (egov.quality.retention). A manifest is replaced atomically (a
temporary file renamed over it), so it is never seen half-written. Local folders are created
0700 and files 0600: the pages hold applicants' personal data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from egov.safe_errors import SafeMessageError
from egov.settings import check_portal_code, raw_zone_root
from egov.sources.onestop import json_body

MANIFEST = "manifest.json"
EXTRACTING, COMPLETE = "extracting", "complete"


class RawZoneError(SafeMessageError, RuntimeError):
    """A raw-zone file is missing, unreadable or not what it should be; the message names it."""


def _path(location: str) -> Path:
    if "://" in location:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(location)  # type: ignore[return-value]  # typed as the Path API it offers
    return Path(location)


def _legacy_run_key(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"


def run_key(run_id: str) -> str:
    """A run id as a folder name: readable, plus a short hash of the exact id (two ids that
    differ only in characters a folder name cannot hold, ':' / '+' vs '_', never meet)."""
    digest = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{_legacy_run_key(run_id)}-{digest}"


def run_folder(portal_code: str, run_id: str, root: str | None = None, window: int = 0) -> Path:
    check_portal_code(portal_code)  # it names a folder: never '..' or a path
    return _path(root or raw_zone_root()) / portal_code / f"{run_key(run_id)}.w{window:03d}"


def is_run_folder_of(name: str, run_id: str) -> bool:
    """Whether a folder name is one `run_folder` gives for `run_id` (or gave, before the
    hash was added: such folders stay recognised, for retention)."""
    return any(re.fullmatch(re.escape(key) + r"\.w\d{3,}", name) is not None
               for key in (run_key(run_id), _legacy_run_key(run_id)))


def _private_dir(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by its owner only (local paths)."""
    if not isinstance(folder, Path):
        folder.mkdir(parents=True, exist_ok=True)
        return
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, 0o700)  # mkdir(mode=...) is masked by the umask, parents ignore it


def _write_private(target: Path, data: bytes, *, atomic: bool = False) -> None:
    """Write a file readable by its owner only; `atomic`: via a temporary file renamed over
    it. Object stores write whole objects: a plain write is atomic there."""
    if not isinstance(target, Path):
        target.write_bytes(data)
        return
    path = target.with_name(f".{target.name}.{os.getpid()}.tmp") if atomic else target
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            if atomic:
                f.flush()
                os.fsync(fd)
    finally:
        os.close(fd)
    if atomic:
        os.replace(path, target)


class PageWriter:
    """Keeps each page as it arrives (the client's `on_page` hook), then writes the manifest."""

    def __init__(self, portal_code: str, run_id: str, root: str | None = None, window: int = 0):
        self.portal_code = portal_code
        self.run_id = run_id
        self.folder = run_folder(portal_code, run_id, root, window)
        self.pages: list[dict[str, Any]] = []
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._clear()

    def _clear(self) -> None:
        """A retried extraction starts its run folder afresh, marked as ours at once."""
        if self.folder.exists():
            for child in self.folder.iterdir():
                child.unlink()
        _private_dir(self.folder)
        if isinstance(self.folder, Path):
            for owned in (self.folder, self.folder.parent):
                os.chmod(owned, 0o700)  # folders of earlier versions were 0755
        self._write_manifest({"state": EXTRACTING})

    def _write_manifest(self, extra: dict[str, Any]) -> str:
        manifest = {"portal_code": self.portal_code, "run_id": self.run_id,
                    "started_at": self.started_at, "pages": self.pages, **extra}
        target = self.folder / MANIFEST
        _write_private(target, json.dumps(manifest, ensure_ascii=False, indent=1,
                                          default=str).encode(), atomic=True)
        return str(target)

    def on_page(self, endpoint: str, params: dict[str, Any], page_no: int, status: int,
                body: bytes) -> None:
        name = endpoint.strip("/").replace("/", "_").removeprefix("api_")
        file_name = f"{name}-{len(self.pages) + 1:05d}.json.gz"
        _write_private(self.folder / file_name, gzip.compress(body, compresslevel=5))
        self.pages.append({
            "file": file_name, "endpoint": endpoint, "params": dict(params or {}),
            "page": page_no, "http_status": status, "bytes": len(body),
            "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })

    def finish(self, **extra: Any) -> str:
        return self._write_manifest({**extra, "state": COMPLETE})


def read_manifest(location: str) -> dict[str, Any]:
    """A manifest; RawZoneError naming the file when it is missing, cut short or not one."""
    try:
        manifest = json.loads(_path(location).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RawZoneError(f"{location}: raw-zone manifest not found") from exc
    except (ValueError, OSError) as exc:  # cut short, not JSON, not UTF-8, unreadable
        raise RawZoneError(f"{location}: unreadable raw-zone manifest ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("pages"), list) \
            or not isinstance(manifest.get("run_id"), str):
        raise RawZoneError(f"{location}: not a raw-zone manifest (no run_id or pages)")
    return manifest


def is_complete(manifest: Mapping[str, object]) -> bool:
    """Whether its extraction ended (manifests written before `state` existed did)."""
    return manifest.get("state", COMPLETE) == COMPLETE


def read_page(manifest_location: str, entry: dict[str, Any]) -> dict[str, Any]:
    page = _path(manifest_location).parent / entry["file"]
    try:
        return cast(dict[str, Any], json_body.loads(gzip.decompress(page.read_bytes())))
    except (OSError, EOFError, ValueError) as exc:
        raise RawZoneError(f"{page}: unreadable raw-zone page ({exc})") from exc


def page_items(manifest_location: str, endpoint: str) -> list[dict[str, Any]]:
    """The `data` items of every page kept for `endpoint`, in arrival order."""
    manifest = read_manifest(manifest_location)
    items: list[dict[str, Any]] = []
    for entry in manifest["pages"]:
        if entry["endpoint"].rstrip("/").endswith(endpoint):
            items.extend(read_page(manifest_location, entry).get("data") or [])
    return items


def manifests(portal_code: str | None = None, root: str | None = None, *,
              on_unreadable: Callable[[RawZoneError], object] | None = None) -> list[str]:
    """Every complete manifest in the raw zone, oldest run first (by extraction time).
    An unreadable one raises RawZoneError naming it, unless `on_unreadable(error)` is given
    (then it is left out); extractions that never ended are left out."""
    base = _path(root or raw_zone_root())
    found: list[Any] = []  # (extracted_at, seq, location)
    if not base.exists():
        return found
    for portal_dir in sorted(base.iterdir()):
        if portal_code and portal_dir.name != portal_code:
            continue
        if not portal_dir.is_dir():
            continue
        for run_dir in portal_dir.iterdir():
            m = run_dir / MANIFEST
            if not m.exists():
                continue
            try:
                manifest = read_manifest(str(m))
            except RawZoneError as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(exc)
                continue
            if is_complete(manifest):
                found.append((manifest.get("extracted_at", ""), manifest.get("seq", 0), str(m)))
    return [location for *_, location in sorted(found)]


# The raw zone as other sources use it: their own folders under the root (the one-stop
# portals' housekeeping and rebuild only touch folders named by a portal code).
def path_of(location: str) -> Path:
    """A raw-zone location (a local path or an object-storage URL) as a Path-like object."""
    return _path(location)


def source_path(*parts: str, root: str | None = None) -> Path:
    """`parts` joined under the raw zone's root (EGOV_RAW_DIR unless `root`)."""
    return _path(root or raw_zone_root()).joinpath(*parts)


def make_private_dir(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by its owner only (local paths)."""
    _private_dir(folder)


def write_private(target: Path, data: bytes, *, atomic: bool = False) -> None:
    """Write a file readable by its owner only; `atomic`: via a temporary file renamed."""
    _write_private(target, data, atomic=atomic)
