"""Airflow UI plugin: serves the GX Data Docs of the egov pipeline and links them in the menu.

- FastAPI app mounted on the API server at `/egov-data-docs/` (files of
  `$EGOV_DATA_DOCS_DIR/gx/uncommitted/data_docs/local_site`, default
  `$AIRFLOW_HOME/egov_data_docs/...`), for signed-in Airflow users only (the UI's JWT cookie);
- an external view "Data quality (GX Data Docs)" in the Browse menu, rendered in the UI.

The Data Docs hold rule names, counts and examples of non-personal field values only.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

URL_PREFIX = "/egov-data-docs"
SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"


def docs_root() -> Path:
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return Path(os.environ.get("EGOV_DATA_DOCS_DIR") or home / "egov_data_docs")


def site_dir() -> Path:
    return docs_root() / SITE


def _signed_in():
    """The API server's own check that the caller is a signed-in Airflow user."""
    if os.environ.get("EGOV_DATA_DOCS_AUTH", "true").strip().lower() in ("0", "false", "no"):
        return lambda: None
    from airflow.api_fastapi.core_api.security import requires_authenticated

    return requires_authenticated()


signed_in = _signed_in()


def create_app() -> FastAPI:
    app = FastAPI(title="egov Data Docs", dependencies=[Depends(signed_in)],
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("index.html")

    @app.get("/{path:path}", include_in_schema=False)
    def serve(path: str):
        site = site_dir().resolve()
        target = (site / (path or "index.html")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if site not in target.parents and target != site:
            raise HTTPException(status_code=404)
        if target.is_file():
            return FileResponse(target)
        if target.name == "index.html" and target.parent == site:
            return HTMLResponse(
                "<html><body><h1>No Data Docs yet</h1><p>The egov_nightly load step builds "
                f"them under <code>{html.escape(str(site))}</code> "
                "(EGOV_DATA_DOCS_DIR).</p></body></html>")
        raise HTTPException(status_code=404)

    return app


app = create_app()


class EgovDataDocsPlugin(AirflowPlugin):
    name = "egov_data_docs"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "egov GX Data Docs"}]
    external_views = [{
        "name": "Data quality (GX Data Docs)",
        "href": URL_PREFIX.lstrip("/") + "/index.html",
        "destination": "nav",
        "category": "browse",
        "url_route": "egov-data-docs",
    }]
