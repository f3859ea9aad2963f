"""Give a run of `airflow dags test` its real start time.

`airflow dags test <dag> <logical date>` (Airflow 3.3, `DAG.test()`) creates its run with
`start_date = logical date`: a run for 2026-01-01 tested on 29 November starts, for the UI,
on 1 January, and shows a duration of 332 days; `queued_at` stays empty. This sets both to
when the run's first task was scheduled (what a scheduler would have recorded), through
Airflow's own models. Used by `make demo`; see docs/targets-page.md.

    python -m egov.runtime.test_runs egov_nightly [--run-id RUN_ID]     # default: its newest test runs
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def fix_test_run_dates(dag_id: str, run_id: str | None = None) -> list[tuple[str, str]]:
    """For `dags test` runs of `dag_id` (or one run) that started before their first task was
    scheduled, set start_date and queued_at to that moment. Returns (run_id, new start)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import func, select

    fixed = []
    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id == dag_id,
                                     DagRun.triggered_by == DagRunTriggeredByType.TEST)
        if run_id:
            query = query.where(DagRun.run_id == run_id)
        for run in session.scalars(query):
            first = session.scalar(
                select(func.min(func.coalesce(TaskInstance.scheduled_dttm,
                                              TaskInstance.start_date)))
                .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id))
            if first is None or (run.start_date is not None and run.start_date >= first):
                continue
            run.start_date = first
            run.queued_at = run.queued_at or first
            fixed.append((run.run_id, first.isoformat()))
    for rid, start in fixed:
        log.info("%s %s: start_date set to %s (its first task's schedule)", dag_id, rid, start)
    return fixed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_id")
    parser.add_argument("--run-id")
    args = parser.parse_args(argv)
    for rid, start in fix_test_run_dates(args.dag_id, args.run_id):
        print(f"{args.dag_id} {rid}: start_date := {start}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
