"""
### egov_nightly — are the provinces on track for their reform-plan targets?

Every night at 01:00 Asia/Ho_Chi_Minh, for every portal in the portals file
(`include/config/portals.yaml` or `EGOV_PORTALS_FILE`):

1. **prepare** — check the plan files and settings, migrate the warehouse (Alembic);
2. **portal.extract** (one mapped instance per portal) — units, catalogue and every record
   change since the portal's watermark, each page kept in the raw zone;
3. **portal.load** — the Great Expectations contract suite splits record versions into
   loaded (`fct_dossier`) and quarantined (`quarantine_record`, with the rule broken);
   the watermark moves only with the committed data;
4. **compute** — indicator snapshots (`mart_indicator_snapshot`) for every unit of the
   portals loaded, then every plan target (`mart_target_evaluation`, with the outlook) and
   Biểu 06 (`mart_form06`); it updates these tables as Assets, which triggers
   **egov_reports** (HTML report, Biểu 06 CSV/XLSX);
5. **finish** — prints the target report; fails the run naming any portal that failed;
6. **housekeeping** — retention of the raw zone and of quarantine payloads;
7. **alerts** — a message (webhook, e-mail) when a target turns at risk, missed or out of
   reach, a portal fails or its data grows old; a Deadline Alert when the run is not done by
   `EGOV_NIGHTLY_DEADLINE_HOUR` local time (docs/alerts.md).

Data quality: every validation is in `dq_validation_result` and in the GX Data Docs
(Browse → Data quality); rejected versions in `quarantine_record` with the rule broken.

A run with logical date `T` reports as of the local day before `T`. Params: `as_of`
(override that day), `portals` (a subset of portal codes), `full_refresh` (re-read every
record since `EGOV_HISTORY_START`), `recompute_only` (call no portal: recompute the marts of
the as-of day from the warehouse, e.g. in a backfill). Reruns replace the day's mart rows;
see docs/operations.md and docs/runbook.md.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import (  # type: ignore[attr-defined]  # lazy exports its __init__.pyi lacks
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    Param,
    dag,
    get_current_context,
    task,
    task_group,
)

from egov.assets import MART_ASSETS

# Cheap to import. A malformed value falls back to its default here, so the DAG still
# imports and runs, and `prepare` fails naming the variable (docs/operations.md).
from egov.settings import dag_number

LOCAL_TZ = "Asia/Ho_Chi_Minh"
MAX_PARALLEL_EXTRACTS = dag_number("EGOV_MAX_PARALLEL_EXTRACTS")
EXTRACT_POOL = os.environ.get("EGOV_EXTRACT_POOL", "default_pool")  # politeness: docs/deployment.md
# No task may hold the run: the portal-facing one least of all.
EXTRACT_TIMEOUT = timedelta(minutes=dag_number("EGOV_EXTRACT_TIMEOUT_MINUTES"))
SCHEDULE_HOUR = 1  # the nightly run's logical date is 01:00 local
DEADLINE_HOUR = dag_number("EGOV_NIGHTLY_DEADLINE_HOUR")  # docs/alerts.md


def _queue(variable: str) -> dict:
    """Celery queue named by a setting (docs/deployment.md); unset: Airflow's default queue."""
    name = os.environ.get(variable, "").strip()
    return {"queue": name} if name else {}


# Network-bound extraction and database-bound warehouse work scale apart on their own queues.
EXTRACT_QUEUE = _queue("EGOV_EXTRACT_QUEUE")
WAREHOUSE_QUEUE = _queue("EGOV_WAREHOUSE_QUEUE")

default_args = {
    "owner": "egov-data",
    "retries": dag_number("EGOV_TASK_RETRIES"),
    "retry_delay": timedelta(seconds=dag_number("EGOV_RETRY_DELAY_SECONDS")),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(minutes=dag_number("EGOV_TASK_TIMEOUT_MINUTES")),
    **WAREHOUSE_QUEUE,  # every task but portal.extract
}


def _portal_step(step: str, job: dict) -> dict:
    """Run a portal step; failures are noted for the run's end, and those that retrying
    cannot mend (wrong credentials, the quality gate) fail the task at once."""
    from egov.pipeline import NotRetryable, job_label, run_portal_step

    ctx = get_current_context()
    ctx["job_label"] = job_label(job)  # type: ignore[typeddict-unknown-key]  # for map_index_template
    try:
        return run_portal_step(step, job, run_id=ctx["run_id"])
    except NotRetryable as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc


def _deadline() -> DeadlineAlert | None:
    """Alert when the run is not done by DEADLINE_HOUR local (docs/alerts.md). Left out under
    `airflow dags test`: Airflow 3.3.2's DAG.test() keeps the alert's serialized form where
    the finished run looks up its database id, and fails that run; a test run has no
    scheduler to watch a deadline anyway."""
    import sys

    if sys.argv[1:3] == ["dags", "test"]:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(hours=max(DEADLINE_HOUR - SCHEDULE_HOUR, 1)),
        callback=AsyncCallback("egov.serve.alerts.notifier.EgovAlertNotifier",
                               kwargs={"event": "deadline", "deadline_hour": DEADLINE_HOUR}),
        name="egov_nightly not finished by the local deadline hour",
    )


@dag(
    dag_id="egov_nightly",
    schedule=f"0 {SCHEDULE_HOUR} * * *",
    start_date=pendulum.datetime(2021, 1, 1, tz=LOCAL_TZ),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    doc_md=__doc__,
    tags=["egov", "cchc", "nightly"],
    deadline=_deadline(),
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="As-of day (YYYY-MM-DD); default: the local day before the logical date"),
        "portals": Param(None, type=["null", "array"], items={"type": "string"},
                         description="Portal codes to run; default: every configured portal"),
        "full_refresh": Param(False, type="boolean",
                              description="Re-read every record since EGOV_HISTORY_START"),
        "recompute_only": Param(False, type="boolean",
                                description="Call no portal: recompute the marts of the as-of"
                                            " day from the warehouse (backfills)"),
    },
)
def egov_nightly():
    @task(retries=0)
    def prepare() -> list[dict]:
        """One job per (portal, extraction window)."""
        from egov.pipeline import prepare as run

        ctx = get_current_context()
        return run(params=dict(ctx["params"]), logical_date=ctx.get("logical_date"))

    @task(map_index_template="{{ job_label }}", max_active_tis_per_dagrun=MAX_PARALLEL_EXTRACTS,
          pool=EXTRACT_POOL, execution_timeout=EXTRACT_TIMEOUT, **EXTRACT_QUEUE)
    def extract(job: dict) -> dict:
        return _portal_step("extract", job)

    @task(map_index_template="{{ job_label }}")
    def load(extracted: dict) -> dict:
        return _portal_step("load", extracted)

    @task_group(group_id="portal")
    def portal(job: dict):
        return load(extract(job))

    @task(trigger_rule="all_done", outlets=MART_ASSETS)
    def compute(jobs: list[dict] | None) -> dict:
        """Snapshots, targets and Biểu 06 for the portals loaded in this run (others failed),
        or, with `recompute_only`, for every portal the warehouse holds."""
        ctx = get_current_context()
        params = dict(ctx["params"])
        if params.get("recompute_only"):
            from egov.compute.recompute import recompute_for_run

            result = recompute_for_run(params=params, logical_date=ctx.get("logical_date"),
                                       run_id=ctx["run_id"])
        else:
            from egov.pipeline import compute as run_compute

            if not jobs:  # runs even when upstream failed: prepare must have succeeded
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException("prepare produced no jobs: see the prepare task log")
            result = run_compute(as_of=jobs[0]["as_of"], run_id=ctx["run_id"])
        for asset in MART_ASSETS:  # egov_reports reads the as-of day from the event
            ctx["outlet_events"][asset].extra = {"as_of": result["as_of"],
                                                 "portals": result["portals"]}
        return result

    @task(retries=0)
    def finish(jobs: list[dict], computed: dict) -> str:
        from egov.pipeline import finish as run_finish

        requested = list(dict.fromkeys(j["portal_code"] for j in jobs or []))
        return run_finish(requested=requested, as_of=computed["as_of"],
                          run_id=get_current_context()["run_id"])

    @task(trigger_rule="all_done")
    def housekeeping() -> dict:
        """Retention of the raw zone and of quarantine payloads (restricted data)."""
        from egov.pipeline import housekeeping as run_housekeeping

        return run_housekeeping()

    @task(trigger_rule="all_done")
    def alerts(jobs: list[dict] | None) -> dict:
        """Notify the changes of state of targets and portals (once per change)."""
        from egov.serve.alerts.step import run_alerts

        ctx = get_current_context()
        requested = list(dict.fromkeys(j["portal_code"] for j in jobs or [])) or None
        return run_alerts(run_id=ctx["run_id"], as_of=jobs[0]["as_of"] if jobs else None,
                          portals=requested, context=ctx)

    jobs = prepare()
    portals = portal.expand(job=jobs)
    computed = compute(jobs)
    portals >> computed
    finish(jobs, computed)
    computed >> housekeeping()
    computed >> alerts(jobs)


egov_nightly()
