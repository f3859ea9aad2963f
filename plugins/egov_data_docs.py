"""Airflow UI plugin: serves the GX Data Docs of the egov pipeline and links them in the menu.

- FastAPI app mounted on the API server at `/egov-data-docs/` (files of
  `$EGOV_DATA_DOCS_DIR/gx/uncommitted/data_docs/local_site`, default
  `$AIRFLOW_HOME/egov_data_docs/...`), for signed-in Airflow users only (the UI's JWT cookie);
- every response carries a Content-Security-Policy with `sandbox` and no script source: no
  script runs in the docs, whatever a portal sent (values are also HTML-escaped when the docs
  are built: include/egov/quality/docs_site.py); pages are rewritten to the vendored styles, so
  they render without internet; odd paths (NUL, `..`, encoded slashes, long names) are 404;
- an external view "Data quality (GX Data Docs)" in the Browse menu, rendered in the UI.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from egov.serve.pages import web

URL_PREFIX = "/egov-data-docs"
SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"


def docs_root() -> Path:
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return Path(os.environ.get("EGOV_DATA_DOCS_DIR") or home / "egov_data_docs")


def site_dir() -> Path:
    return docs_root() / SITE


signed_in = web.signed_in_dependency()


def _page(target: Path, site: Path) -> HTMLResponse:
    from egov.quality.docs_site import offline_html, page_root

    text = target.read_text(encoding="utf-8", errors="replace")
    return HTMLResponse(offline_html(text, page_root(site, target)))  # docs built before


def create_app() -> FastAPI:
    app = FastAPI(title="egov Data Docs", dependencies=[Depends(signed_in)],
                  docs_url=None, redoc_url=None, openapi_url=None)
    web.install_common(app, web.DOCS_CSP)

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("index.html")

    @app.get("/{path:path}", include_in_schema=False)
    def serve(path: str):
        rel = web.safe_relative(path)
        if rel is None:
            raise HTTPException(status_code=404)
        site = site_dir()
        target = web.file_inside(site, rel)
        if target is not None:
            if target.suffix == ".html":
                return _page(target, site.resolve())
            return FileResponse(target)
        if rel.as_posix() == "index.html":
            return HTMLResponse(
                "<html lang='vi'><body><h1>Chưa có Data Docs</h1><p>Bước nạp (load) của "
                "egov_nightly dựng chúng trong <code>"
                f"{html.escape(str(site))}</code> (EGOV_DATA_DOCS_DIR).</p></body></html>")
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
