"""
### egov_reports — the day's HTML target report and Biểu 06 files

Scheduled on the mart tables as Airflow Assets: each time `egov_nightly.compute` updates
them, this DAG writes, for each as-of day named by the triggering asset events, under
`EGOV_REPORTS_DIR` (default `$AIRFLOW_HOME/egov_reports`):

* `<as_of>/targets.html` — every target of every plan: clause, threshold, value,
  numerator/denominator, status, outlook and trend chart (self-contained, no external asset);
* `<as_of>/bieu06_<portal>.csv` and `bieu06_<portal>_<period>.xlsx` — Biểu số 06/VPCP/KSTT,
  one sheet per unit, laid out like the form;
* `latest/` and `latest.json` — the newest as-of day (stable links).

Triggered by hand: param `as_of` (default: the newest as-of day in the warehouse).
Reruns replace a day's folder whole. See docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from egov.assets import MART_ASSETS
from egov.settings import dag_number  # cheap; a malformed value falls back to its default


@dag(
    dag_id="egov_reports",
    schedule=MART_ASSETS,
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "egov-data",
        "retries": dag_number("EGOV_TASK_RETRIES"),
        "retry_delay": timedelta(seconds=60),
        "execution_timeout": timedelta(minutes=dag_number("EGOV_TASK_TIMEOUT_MINUTES")),
    },
    doc_md=__doc__,
    tags=["egov", "cchc", "reports"],
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="As-of day (YYYY-MM-DD) when triggered by hand; default:"
                                   " the days of the triggering asset events, else the newest"),
    },
)
def egov_reports():
    @task(inlets=MART_ASSETS)
    def publish() -> list[dict]:
        """HTML report and Biểu 06 files of each as-of day the marts were computed for."""
        from egov.serve.reports.publish import days_to_publish, publish_days

        ctx = get_current_context()
        days = days_to_publish(ctx.get("triggering_asset_events") or {},
                               (ctx.get("params") or {}).get("as_of"))
        return publish_days(days)

    publish()


egov_reports()
