"""Write a day's reports: the HTML target report and the Biểu 06 CSV/XLSX files.

    python -m egov.serve.reports.publish [--as-of YYYY-MM-DD] [--url SQLALCHEMY_URL]

Layout under `EGOV_REPORTS_DIR` (default `$AIRFLOW_HOME/egov_reports`):

    <as_of>/targets.html, bieu06_<portal>.csv, bieu06_<portal>_<YYYY-Qn>.xlsx,
            bieu06_<portal>_<YYYY>.xlsx, manifest.json
    latest/   a copy of the newest as-of day's folder (stable links)
    latest.json  {"as_of", "dir", "report", "files", "written_at"}

A day's folder is written aside and swapped in whole, so a rerun replaces it and a reader
never sees half a folder. `latest` only moves forward: rewriting an older day (a backfill)
leaves it on the newest day.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

REPORT_NAME = "targets.html"
LATEST_DIR, LATEST_JSON = "latest", "latest.json"


def reports_root() -> Path:
    from egov.settings import airflow_home

    return Path(os.environ.get("EGOV_REPORTS_DIR") or airflow_home() / "egov_reports")


def _portal_names() -> dict[str, str]:
    try:
        from egov.settings import load_portals

        return {p.code: p.name for p in load_portals()}
    except Exception:  # noqa: BLE001 - names are decoration; the files stand without them
        return {}


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` (a folder) by `tmp` with two renames."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_latest(root: Path | None = None) -> dict[str, Any] | None:
    path = (root or reports_root()) / LATEST_JSON
    try:
        return cast("dict[str, Any]", json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def publish(as_of: date, *, engine: Engine | None = None, root: Path | None = None,
            generated_at: datetime | None = None) -> dict[str, Any]:
    """Write the reports of `as_of`; return what was written."""
    from egov.serve.reports.form06_export import export_form06
    from egov.serve.reports.html_report import render_report
    from egov.warehouse.db import make_engine

    root = root or reports_root()
    root.mkdir(parents=True, exist_ok=True)
    own = engine is None
    engine = engine or make_engine()
    generated_at = generated_at or datetime.now().replace(microsecond=0)
    tmp = root / f".{as_of.isoformat()}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        with engine.connect() as conn:
            exports = export_form06(conn, as_of, tmp, _portal_names())
            files = [p.name for p in exports]
            html = render_report(conn, as_of, files=files, generated_at=generated_at)
        (tmp / REPORT_NAME).write_text(html, encoding="utf-8")
        manifest = {"as_of": as_of.isoformat(), "report": REPORT_NAME, "files": files,
                    "written_at": generated_at.isoformat()}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap_in(tmp, root / as_of.isoformat())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if own:
            engine.dispose()
    latest = read_latest(root)
    moved = latest is None or latest.get("as_of", "") <= as_of.isoformat()
    if moved:
        copy = root / f".{LATEST_DIR}.tmp-{uuid.uuid4().hex[:8]}"
        shutil.copytree(root / as_of.isoformat(), copy)
        _swap_in(copy, root / LATEST_DIR)
        pointer = {**manifest, "dir": as_of.isoformat(),
                   "report": f"{as_of.isoformat()}/{REPORT_NAME}"}
        part = root / f".{LATEST_JSON}.tmp"
        part.write_text(json.dumps(pointer, indent=2), encoding="utf-8")
        os.replace(part, root / LATEST_JSON)
    log.info("reports as of %s in %s: %s%s", as_of, root / as_of.isoformat(),
             ", ".join([REPORT_NAME, *files]), " (latest)" if moved else "")
    return {"as_of": as_of.isoformat(), "dir": str(root / as_of.isoformat()),
            "files": [REPORT_NAME, *files], "latest": moved}


def latest_as_of(engine: Engine) -> date | None:
    from sqlalchemy import func, select

    from egov.warehouse.schema import mart_target_evaluation as t

    with engine.connect() as conn:
        value = conn.execute(select(func.max(t.c.as_of_date))).scalar()
    return None if value is None else (value if isinstance(value, date)
                                       else date.fromisoformat(str(value)))


def days_to_publish(triggering_events: Mapping[Any, Iterable[Any]], as_of_param: object = None
                    ) -> list[date]:
    """The as-of days to write: the `as_of` param, else the days named in the `extra` of the
    triggering asset events (every mart event of egov_nightly carries one), else none (then
    the newest day in the warehouse)."""
    if as_of_param:
        return [date.fromisoformat(str(as_of_param))]
    days = set()
    for events in dict(triggering_events).values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            if extra.get("as_of"):
                days.add(date.fromisoformat(str(extra["as_of"])))
    return sorted(days)


def publish_days(days: Iterable[date] | None, *, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Reports of each day of `days` (default: the newest as-of day the warehouse holds)."""
    from egov.warehouse.db import make_engine

    own = engine is None
    engine = engine or make_engine()
    try:
        days = sorted(set(days or ()))
        if not days:
            newest = latest_as_of(engine)
            if newest is None:
                raise RuntimeError("the warehouse holds no target evaluations yet")
            days = [newest]
        return [publish(day, engine=engine) for day in days]
    finally:
        if own:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    from egov.warehouse.cli_args import existing_warehouse

    parser = argparse.ArgumentParser(description="Write the HTML report and Biểu 06 files.")
    parser.add_argument("--as-of", type=date.fromisoformat, action="append",
                        help="as-of day (repeat; default: the newest in the warehouse)")
    parser.add_argument("--url", type=existing_warehouse,
                        help="warehouse SQLAlchemy URL (default: egov_warehouse)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.url:
        os.environ["AIRFLOW_CONN_EGOV_WAREHOUSE"] = args.url
    for result in publish_days(args.as_of or []):
        print(f"{result['as_of']}: {result['dir']} ({len(result['files'])} files)"
              + (" — latest" if result["latest"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
