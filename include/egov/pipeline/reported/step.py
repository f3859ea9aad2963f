"""The tasks of the DAG egov_reported: take the inbox, evaluate the plans it touched as of
the run's day, remind the units past `report_due` (once per unit and target-year, through
the egov alert notifier; silences respected)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

log = logging.getLogger(__name__)

REMINDER_KIND = "report_due"


def as_of_day(params: dict, logical_date) -> date:
    from egov.periods import run_as_of

    return run_as_of(params, logical_date)


def _engine():
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    engine = make_engine()
    upgrade(engine)
    return engine


def take(*, run_id: str | None) -> dict:
    """Take every new inbox file; the plans whose figures changed (those of files uploaded on
    the Targets page since the last run too: an upload is taken at once, evaluated here)."""
    from egov.pipeline.reported.intake import take_inbox
    from egov.warehouse.reported import claim_uploads

    engine = _engine()
    try:
        outcomes = take_inbox(engine, run_id=run_id)
        uploaded = claim_uploads(engine, run_id)
    finally:
        engine.dispose()
    plans = sorted({p for o in outcomes for p in o.plans} | uploaded)
    return {"files": [o.as_dict() for o in outcomes], "plans": plans}


def evaluate(plan_codes: list[str], *, as_of: date, run_id: str | None) -> dict:
    """Re-evaluate the plans `plan_codes` as of `as_of` (every target: measured ones from the
    snapshots of that day, as the nightly run does)."""
    from egov.compute.plans import load_plans
    from egov.compute.targets import evaluate_targets
    from egov.settings import load_portals

    wanted = set(plan_codes)
    plans = [p for p in load_plans() if p.code in wanted]
    if not plans:
        return {"as_of": as_of.isoformat(), "plans": [], "evaluations": 0, "portals": []}
    portals = [p.code for p in load_portals()]
    engine = _engine()
    try:
        with engine.begin() as conn:
            rows = evaluate_targets(conn, plans, as_of=as_of, portal_codes=portals,
                                    run_id=run_id, computed_at=datetime.now().replace(
                                        microsecond=0))
    finally:
        engine.dispose()
    return {"as_of": as_of.isoformat(), "plans": sorted(wanted),
            "portals": sorted({p.portal for p in plans}), "evaluations": len(rows)}


def reminder_observations(conn, plans, as_of: date) -> list:
    """One observation per (plan, target without an indicator, year, reporting unit) of the
    running year and the year just ended whose figure is due by `as_of`:
    `awaiting_report` while the unit has no figure counting as of `as_of`, else `ok`."""
    from sqlalchemy import select

    from egov.compute.reported import (
        counting,
        due_date,
        plan_children,
        plan_revisions,
        reporters,
    )
    from egov.serve.alerts.state import Observation
    from egov.warehouse.schema import dim_unit

    names = dict(conn.execute(select(dim_unit.c.unit_code, dim_unit.c.unit_name)).all())
    out = []
    for plan in plans:
        revisions = plan_revisions(conn, plan.code, as_of)
        children = plan_children(conn, plan)
        for target in plan.targets:
            if target.indicator is not None:
                continue
            for year in sorted(int(y) for y in target.thresholds):
                due = due_date(target, year)
                if year < as_of.year - 1 or as_of <= due:
                    continue
                for unit in reporters(target, plan.unit, children):
                    reported = counting(revisions.get((target.code, year, unit), ()), as_of)
                    name = names.get(unit) or unit
                    message = (f"[{plan.code}] {target.code} năm {year}: {name} ({unit}) chưa "
                               f"gửi số liệu báo cáo; hạn {due:%d/%m/%Y}. Mẫu báo cáo: "
                               f"python -m egov.pipeline.reported template --plan {plan.code} "
                               f"--year {year}. “{target.clause}”")
                    out.append(Observation(
                        f"{REMINDER_KIND}:{plan.code}:{target.code}:{year}:{unit}",
                        REMINDER_KIND, f"{plan.code}/{target.code}/{year}/{unit}",
                        "ok" if reported else "awaiting_report", message))
    return out


def remind(*, as_of: date, run_id: str | None, context: Mapping[str, Any] | None = None,
           now: datetime | None = None) -> dict:
    """Notify the units newly past `report_due` without a figure: one message per run
    listing them (never again for the same unit and target-year, unless it reported and
    later relapses); silenced keys are recorded, not sent (docs/alerts.md)."""
    from egov.compute.plans import load_plans
    from egov.serve.alerts import settings, state
    from egov.serve.alerts.step import _send
    from egov.settings import load_portals

    if not settings.enabled():
        log.info("alerts are off (EGOV_ALERTS): no reminders")
        return {"observed": 0, "notified": 0}
    now = now or datetime.now().replace(microsecond=0)
    configured = {p.code for p in load_portals()}
    plans = [p for p in load_plans() if p.portal in configured]
    engine = _engine()
    try:
        with engine.begin() as conn:
            observed = reminder_observations(conn, plans, as_of)
            changed = state.changes(conn, observed, now)
            channels = _send(changed, run_id=run_id, as_of=as_of.isoformat(), context=context)
            state.record(conn, changed, now=now, run_id=run_id, notified=True)
    finally:
        engine.dispose()
    notified = sum(c.notify for c in changed)
    silenced = sum(c.observation.alerting and c.silenced for c in changed)
    log.info("reminders as of %s: %d observed, %d notified via %s, %d silenced", as_of,
             len(observed), notified, ", ".join(channels) or "no channel", silenced)
    return {"observed": len(observed), "notified": notified, "silenced": silenced,
            "channels": channels}
