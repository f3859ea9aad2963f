"""One message of alerts sent to every configured channel (webhook JSON, e-mail)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _subject(alerts: list[dict[str, Any]]) -> str:
    if len(alerts) == 1:
        return f"[egov] {alerts[0]['subject']}: {alerts[0]['state']}"
    kinds = sorted({a["state"] for a in alerts})
    return f"[egov] {len(alerts)} cảnh báo ({', '.join(kinds)})"


def deliver(payload: dict[str, Any]) -> list[str]:
    """Send `payload` to every configured channel; returns the channels used. Raises
    ChannelError (after trying them all) when a configured channel failed."""
    from egov.serve.alerts import channels
    from egov.serve.alerts.settings import smtp_conn_id, webhook_conn_id

    alerts = payload["alerts"]
    text = "\n\n".join(a["message"] for a in alerts)
    body = (f"{text}\n\n— egov_nightly, lượt chạy {payload.get('run_id') or '—'}"
            f" (số liệu đến {payload.get('as_of') or '—'}). Tắt bớt cảnh báo: docs/alerts.md")
    used, errors = [], []
    send: Callable[[], bool]
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
