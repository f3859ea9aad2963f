"""The Deadline Alert's work: the nightly run was late (docs/alerts.md)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from egov.serve.alerts import settings, state

log = logging.getLogger(__name__)


def deadline_missed(run: dict[str, Any], deadline: dict[str, Any], *, hour: int | None = None,
                    now: datetime | None = None) -> bool:
    """The nightly run had not finished by the deadline: notify once per run (scheduled
    runs only). Returns whether a message went out."""
    from egov.serve.alerts.delivery import deliver

    run_id = str(run.get("dag_run_id") or run.get("run_id") or "")
    dag_id = str(run.get("dag_id") or "egov_nightly")
    if str(run.get("run_type") or "").lower() != "scheduled":
        log.info("deadline of %s %s missed: not a scheduled run, no alert", dag_id, run_id)
        return False
    now = now or datetime.now().replace(microsecond=0)
    when = deadline.get("deadline_time")
    message = (f"Lượt chạy đêm {dag_id} ({run_id}) chưa xong lúc "
               f"{hour if hour is not None else settings.deadline_hour()}:00 (giờ Việt Nam)"
               f"{f'; hạn {when}' if when else ''}. Xem lượt chạy trong Airflow.")
    obs = state.Observation(f"deadline:{dag_id}:{run_id}", "deadline", f"{dag_id}/{run_id}",
                            "late", message)
    from egov.warehouse.db import make_engine

    engine = make_engine()
    try:
        from egov.warehouse.migrations import upgrade

        upgrade(engine)
        with engine.begin() as conn:
            changed = state.changes(conn, [obs], now)
            if changed and changed[0].notify and settings.enabled():
                deliver({"source": dag_id, "event": "deadline", "run_id": run_id,
                         "as_of": None, "alerts": [changed[0].as_dict()]})
            state.record(conn, changed, now=now, run_id=run_id, notified=True)
    finally:
        engine.dispose()
    return bool(changed and changed[0].notify)
