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

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def _subject(alerts: list[dict]) -> str:
    if len(alerts) == 1:
        return f"[egov] {alerts[0]['subject']}: {alerts[0]['state']}"
    kinds = sorted({a["state"] for a in alerts})
    return f"[egov] {len(alerts)} cảnh báo ({', '.join(kinds)})"


def deliver(payload: dict) -> list[str]:
    """Send `payload` to every configured channel; returns the channels used. Raises
    ChannelError (after trying them all) when a configured channel failed."""
    from egov.alerts import channels
    from egov.alerts.settings import smtp_conn_id, webhook_conn_id

    alerts = payload["alerts"]
    text = "\n\n".join(a["message"] for a in alerts)
    body = (f"{text}\n\n— egov_nightly, lượt chạy {payload.get('run_id') or '—'}"
            f" (số liệu đến {payload.get('as_of') or '—'}). Tắt bớt cảnh báo: docs/alerts.md")
    used, errors = [], []
    for name, send in (("webhook", lambda: channels.post_webhook(webhook_conn_id(),
                                                                 {**payload, "text": text})),
                       ("email", lambda: channels.send_email(smtp_conn_id(), _subject(alerts),
                                                             body))):
        try:
            if send():
                used.append(name)
        except channels.ChannelError as exc:
            errors.append(str(exc))
    if errors:
        raise channels.ChannelError("; ".join(errors))
    if not used:
        log.warning("egov alerts: no channel configured (connections %s, %s): %d alert(s) "
                    "only logged", webhook_conn_id(), smtp_conn_id(), len(alerts))
    for alert in alerts:
        log.info("alert %s: %s", alert["key"], alert["message"][:300])
    return used


class EgovAlertNotifier(BaseNotifier):
    """Sends egov alerts to the webhook and SMTP connections (docs/alerts.md)."""

    template_fields = ("run_id", "as_of")

    def __init__(self, *, alerts: list[dict] | None = None, run_id: str | None = None,
                 as_of: str | None = None, event: str = "changes",
                 deadline_hour: int | None = None, context=None):
        super().__init__(context=context)
        self.alerts = list(alerts or [])
        self.run_id = run_id
        self.as_of = as_of
        self.event = event
        self.deadline_hour = deadline_hour
        self.channels: list[str] = []

    def notify(self, context) -> None:
        if self.event == "deadline":
            self._deadline(context)
            return
        if self.alerts:
            self.channels = deliver({"source": "egov_nightly", "event": "changes",
                                     "run_id": self.run_id, "as_of": self.as_of,
                                     "alerts": self.alerts})

    async def async_notify(self, context) -> None:
        await asyncio.to_thread(self.notify, context)

    def _deadline(self, context) -> None:
        from egov.alerts.step import deadline_missed

        run = dict((context or {}).get("dag_run") or {})
        deadline = dict((context or {}).get("deadline") or {})
        deadline_missed(run, deadline, hour=self.deadline_hour)
