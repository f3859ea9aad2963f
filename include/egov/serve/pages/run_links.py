"""Links from the Targets page into the Airflow UI: a DAG run and the failed task of a portal
(read from Airflow's metadata database, best effort), and where the demo's task logs are."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

log = logging.getLogger(__name__)

DAG_ID = "egov_nightly"


def run_url(run_id: str, dag_id: str = DAG_ID) -> str:
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def task_url(run_id: str, task_id: str, map_index: int | None, dag_id: str = DAG_ID) -> str:
    url = f"{run_url(run_id, dag_id)}/tasks/{quote(task_id, safe='')}"
    return url if map_index is None or map_index < 0 else f"{url}/mapped/{map_index}"


def failed_tasks(run_ids: list[str], dag_id: str = DAG_ID) -> dict[tuple[str, str], dict[str, Any]]:
    """{(run_id, portal_code): {"task_id", "map_index", "url"}} of the failed portal tasks
    (`portal.extract` / `portal.load`, whose map index is named after the portal), from
    Airflow's metadata database; {} when it cannot be read (the page still shows the run)."""
    if not run_ids:
        return {}
    try:
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            rows = session.execute(
                select(TI.run_id, TI.task_id, TI.map_index, cast("ColumnElement[str | None]", TI.rendered_map_index))
                .where(TI.dag_id == dag_id, TI.run_id.in_(run_ids),
                       TI.task_id.in_(("portal.extract", "portal.load")),
                       TI.state == "failed")
                .order_by(TI.task_id)).all()
    except Exception:  # noqa: BLE001 - a link is a nicety; the stored error is what matters
        log.warning("could not read the failed tasks from Airflow's metadata database",
                    exc_info=True)
        return {}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, task_id, map_index, label in rows:
        portal = (label or "").split(" ", 1)[0]
        if portal and (run_id, portal) not in out:  # extract before load: the first failure
            out[(run_id, portal)] = {"task_id": task_id, "map_index": map_index,
                                     "url": task_url(run_id, task_id, map_index, dag_id)}
    return out


def demo_log() -> str | None:
    """The log file of `airflow dags test` runs (make demo), whose task logs the UI cannot
    serve: `EGOV_DEMO_LOG`, set by `make ui` when the file exists."""
    path = os.environ.get("EGOV_DEMO_LOG", "").strip()
    return path if path and Path(path).is_file() else None


def portal_docs_pages() -> dict[str, str]:
    """{portal_code: path under /egov-data-docs/} of each portal's newest record check page
    (`validations/<portal>/dossier_versions/<run>/<time>/...html`)."""
    try:
        from egov.quality.data_docs import site_dir

        base = site_dir() / "validations"
        if not base.is_dir():
            return {}
        out: dict[str, tuple[str, str]] = {}
        for portal_dir in base.iterdir():
            suite = portal_dir / "dossier_versions"
            if not suite.is_dir():
                continue
            for page in suite.glob("*/*/*.html"):
                when = page.parent.name
                if portal_dir.name not in out or when > out[portal_dir.name][0]:
                    out[portal_dir.name] = (when, page.relative_to(base.parent).as_posix())
        return {portal: quote(rel) for portal, (_when, rel) in out.items()}
    except OSError:
        log.warning("could not list the Data Docs pages", exc_info=True)
        return {}
