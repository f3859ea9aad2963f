"""
### egov_dvcqg — the national portal's service-quality index (Decision 766)

Every day at 02:00 Asia/Ho_Chi_Minh, for every province of the provinces file
(`include/config/dvcqg.yaml` or `EGOV_DVCQG_FILE`), reads the index's six groups from the
national public-service portal (docs/dvcqg.md):

1. **plan** — check the settings and the provinces file, migrate the warehouse, and list
   the periods to read as of the run's day `A` (the local day before the logical date): the
   most recent closed month, the running quarter and year (provisional), every month,
   quarter and year closed in the last `EGOV_DVCQG_FINAL_DAYS` (45) days, and any period
   now final whose complete reads were all provisional;
2. **read** (one mapped instance per province, one at a time: politeness) — each period's
   six groups, every response kept in the raw zone with its request and SHA-256, parsed,
   scores checked, loaded: a complete read becomes the current figures (`dvcqg_score`,
   `dvcqg_metric`), a partial one is recorded in `dvcqg_read` and replaces nothing;
3. **publish** — updates the index's tables as Assets (for compute and reports);
4. **reconcile** — the crosswalk of departments to one-stop units (the operator's
   `include/config/dvcqg_crosswalk.yaml`, proposals for the rest) and the one-stop figures
   beside the index's (`mart_source_reconciliation`, the running month's preview);
5. **finish** — fails the run naming every read that failed (the next run tries again).

Params: `periods` (e.g. `["2026-08", "2026-Q3", "2026"]`: read exactly these, a backfill),
`provinces` (a subset of province codes), `as_of` (override the day).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, cast

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from egov.assets import DVCQG_ASSETS, RECONCILIATION_ASSETS
from egov.settings import dag_number  # cheap; a malformed value falls back to its default

LOCAL_TZ = "Asia/Ho_Chi_Minh"
READ_POOL = os.environ.get("EGOV_DVCQG_POOL", "default_pool")


@dag(
    dag_id="egov_dvcqg",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz=LOCAL_TZ),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "egov-data",
        "retries": dag_number("EGOV_TASK_RETRIES"),
        "retry_delay": timedelta(seconds=dag_number("EGOV_RETRY_DELAY_SECONDS")),
        "execution_timeout": timedelta(minutes=dag_number("EGOV_TASK_TIMEOUT_MINUTES")),
    },
    doc_md=__doc__,
    tags=["egov", "cchc", "dvcqg"],
    params={
        "periods": Param(None, type=["null", "array"], items={"type": "string"},
                         description="Periods to read (2026-08, 2026-Q3, 2026); default: "
                                     "those of the as-of day"),
        "provinces": Param(None, type=["null", "array"], items={"type": "string"},
                           description="Province codes; default: every configured province"),
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="As-of day (YYYY-MM-DD); default: the local day before the"
                                   " logical date"),
    },
)
def egov_dvcqg():
    @task(retries=0)
    def plan() -> list[dict]:
        from egov.pipeline.dvcqg import plan_jobs

        ctx = get_current_context()
        return plan_jobs(params=dict(ctx["params"]), logical_date=ctx.get("logical_date"))

    @task(map_index_template="{{ province_label }}", max_active_tis_per_dagrun=1,
          pool=READ_POOL)
    def read(job: dict) -> list[dict]:
        """One province's periods, one request at a time (failures are recorded reads)."""
        from egov.pipeline.dvcqg import read_province

        ctx = get_current_context()
        cast(dict[str, Any], ctx)["province_label"] = job["province"]["code"]
        return read_province(job["province"], job["periods"], as_of=job["as_of"],
                             run_id=ctx["run_id"])

    @task(trigger_rule="all_done", outlets=DVCQG_ASSETS)
    def publish(results: list[list[dict]] | None) -> list[dict]:
        """Asset events when a complete read became current (else skipped: no event)."""
        from airflow.sdk.exceptions import AirflowSkipException

        ctx = get_current_context()
        loaded = [r for rs in results or [] for r in rs or [] if r["complete"] and r["current"]]
        if not loaded:
            raise AirflowSkipException("no complete read became current in this run")
        extra: dict[str, Any] = {
            "reads": [{"province": r["province"], "period": r["period"]} for r in loaded]}
        for asset in DVCQG_ASSETS:
            ctx["outlet_events"][asset].extra = extra
        return loaded

    @task(trigger_rule="all_done", outlets=RECONCILIATION_ASSETS)
    def reconcile(jobs: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The crosswalk (include/config/dvcqg_crosswalk.yaml) and the one-stop figures
        beside the index's (mart_source_reconciliation, the running month's preview)."""
        from egov.periods import as_of_for_logical_date
        from egov.pipeline.dvcqg import reconcile_step

        ctx = get_current_context()
        if jobs:
            as_of = jobs[0]["as_of"]
        elif ctx["params"].get("as_of"):
            as_of = ctx["params"]["as_of"]
        else:
            as_of = as_of_for_logical_date(ctx["logical_date"]).isoformat()
        counts = reconcile_step(as_of=as_of, run_id=ctx["run_id"])
        for asset in RECONCILIATION_ASSETS:
            ctx["outlet_events"][asset].extra = dict(counts)
        return counts

    @task(trigger_rule="all_done", retries=0)
    def finish(results: list[list[dict]] | None) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        flat = [r for rs in results or [] for r in rs or []]
        lines = [f"{r['province']} {r['period']}: "
                 + ("complete" if r["complete"] else f"FAILED: {r['reason']}")
                 + (f" ({r['score_warnings']} score warnings)" if r["score_warnings"] else "")
                 for r in flat]
        text = "\n".join(lines) or "nothing read"
        print(text)
        failed = [r for r in flat if not r["complete"]]
        if failed or results is None:
            raise AirflowFailException(f"{len(failed)} of {len(flat)} reads failed "
                                       f"(dvcqg_read.reason):\n{text}")
        return text

    jobs = plan()
    results = read.expand(job=jobs)
    published = publish(results)
    reconciled = reconcile(jobs)
    published >> reconciled
    finish(results)


egov_dvcqg()
