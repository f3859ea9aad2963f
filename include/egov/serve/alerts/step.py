"""The `alerts` task of egov_nightly, and the Deadline Alert's work (docs/alerts.md)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from egov.serve.alerts import settings, state

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _engine() -> Engine:
    from egov.warehouse.db import make_engine

    return make_engine()


def _send(changed: list[state.Change], *, run_id: str | None, as_of: str | None,
          context: Mapping[str, Any] | None) -> list[str]:
    from egov.serve.alerts.notifier import EgovAlertNotifier

    alerts = [c.as_dict() for c in changed if c.notify]
    if not alerts:
        return []
    notifier = EgovAlertNotifier(alerts=alerts, run_id=run_id, as_of=as_of)
    notifier(dict(context or {}))
    return notifier.channels


def run_alerts(*, run_id: str, as_of: str | None, portals: list[str] | None = None,
               context: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Observe targets (as of the run's day), portal failures (this run) and portal
    staleness, notify the changes of state, record them. A delivery failure raises and
    records nothing, so the next run (or a retry) sends them again."""
    from egov.settings import load_portals
    from egov.warehouse.migrations import upgrade

    if not settings.enabled():
        log.info("alerts are off (EGOV_ALERTS)")
        return {"changes": 0, "notified": 0}
    now = now or _now()
    configured = portals or [p.code for p in load_portals()]
    engine = _engine()
    upgrade(engine)
    try:
        with engine.begin() as conn:
            observed = []
            if as_of:
                observed += state.target_observations(conn, date.fromisoformat(as_of))
            observed += state.portal_failure_observations(conn, run_id)
            observed += state.portal_stale_observations(conn, configured, now,
                                                        settings.stale_hours())
            changed = state.changes(conn, observed, now)
            channels = _send(changed, run_id=run_id, as_of=as_of, context=context)
            state.record(conn, changed, now=now, run_id=run_id, notified=True)
    finally:
        engine.dispose()
    notified = sum(c.notify for c in changed)
    silenced = sum(c.observation.alerting and c.silenced for c in changed)
    log.info("alerts: %d observed, %d changed, %d notified via %s, %d silenced", len(observed),
             len(changed), notified, ", ".join(channels) or "no channel", silenced)
    return {"observed": len(observed), "changes": len(changed), "notified": notified,
            "silenced": silenced, "channels": channels}
