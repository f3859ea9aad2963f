"""Airflow UI plugin: the Targets page ("Chỉ tiêu CCHC") of the egov pipeline.

A FastAPI app mounted by the API server at `/egov-targets/` (include/egov/ui/targets_page.py),
for signed-in Airflow users only, and an entry "Chỉ tiêu CCHC" in the UI's navigation that
shows it inside the UI. It reads the warehouse (connection `egov_warehouse`): mart tables,
the unit tree and the run accounting. Docs: docs/targets-page.md.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from egov.pipeline.reported.intake import take_upload
from egov.serve.pages import web
from egov.serve.pages.targets_page import URL_PREFIX, create_app

signed_in = web.signed_in_dependency()
app = create_app(dependencies=[signed_in], editor=web.editor_dependency(),
                 take_upload=take_upload)


class EgovTargetsPlugin(AirflowPlugin):
    name = "egov_targets"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "egov Targets page"}]
    external_views = [{
        "name": "Chỉ tiêu CCHC",
        "href": URL_PREFIX.lstrip("/") + "/",
        "destination": "nav",
        "url_route": "egov-targets",
    }]
