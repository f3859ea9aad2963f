"""One task's work: the reads of one province, period by period, each kept in the raw zone,
parsed, checked and loaded as soon as it ends (a later failure loses nothing). A failure is
a failed read with its reason, never an exception: 403/429 stop the province's remaining
reads (recorded as not read, with the status), other failures stop only that period's."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from egov.periods import Period
from egov.safe_errors import frames, safe_message
from egov.sources.dvcqg.client import DvcqgBlocked, DvcqgError
from egov.sources.dvcqg.config import Province
from egov.sources.dvcqg.groups import GROUPS
from egov.sources.dvcqg.periods import label, request_fields
from egov.sources.dvcqg.records import GroupRows, ParseError, parse_group
from egov.sources.dvcqg.scores import check

log = logging.getLogger(__name__)


def plan_periods(periods: list[Period], as_of: date, final_days: int) -> list[dict]:
    from egov.sources.dvcqg.periods import is_final

    return [{"period": label(p), "provisional": not is_final(p, as_of, final_days)}
            for p in periods]


def read_period(client, writer, province: Province, period: Period
                ) -> tuple[list[GroupRows], list, str | None, int | None, bool]:
    """(groups parsed, score warnings, reason or None, HTTP status, blocked)."""
    groups: list[GroupRows] = []
    warnings: list = []
    for group in GROUPS:
        body = {**request_fields(group.date_range, period),
                "rootDepartmentId": province.root_department_id}
        writer.group = group.code
        try:
            pages = client.read_pages(group.url_path, body, group.page_size)
            rows = parse_group(group, pages, province.root_department_id)
            warnings.extend(check(rows))
        except DvcqgBlocked as exc:
            return groups, warnings, f"{group.code}: {exc}", exc.status, True
        except (DvcqgError, ParseError) as exc:
            return groups, warnings, f"{group.code}: {exc}", getattr(exc, "status", None), False
        except Exception as exc:  # noqa: BLE001 - one odd answer never stops the run
            log.error("%s %s %s: unexpected failure at\n%s", province.code, label(period),
                      group.code, frames(exc))
            return groups, warnings, f"{group.code}: {safe_message(exc)}", None, False
        groups.append(rows)
    return groups, warnings, None, None, False


def read_province(province: dict | Province, periods: list[dict], *, as_of: str | date,
                  run_id: str, engine=None, client=None, raw_root: str | None = None
                  ) -> list[dict]:
    """Read, keep, parse and load each period of `periods` ({"period", "provisional"})."""
    from egov.sources.dvcqg.hook import DvcqgHook
    from egov.sources.dvcqg.periods import parse_period
    from egov.sources.dvcqg.raw import ResponseWriter
    from egov.warehouse.dvcqg import ReadOutcome, load_read

    if isinstance(province, dict):
        province = Province(**province)
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    if engine is None:
        from egov.warehouse.db import make_engine

        engine = make_engine()
    results: list[dict] = []
    own_client = client is None
    setup_error = None
    if own_client:
        try:
            client = DvcqgHook(province.conn_id, province_code=province.code).get_conn()
        except Exception as exc:  # noqa: BLE001 - a missing connection is a failed read
            setup_error = safe_message(exc)
    blocked: str | None = None
    try:
        for item in periods:
            period = parse_period(item["period"])
            outcome = ReadOutcome(province.code, province.root_department_id, period,
                                  datetime.now(UTC).replace(tzinfo=None),
                                  bool(item["provisional"]), False, as_of=as_of, run_id=run_id)
            groups: list[GroupRows] = []
            warnings: list = []
            manifest = None
            if setup_error or blocked:
                outcome.reason = (f"not read: {setup_error}" if setup_error else
                                  f"not read: the portal refused an earlier request of this "
                                  f"run ({blocked})")
            else:
                writer = ResponseWriter(province.code, label(period), run_id,
                                        base_url=client.base_url,
                                        root_department_id=province.root_department_id,
                                        root=raw_root)
                client.on_response = writer
                groups, warnings, reason, status, was_blocked = read_period(
                    client, writer, province, period)
                outcome.complete = reason is None
                outcome.reason = reason
                outcome.http_status = status
                if was_blocked:
                    blocked = f"HTTP {status}"
                manifest = writer.finish(complete=outcome.complete, reason=reason)
            outcome.groups_read = tuple(g.group_code for g in groups)
            outcome.new_fields = tuple(sorted({f for g in groups for f in g.new_fields}
                                              | {m for g in groups for m in g.new_metrics}))
            outcome.score_warnings = len(warnings)
            for warning in warnings:
                log.warning("%s %s: score check: %s", province.code, label(period), warning)
            if outcome.new_fields:
                log.warning("%s %s: new in the answer (loaded all the same): %s",
                            province.code, label(period), ", ".join(outcome.new_fields))
            with engine.begin() as conn:
                current = load_read(conn, outcome, groups)
            rows = sum(len(g.scores) + len(g.metrics) for g in groups)
            if outcome.complete:
                log.info("%s %s: complete read, %d rows%s", province.code, label(period), rows,
                         "" if current else " (a newer read is current: kept in history)")
            else:
                log.warning("%s %s: read failed: %s", province.code, label(period),
                            outcome.reason)
            results.append({"province": province.code, "period": label(period),
                            "complete": outcome.complete, "reason": outcome.reason,
                            "current": current, "rows": rows,
                            "score_warnings": len(warnings), "manifest": manifest,
                            "read_at": outcome.read_at.isoformat()})
    finally:
        if own_client and client is not None:
            client.close()
    return results


def _unsettled(engine, province: Province, as_of: date, final_days: int) -> list[Period]:
    """Periods now final whose complete reads were all provisional: read once more."""
    from sqlalchemy import case, func, select

    from egov.periods import period_containing
    from egov.sources.dvcqg.periods import is_final
    from egov.warehouse.schema import dvcqg_read as t

    query = (select(t.c.period_type, t.c.period_start)
             .where(t.c.root_department_id == province.root_department_id, t.c.complete)
             .group_by(t.c.period_type, t.c.period_start)
             .having(func.sum(case((t.c.provisional, 0), else_=1)) == 0))
    with engine.connect() as conn:
        found = conn.execute(query).all()
    out = []
    for period_type, start in found:
        period = period_containing(period_type, start)
        if is_final(period, as_of, final_days):
            out.append(period)
    return sorted(out, key=lambda p: (p.start, p.period_type))


def plan_jobs(*, params: dict, logical_date: datetime | None) -> list[dict]:
    """One job per province: its periods to read as of the run's day (module doc of the
    DAG). Checks the settings and the provinces file, migrates the warehouse."""
    from dataclasses import asdict

    from egov.periods import run_as_of
    from egov.settings import ConfigError
    from egov.sources.dvcqg.config import check as check_config
    from egov.sources.dvcqg.config import final_after_days
    from egov.sources.dvcqg.periods import (
        PeriodError,
        check_readable,
        parse_period,
        scheduled_periods,
    )
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    provinces = check_config()
    final_days = final_after_days()
    try:
        as_of = run_as_of(params, logical_date)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    wanted = params.get("provinces")
    if wanted:
        known = {p.code for p in provinces}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ConfigError(f"params.provinces: {unknown} not in the provinces file "
                              f"(known: {sorted(known)})")
        provinces = [p for p in provinces if p.code in set(wanted)]
    named = params.get("periods")
    if named:
        try:
            periods = [parse_period(text) for text in named]
            for period in periods:
                check_readable(period, as_of)
        except PeriodError as exc:
            raise ConfigError(f"params.periods: {exc}") from None
        periods = list(dict.fromkeys(periods))
    else:
        periods = scheduled_periods(as_of, final_days)
    engine = make_engine()
    try:
        upgrade(engine)
        jobs: list[dict[str, Any]] = []
        for province in provinces:
            mine = list(periods)
            if not named:
                mine += [p for p in _unsettled(engine, province, as_of, final_days)
                         if p not in mine]
            jobs.append({"province": asdict(province), "as_of": as_of.isoformat(),
                         "periods": plan_periods(mine, as_of, final_days)})
    finally:
        engine.dispose()
    log.info("as of %s: %s", as_of, "; ".join(
        f"{j['province']['code']}: {', '.join(p['period'] for p in j['periods'])}"
        for j in jobs) or "no province")
    return jobs


def reconcile_step(*, as_of: str | date, run_id: str | None = None,
                   engine: Any = None) -> dict[str, Any]:
    """The crosswalk (the operator's file, the page's confirmations, proposals for the rest,
    `dvcqg_score.unit_code`) and the reconciliation with the one-stop records
    (`mart_source_reconciliation`, the running month's preview), as of `as_of`.
    Returns counts for the log and the Asset."""
    from egov.compute.reconciliation import reconcile
    from egov.sources.dvcqg.crosswalk import crosswalk_file, load_crosswalk
    from egov.warehouse.db import make_engine
    from egov.warehouse.dvcqg_crosswalk import store_crosswalk

    day = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    mappings = load_crosswalk()
    own = engine is None
    engine = engine or make_engine()
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with engine.begin() as conn:
            counts: dict[str, Any] = store_crosswalk(conn, mappings, now=now)
            counts.update(reconcile(conn, as_of=day, run_id=run_id, computed_at=now))
    finally:
        if own:
            engine.dispose()
    log.info("crosswalk %s: %d confirmed (%d on the page), %d proposals, %d departments "
             "unmapped; reconciliation as of %s: %d rows, %d flagged", crosswalk_file(),
             counts["confirmed"], counts["confirmed_on_page"], counts["proposed"],
             counts["unmapped"], day, counts["rows"], counts["flagged"])
    if counts["page_superseded"]:
        log.warning("%d confirmation(s) made on the Chỉ số 766 page map a department or a "
                    "unit the crosswalk file maps otherwise: the file's mapping applies",
                    counts["page_superseded"])
    return {"as_of": day.isoformat(), **counts}
