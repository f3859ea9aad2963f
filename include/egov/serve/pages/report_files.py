"""The latest reports written by the report step (egov.serve.reports.publish: `latest.json` and
the `latest/` folder under EGOV_REPORTS_DIR), for the Targets page's links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

KINDS = {".html": "Báo cáo chỉ tiêu (HTML)", ".csv": "Biểu 06 (CSV)", ".xlsx": "Biểu 06 (Excel)"}


def _latest() -> tuple[Path, dict[str, Any]] | None:
    from egov.serve.reports.publish import LATEST_DIR, REPORT_NAME, read_latest, reports_root

    root = reports_root()
    pointer = read_latest(root)
    if not pointer:
        return None
    names = [REPORT_NAME, *[str(f) for f in pointer.get("files") or []]]
    return root / LATEST_DIR, {"as_of": pointer.get("as_of"), "names": names}


def latest_reports() -> list[dict[str, Any]]:
    """[{name, label, kind}] of the newest as-of day's reports, the HTML report first."""
    found = _latest()
    if not found:
        return []
    folder, info = found
    out = []
    for name in info["names"]:
        suffix = Path(name).suffix.lower()
        if suffix in KINDS and (folder / name).is_file():
            out.append({"name": name, "label": KINDS[suffix], "kind": suffix[1:],
                        "as_of": info["as_of"]})
    return out


def report_path(name: str) -> Path | None:
    """The file `name` of the latest reports, only if the report step listed it."""
    found = _latest()
    if not found or "/" in name or "\\" in name or name.startswith("."):
        return None
    folder, info = found
    if name not in info["names"]:
        return None
    path = (folder / name).resolve()
    return path if path.is_file() and folder.resolve() in path.parents else None
