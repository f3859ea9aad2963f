"""The Airflow notifier of the egov alerts (webhook JSON + e-mail through SMTP).

- In the nightly run's `alerts` task: `EgovAlertNotifier(alerts=[...], run_id=..., as_of=...)`
  called with the task's context sends one message listing the run's changes of state.
- As the Deadline Alert's callback (`AsyncCallback(EgovAlertNotifier, kwargs={"event":
  "deadline", ...})`, run by the triggerer): the nightly run is late; sent once per run
  (recorded in `alert_state`), and only for scheduled runs (a backfill of past days is late
  by construction).
Kept light: imported when the DAG file is parsed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


class EgovAlertNotifier(BaseNotifier):
    """Sends egov alerts to the webhook and SMTP connections (docs/alerts.md)."""

    template_fields = ("run_id", "as_of")

    def __init__(self, *, alerts: list[dict[str, Any]] | None = None, run_id: str | None = None,
                 as_of: str | None = None, event: str = "changes",
                 deadline_hour: int | None = None, context: Context | None = None):
        super().__init__(context=context)
        self.alerts = list(alerts or [])
        self.run_id = run_id
        self.as_of = as_of
        self.event = event
        self.deadline_hour = deadline_hour
        self.channels: list[str] = []

    def notify(self, context: Context) -> None:
        if self.event == "deadline":
            self._deadline(context)
            return
        if self.alerts:
            from egov.serve.alerts.delivery import deliver

            self.channels = deliver({"source": "egov_nightly", "event": "changes",
                                     "run_id": self.run_id, "as_of": self.as_of,
                                     "alerts": self.alerts})

    async def async_notify(self, context: Context) -> None:
        await asyncio.to_thread(self.notify, context)

    def _deadline(self, context: Mapping[str, Any]) -> None:
        from egov.serve.alerts.deadline import deadline_missed

        run = dict((context or {}).get("dag_run") or {})
        deadline = dict((context or {}).get("deadline") or {})
        deadline_missed(run, deadline, hour=self.deadline_hour)
