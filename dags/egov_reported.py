"""
### egov_reported — figures reported by units (docs/contracts/reported-figures.md)

Every hour, from the folder `EGOV_REPORTED_DIR/inbox/` (default
`$AIRFLOW_HOME/egov_reported`):

1. **take** — each new file once (by content hash), read as hostile (size cap, .xlsx/.csv
   only, formulas never evaluated, zip bombs and macros refused); rows validated by a Great
   Expectations suite; accepted rows stored as revisions (`fct_reported_figure`); a receipt
   per file in `receipts/` (every row accepted or rejected, with the rule, in Vietnamese);
2. **evaluate** — the plans the new figures belong to, as of the local day before the
   logical date (`mart_target_evaluation`; updates the mart Assets, so egov_reports follows;
   skipped when no row was accepted);
3. **remind** — units past a target's `report_due` without a figure: notified once through
   the egov alert notifier (webhook, e-mail; silences respected, docs/alerts.md).

`airflow dags test egov_reported <T>` does it for as-of day `T − 1`; param `as_of` overrides.
The nightly run evaluates reported figures too, so either order gives the same marts.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from egov.assets import MART_ASSETS
from egov.settings import dag_number  # cheap; a malformed value falls back to its default


def _as_of() -> str:
    from egov.pipeline.reported.step import as_of_day

    ctx = get_current_context()
    return as_of_day(dict(ctx["params"]), ctx.get("logical_date")).isoformat()


@dag(
    dag_id="egov_reported",
    schedule="0 * * * *",
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
    tags=["egov", "cchc", "reported"],
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="As-of day (YYYY-MM-DD); default: the local day before"
                                   " the logical date"),
    },
)
def egov_reported():
    @task(retries=0)
    def take() -> dict:
        """Take every new file of the inbox (each once), write the receipts."""
        from egov.pipeline.reported.step import take as run

        return run(run_id=get_current_context()["run_id"])

    @task(outlets=MART_ASSETS)
    def evaluate(taken: dict) -> dict:
        """Evaluate the plans whose figures changed, as of the run's day."""
        from datetime import date

        from egov.pipeline.reported.step import evaluate as run

        if not taken["plans"]:  # skipped: no asset event, so no report run for nothing
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new accepted figure")
        ctx = get_current_context()
        result = run(taken["plans"], as_of=date.fromisoformat(_as_of()), run_id=ctx["run_id"])
        for asset in MART_ASSETS:  # egov_reports reads the as-of day from the event
            ctx["outlet_events"][asset].extra = {"as_of": result["as_of"],
                                                 "portals": result["portals"]}
        return result

    @task(trigger_rule="all_done")
    def remind() -> dict:
        """Units past report_due without a figure: notified once (silences respected)."""
        from datetime import date

        from egov.pipeline.reported.step import remind as run

        ctx = get_current_context()
        return run(as_of=date.fromisoformat(_as_of()), run_id=ctx["run_id"], context=ctx)

    evaluated = evaluate(take())
    evaluated >> remind()


egov_reported()
