"""The latest reports the report step writes (HTML, CSV, XLSX), for the Targets page's links."""

from __future__ import annotations

import os
from pathlib import Path

KINDS = {"html": "Báo cáo HTML", "csv": "Biểu 06 (CSV)", "xlsx": "Biểu 06 (Excel)"}


def reports_dir() -> Path:
    from egov.warehouse.db import airflow_home

    return Path(os.environ.get("EGOV_REPORTS_DIR") or airflow_home() / "egov_reports")


def _newest(kind: str) -> Path | None:
    root = reports_dir()
    if not root.is_dir():
        return None
    files = [p for p in root.rglob(f"*.{kind}") if p.is_file() and not p.is_symlink()]
    return max(files, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def latest_reports() -> list[dict]:
    out = []
    for kind, label in KINDS.items():
        path = _newest(kind)
        if path is not None:
            out.append({"kind": kind, "label": label, "name": path.name})
    return out


def report_path(kind: str) -> Path | None:
    """The newest report of `kind` (html, csv, xlsx), inside the reports folder."""
    if kind not in KINDS:
        return None
    path = _newest(kind)
    if path is None:
        return None
    root = reports_dir().resolve()
    resolved = path.resolve()
    return resolved if root in resolved.parents else None
