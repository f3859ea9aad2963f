"""Alert settings (environment), checked; docs/alerts.md."""

from __future__ import annotations

import fnmatch
import os
from typing import cast

from egov.settings import number

WEBHOOK_CONN = "egov_alert_webhook"
SMTP_CONN = "egov_smtp"


def enabled() -> bool:
    return os.environ.get("EGOV_ALERTS", "true").strip().lower() not in ("0", "false", "no",
                                                                         "off")


def webhook_conn_id() -> str:
    return os.environ.get("EGOV_ALERT_WEBHOOK_CONN", "").strip() or WEBHOOK_CONN


def smtp_conn_id() -> str:
    return os.environ.get("EGOV_ALERT_SMTP_CONN", "").strip() or SMTP_CONN


def stale_hours() -> int:
    """A portal whose last successful load is older than this is `stale` (default 36 h)."""
    return cast(int, number("EGOV_ALERT_STALE_HOURS"))  # an int setting (egov.settings.NUMBERS)


def deadline_hour() -> int:
    """Local hour (Asia/Ho_Chi_Minh) by which the nightly run must have finished (default 7)."""
    return cast(int, number("EGOV_NIGHTLY_DEADLINE_HOUR"))


def silenced_patterns() -> list[str]:
    raw = os.environ.get("EGOV_ALERT_SILENCE", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def silenced_by_setting(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in silenced_patterns())
