"""The inbox of reported files: its folders and the file operations on them (read an entry
never through a link and at most the size cap, move it, write a private file, a receipt).

Layout under the inbox folder (folders 0700, files 0600):
- `inbox/`    where filled files arrive; names starting with "." are in transfer, skipped;
- `receipts/` `<file name>.receipt.csv` per file (`<file name>.<hash>.receipt.csv` when a
  receipt of that name exists already);
- `taken/`    every file read, as `<hash>_<file name>` (kept: the evidence of what arrived);
- `refused/`  files refused before they were read (not a regular file, too large, a kind
  not accepted), as `<time>_<file name>`.
Only entries of `inbox/` are read, never through a symbolic link; nothing outside these
folders is touched.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from egov.cells import text_cell as cell_out
from egov.sources.reported.files import FileRefused, check_size, max_bytes

CONN_ID = "egov_reported_inbox"
FOLDERS = ("inbox", "receipts", "taken", "refused")
RECEIPT_HEADER = ("row", "status", "rule", "message")


def setting_dir() -> Path:
    """EGOV_REPORTED_DIR, default $AIRFLOW_HOME/egov_reported."""
    from egov.settings import airflow_home

    env = os.environ.get("EGOV_REPORTED_DIR", "").strip()
    return Path(env) if env else airflow_home() / "egov_reported"


def _path_of_extra(extra: Any) -> Path | None:
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError:
            return None
    path = extra.get("path") if isinstance(extra, dict) else None
    return Path(path) if isinstance(path, str) and path.strip() else None


def connection_dir(conn_id: str = CONN_ID) -> Path | None:
    """The `path` of the extra of connection `conn_id` (type fs, like Airflow's FSHook), or
    None when the connection is not defined or names no path."""
    raw = os.environ.get("AIRFLOW_CONN_" + conn_id.upper())
    if raw:
        if raw.lstrip().startswith("{"):
            try:
                value = json.loads(raw)
            except ValueError:
                return None
            return _path_of_extra(value.get("extra") if isinstance(value, dict) else None)
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(raw).query)
        return _path_of_extra({"path": query["path"][0]} if query.get("path") else {})
    try:  # a connection kept in the metadata DB or a secrets backend
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined anywhere: the setting
        return None
    return _path_of_extra(conn.extra_dejson)


def reported_dir(conn_id: str = CONN_ID) -> Path:
    """The inbox folder: the connection `egov_reported_inbox` (extra `path`), else
    EGOV_REPORTED_DIR, else $AIRFLOW_HOME/egov_reported."""
    return connection_dir(conn_id) or setting_dir()


def write_private(path: Path, data: bytes) -> None:
    """Write `path` readable by its owner only, never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def receipt_text(lines: Iterable[tuple[Any, ...]]) -> bytes:
    """The receipt CSV (UTF-8 with BOM, so spreadsheets read Vietnamese right); no cell can
    be a live formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR or LF in a value
    writer.writerow(RECEIPT_HEADER)  # gets the value quoted
    for line in lines:
        writer.writerow([cell_out(v) for v in line])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class InboxClient:
    """The folders of the inbox under `base` (created owner-only on first use)."""

    def __init__(self, base: Path | str | None = None) -> None:
        self.base = Path(base) if base else reported_dir()

    def folders(self) -> dict[str, Path]:
        out = {name: self.base / name for name in FOLDERS}
        for path in (self.base, *out.values()):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(path, 0o700)
        return out

    def entries(self) -> list[os.DirEntry[str]]:
        """The entries of `inbox/` by name, those in transfer (".name") left out."""
        inbox = self.folders()["inbox"]
        return sorted((e for e in os.scandir(inbox) if not e.name.startswith(".")),
                      key=lambda e: e.name)

    def receipt_path(self, name: str, file_hash: str | None, when: datetime) -> Path:
        receipts = self.base / "receipts"
        path = receipts / f"{name}.receipt.csv"
        if path.exists() or path.is_symlink():
            tag = file_hash[:12] if file_hash else when.strftime("%Y%m%dT%H%M%S")
            path = receipts / f"{name}.{tag}.receipt.csv"
        return path

    def write_receipt(self, name: str, file_hash: str | None, when: datetime,
                      lines: Iterable[tuple[Any, ...]]) -> Path:
        path = self.receipt_path(name, file_hash, when)
        write_private(path, receipt_text(lines))
        return path


def move(source: str, target: Path) -> None:
    """Move an inbox entry (a link moves as a link, the file it names untouched);
    owner-only."""
    os.replace(source, target)
    info = target.lstat()
    if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:  # a link's file is left as it is
        os.chmod(target, 0o600)


def read_entry(entry: os.DirEntry[str]) -> bytes:
    """The bytes of a regular inbox file, never through a link, at most the size cap."""
    fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("Không phải tệp thường: không đọc")
        if info.st_nlink > 1:  # a hard link: the same file lives elsewhere too
            raise FileRefused("Tệp có liên kết cứng (hard link) tới nơi khác: không đọc")
        check_size(info.st_size)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes() + 1)
        check_size(len(data))
        return data
    finally:
        os.close(fd)
