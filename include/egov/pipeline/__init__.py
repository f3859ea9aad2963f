"""The nightly job's steps, one function per DAG task. Each takes and returns small,
JSON-serialisable values (XCom); the data itself moves through the raw zone and warehouse."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from egov.settings import ConfigError, load_portals

log = logging.getLogger(__name__)


_CLOCK: ContextVar[datetime | None] = ContextVar("egov_replay_clock", default=None)


def _now() -> datetime:
    fixed = _CLOCK.get()
    return fixed if fixed is not None else datetime.now().replace(microsecond=0)


@contextmanager
def replay_clock(moment: datetime | None):
    """Steps run inside are dated `moment` (a rebuild replays a run as of its extraction, so
    a replay never makes a portal look freshly loaded); None: the real clock."""
    token = _CLOCK.set(moment)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def _engine():
    from egov.warehouse.db import make_engine

    return make_engine()


def prepare(*, params: dict, logical_date: datetime | None) -> list[dict]:
    """Check plans and settings (before anything touches the warehouse), migrate it, and plan
    the extraction windows: one job per (portal, window)."""
    from egov.compute.plans import load_plans
    from egov.periods import run_as_of
    from egov.settings import (
        check_settings,
        first_load_window_months,
        history_start,
        pii_key,
        watermark_overlap,
    )
    from egov.sources.onestop.windows import plan_windows
    from egov.warehouse.db import safe_url, warehouse_url
    from egov.warehouse.load import read_watermark
    from egov.warehouse.migrations import upgrade

    check_settings()
    plans = load_plans()
    configured = load_portals()
    codes = [p.code for p in configured]
    wanted = params.get("portals") or codes
    unknown = sorted(set(wanted) - set(codes))
    if unknown:
        raise ConfigError(f"params.portals: not configured: {', '.join(unknown)} "
                          f"(configured: {', '.join(codes)})")
    for plan in plans:
        if plan.portal not in codes:
            log.warning("plan %s (%s): portal %r is not configured; skipped",
                        plan.code, plan.path, plan.portal)
    try:
        as_of = run_as_of(params, logical_date)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    full_refresh = bool(params.get("full_refresh"))
    start, overlap, months = history_start(), watermark_overlap(), first_load_window_months()
    if pii_key() is None:  # raises, saying how to set it, unless explicitly optional
        log.warning("no key for applicants' ID numbers (EGOV_PII_KEY_OPTIONAL): new dossiers "
                    "get no applicant_id_hash")
    log.info("warehouse %s: migrating", safe_url(warehouse_url()))
    engine = _engine()
    upgrade(engine)
    jobs: list[dict] = []
    if params.get("recompute_only"):  # compute recomputes from the warehouse; no extraction
        engine.dispose()
        log.info("as of %s; %d plans; recompute_only: no portal is called", as_of, len(plans))
        return jobs
    now = _now()
    with engine.connect() as conn:
        by_time = {code: plan_windows(read_watermark(conn, code), full_refresh=full_refresh,
                                      history_start=start, overlap=overlap, months=months,
                                      now=now)
                   for code in codes if code in wanted}
    engine.dispose()
    planned = bounded_windows(by_time, now=now)
    for code, windows in planned.items():
        jobs += [{"portal_code": code, "seq": w.seq, "windows": len(windows),
                  "window_from": w.start.isoformat(),
                  "window_to": w.end.isoformat() if w.end else None,
                  "as_of": as_of.isoformat(), "full_refresh": full_refresh}
                 for w in windows]
    log.info("as of %s; %d plans; extraction jobs: %s", as_of, len(plans),
             ", ".join(job_label(j) for j in jobs))
    return jobs


def bounded_windows(by_time: dict, *, now: datetime) -> dict:
    """Each portal's time-based windows cut until each holds at most EGOV_WINDOW_MAX_VERSIONS
    record versions, by `tongSo` (one request of one item per window counted, through the
    portal's connection and retries; egov.sources.onestop.windows.split_by_count); the portals are counted
    side by side. A portal that cannot be counted keeps its time-based windows (a warning
    names it): its extraction fails or succeeds on its own."""
    from concurrent.futures import ThreadPoolExecutor

    from egov.settings import window_max_versions
    from egov.sources.onestop.hook import OneStopPortalHook

    cap = window_max_versions()
    clients = {}
    for code in by_time:  # connections are looked up here, one at a time
        try:
            portal = _portal(code)
            options = {}
            if portal.max_requests_per_second:
                options["max_requests_per_second"] = portal.max_requests_per_second
            clients[code] = OneStopPortalHook(portal.conn_id, code, **options).get_conn()
        except Exception as exc:  # noqa: BLE001 - this portal only; its extract will tell
            _uncounted(code, exc, by_time[code])
    planned = dict(by_time)
    if clients:
        with ThreadPoolExecutor(max_workers=min(8, len(clients)),
                                thread_name_prefix="egov-count") as pool:
            counted = list(pool.map(lambda c: _count_bounded(clients[c], by_time[c], cap, now),
                                    list(clients)))
        planned.update(zip(clients, counted, strict=True))
    return planned


def _uncounted(code: str, exc: Exception, windows: list) -> list:
    from egov.safe_errors import safe_message

    log.warning("%s: could not count its record versions to plan its windows (%s); "
                "keeping %d window(s) by time (EGOV_FIRST_LOAD_WINDOW_MONTHS)", code,
                safe_message(exc, portal_code=code), len(windows))
    return windows


def _count_bounded(client, windows: list, cap: int, now: datetime) -> list:
    from egov.sources.onestop.records import format_portal_time
    from egov.sources.onestop.windows import split_by_count

    code = client.portal_code

    def count(start: datetime, end: datetime | None) -> int:
        return client.count_dossiers(format_portal_time(start),
                                     format_portal_time(end) if end else None)

    try:
        bounded, over = split_by_count(windows, count, cap=cap, now=now)
    except Exception as exc:  # noqa: BLE001 - this portal only; its extract will tell
        return _uncounted(code, exc, windows)
    finally:
        client.close()
    for w in over:
        log.warning("%s: window from %s still holds more than EGOV_WINDOW_MAX_VERSIONS=%d "
                    "record versions and cannot be cut further", code, w.start, cap)
    if len(bounded) != len(windows):
        log.info("%s: %d window(s) by time cut and joined into %d of at most %d record "
                 "versions (%d count requests)", code, len(windows), len(bounded), cap,
                 int(client.stats["pages"]))
    return bounded


def job_label(job: dict) -> str:
    """How a job is named in the UI (map index) and in logs."""
    if job["windows"] == 1:
        return job["portal_code"]
    return f"{job['portal_code']} {job['seq'] + 1}/{job['windows']} from {job['window_from'][:10]}"


def _portal(code: str):
    for portal in load_portals():
        if portal.code == code:
            return portal
    raise ConfigError(f"portal {code!r} is not in the portals file")


def extract(job: dict, *, run_id: str) -> dict:
    """Pull units (and, in the first window, the catalogue) and every record change of the
    job's window; keep every page in the raw zone."""
    from egov.runtime.failpoints import hit
    from egov.settings import page_size
    from egov.sources.onestop.hook import OneStopPortalHook
    from egov.sources.onestop.records import format_portal_time
    from egov.sources.raw_zone import PageWriter

    portal_code = job["portal_code"]
    portal = _portal(portal_code)
    started = time.monotonic()
    window_from = datetime.fromisoformat(job["window_from"])
    window_to = datetime.fromisoformat(job["window_to"]) if job["window_to"] else None
    writer = PageWriter(portal_code, run_id, window=job["seq"])
    options = {"on_page": writer.on_page, "page_size": page_size()}
    if portal.max_requests_per_second:
        options["max_requests_per_second"] = portal.max_requests_per_second
    client = OneStopPortalHook(portal.conn_id, portal_code, **options).get_conn()
    units = client.units()
    procedures = client.procedures() if job["seq"] == 0 else []
    hit("extract.mid", portal_code)
    versions = _fetch_dossiers(client, format_portal_time(window_from),
                               format_portal_time(window_to) if window_to else None)
    seconds = round(time.monotonic() - started, 3)
    stats = dict(getattr(client, "stats", {}) or {})
    manifest = writer.finish(
        extracted_at=datetime.now().isoformat(timespec="seconds"), as_of=job["as_of"],
        seq=job["seq"], windows=job["windows"], full_refresh=job["full_refresh"],
        window_from=job["window_from"],
        window_to=job["window_to"], units=len(units), procedures=len(procedures),
        record_versions=versions, client_stats=stats, seconds=seconds,
    )
    log.info("%s: %d pages, %d units, %d procedures, %d record versions in [%s, %s) in %.1fs; "
             "client %s", job_label(job), len(writer.pages), len(units), len(procedures),
             versions, window_from, window_to or "now", seconds, stats)
    return {**job, "manifest": manifest}


def _fetch_dossiers(client, updated_from: str, updated_to: str | None) -> int:
    """Page the window through the client (its pages reach the raw zone, every version of
    every pass, reconciled against tongSo); return how many distinct record versions
    arrived. The items are not kept here: memory holds a key per version (bounded by
    EGOV_WINDOW_MAX_VERSIONS through the windows `prepare` plans)."""
    from egov.runtime.gc_pause import collector_paused

    with collector_paused():  # a key per version: many small tuples, no cycles
        for _page in client.iter_dossier_pages(updated_from, updated_to):
            pass
    return int(client.stats["distinct_versions"])


def load(extracted: dict, *, run_id: str) -> dict:
    """Validate the kept pages with the GX suites and load them in one transaction, with the
    window's accounting and the watermark its run's committed windows justify. Above the
    quality gate, only quarantine and results are committed, and the portal fails."""
    from egov.runtime.gc_pause import collector_paused
    from egov.settings import pii_key

    started = time.monotonic()
    key = pii_key()
    with collector_paused():  # the window's work; one collection after (egov.runtime.gc_pause)
        return _load_window(extracted, run_id=run_id, key=key, started=started)


def _load_window(extracted: dict, *, run_id: str, key, started: float) -> dict:
    from collections import Counter

    from egov.quality.data_docs import publish_data_docs
    from egov.quality.gate import QualityGateError, gate_decision
    from egov.quality.portal import validate_batch
    from egov.quality.results import store_results
    from egov.runtime.failpoints import hit
    from egov.sources.onestop.batch import read_window
    from egov.sources.onestop.records import CUT, NULLED, adjustment_counts
    from egov.warehouse import load as wl

    portal_code, location = extracted["portal_code"], extracted["manifest"]
    batch = read_window(location)  # each record version parsed once, de-duplicated
    manifest, units, procedures, distinct = (batch.manifest, batch.units, batch.procedures,
                                             batch.versions)
    seq, n_windows = manifest["seq"], manifest["windows"]
    engine = _engine()
    quality = validate_batch(engine, portal_code, run_id=run_id, units=units,
                             procedures=procedures, records=distinct,
                             incremental=n_windows == 1 and not manifest.get("full_refresh"))
    outcome = quality.records
    gate = gate_decision(outcome, portal_code)
    now = _now()
    client_stats = manifest.get("client_stats") or {}
    adjusted: Counter = Counter()
    window = {
        "run_id": run_id, "portal_code": portal_code, "seq": seq,
        "window_from": datetime.fromisoformat(manifest["window_from"]),
        "window_to": (datetime.fromisoformat(manifest["window_to"])
                      if manifest["window_to"] else None),
        "status": "committed" if gate.passed else "gated",
        "newest_update": wl.newest_update(distinct),
        "manifest": location, "pages": len(manifest["pages"]),
        "records_received": batch.received, "records_distinct": len(distinct),
        "duplicates_dropped": batch.duplicates,
        "records_loaded": len(outcome.accepted) if gate.passed else 0,
        "records_quarantined": len(outcome.rejected),
        "retries": int(client_stats.get("retries", 0) or 0),
        "committed_at": now,
    }
    with engine.begin() as conn:
        wl.lock_portal(conn, portal_code)  # windows of one portal commit one at a time
        store_results(conn, portal_code, run_id, quality.results, window_seq=seq,
                      validated_at=now)
        wl.upsert_quarantine(conn, portal_code, outcome.rejected, run_id=run_id, now=now,
                             raw_location=location)
        if gate.passed:
            wl.replace_units(conn, portal_code, units, run_id=run_id, now=now,
                             adjusted=adjusted)
            if procedures or seq == 0:
                wl.replace_catalogue(conn, portal_code, procedures, run_id=run_id, now=now,
                                     adjusted=adjusted)
            wl.upsert_dossiers(conn, portal_code, outcome.accepted, pii_key=key,
                               run_id=run_id, now=now)
            adjusted.update(adjustment_counts(outcome.accepted))
            missing = wl.missing_records(conn, portal_code, {v.record_key for v in distinct})
            if missing:
                raise wl.LoadIncomplete(f"{portal_code}: {len(missing)} records neither "
                                        f"loaded nor quarantined, e.g. {sorted(missing)[:5]}")
        window["values_nulled"] = sum(n for (_f, how), n in adjusted.items() if how == NULLED)
        window["values_cut"] = sum(n for (_f, how), n in adjusted.items() if how == CUT)
        window["seconds"] = round(manifest.get("seconds", 0) + time.monotonic() - started, 3)
        wl.record_window(conn, window)
        watermark = wl.advance_run_watermark(conn, portal_code, run_id=run_id,
                                             n_windows=n_windows, now=now)
        totals = wl.record_portal_totals(conn, portal_code, run_id=run_id,
                                         n_windows=n_windows, now=now)
        hit("load.before_commit", portal_code)
    engine.dispose()
    if distinct or procedures or not gate.passed or seq == n_windows - 1:
        publish_data_docs(quality, portal_code, run_id, window_seq=seq)  # skip empty windows
    if adjusted:
        log.warning("%s window %d/%d: kept values stored as null or cut to fit their "
                    "column: %s", portal_code, seq + 1, n_windows,
                    ", ".join(f"{f} {how} {n}" for (f, how), n in sorted(adjusted.items())))
    log.info("%s window %d/%d: %s; watermark now %s", portal_code, seq + 1, n_windows,
             window["status"], watermark)
    log.info("run accounting %s: %s", portal_code, json.dumps(totals, default=str))
    if not gate.passed:
        raise QualityGateError(gate)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in window.items()}


class NotRetryable(Exception):
    """A portal step failed in a way a retry cannot mend."""


def run_portal_step(step: str, job: dict, *, run_id: str) -> dict:
    """`extract` or `load` for one job; a failure is recorded in etl_portal_run, so the
    run's end names the portal, and wrong credentials, a redirecting portal or the quality
    gate are NotRetryable. What is recorded, logged and raised never carries record values
    or statement parameters (egov.safe_errors): an error whose text could is replaced by a
    clean one."""
    from egov.quality.gate import QualityGateError
    from egov.safe_errors import frames, is_trusted, safe_message
    from egov.sources.onestop.client import PortalAuthError, PortalRedirectError

    where = f"{step} {job_label(job)}" if "windows" in job else step
    try:
        return {"extract": extract, "load": load}[step](job, run_id=run_id)
    except Exception as exc:
        message = safe_message(exc, portal_code=job["portal_code"], where=where)
        record_failure(job["portal_code"], run_id=run_id, error=message)
        if isinstance(exc, PortalAuthError | PortalRedirectError | QualityGateError):
            raise NotRetryable(str(exc)) from exc
        if is_trusted(exc):  # a message written for operators: kept as it is
            raise
        log.error("%s\nwhere it was raised (values withheld):\n%s", message, frames(exc))
        error = PortalStepError(message)
    raise error from None


class PortalStepError(RuntimeError):
    """A portal step failed; the message is `egov.safe_errors.safe_message` of the cause."""


def record_failure(portal_code: str, *, run_id: str, error: BaseException | str) -> None:
    """Note a failed portal in etl_portal_run so the run's end names it (best effort); the
    error is kept as `safe_message` gives it (no record values, no statement parameters)."""
    from egov.safe_errors import safe_message
    from egov.warehouse.load import record_portal_run

    text = error if isinstance(error, str) else safe_message(error, portal_code=portal_code)
    try:
        engine = _engine()
        with engine.begin() as conn:
            record_portal_run(conn, {"run_id": run_id, "portal_code": portal_code,
                                     "status": "failed", "error": text[:2000],
                                     "finished_at": _now()})
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the original error matters more
        log.error("could not record the failure of %s: %s", portal_code,
                  safe_message(exc, portal_code=portal_code))


def loaded_portals(conn, run_id: str) -> list[str]:
    from sqlalchemy import select

    from egov.warehouse.schema import etl_portal_run

    return sorted(conn.execute(select(etl_portal_run.c.portal_code).where(
        etl_portal_run.c.run_id == run_id, etl_portal_run.c.status == "loaded")).scalars())


def compute(*, as_of: str, run_id: str) -> dict:
    """Indicator snapshots for every unit of the portals loaded in this run, then targets,
    then Biểu 06."""
    from egov.compute.form06 import compute_form06
    from egov.compute.indicators.snapshots import compute_snapshots
    from egov.compute.plans import load_plans
    from egov.compute.targets import evaluate_targets
    from egov.periods import snapshot_periods

    day = date.fromisoformat(as_of)
    plans = load_plans()
    engine = _engine()
    now = _now()
    with engine.begin() as conn:
        portals = loaded_portals(conn, run_id)
        if not portals:
            raise RuntimeError("no portal was loaded in this run: nothing to compute")
        # Years named by any loaded plan's measured targets (plans of configured portals).
        configured = {p.code for p in load_portals()}
        years = {y for p in plans if p.portal in configured
                 for t in p.targets if t.indicator for y in t.thresholds}
        periods = snapshot_periods(day, years)
        rows = compute_snapshots(conn, portal_codes=portals, as_of=day, periods=periods,
                                 run_id=run_id, computed_at=now)
        evaluations = evaluate_targets(conn, plans, as_of=day, portal_codes=portals,
                                       run_id=run_id, computed_at=now)
        form06 = compute_form06(conn, portal_codes=portals, as_of=day, run_id=run_id,
                                computed_at=now)
    engine.dispose()
    log.info("as of %s: %d snapshot rows for %s; %d target evaluations; %d Biểu 06 rows", day,
             rows, ", ".join(portals), len(evaluations), form06)
    return {"as_of": as_of, "portals": portals, "snapshot_rows": rows,
            "evaluations": len(evaluations), "form06_rows": form06}


def finish(*, requested: list[str], as_of: str, run_id: str) -> str:
    """Print the target report; fail the run, naming them, if some portals were not loaded."""
    from egov.serve.reports.target_report import target_report

    engine = _engine()
    with engine.connect() as conn:
        loaded = loaded_portals(conn, run_id)
        text = target_report(conn, date.fromisoformat(as_of))
    engine.dispose()
    log.info("target report as of %s\n%s", as_of, text)
    failed = [p for p in requested if p not in loaded]
    if failed:
        raise RuntimeError(f"portals failed in this run: {', '.join(failed)} "
                           f"(their units got no new snapshots)")
    return text


def housekeeping() -> dict:
    """Retention of the restricted stores: raw-zone runs older than EGOV_RAW_RETENTION_DAYS
    are deleted; quarantine payloads older than EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS lose
    their personal fields."""
    from egov.quality.data_docs import data_docs_dir
    from egov.quality.retention import (
        purge_data_docs,
        purge_raw_zone,
        quarantine_payload_retention_days,
        raw_retention_days,
        redact_quarantine,
        redact_validation_samples,
    )
    from egov.settings import raw_zone_root

    now = datetime.now()
    purged = purge_raw_zone(raw_zone_root(), raw_retention_days(), now)
    days = quarantine_payload_retention_days()
    engine = _engine()
    with engine.begin() as conn:
        redacted = redact_quarantine(conn, days, now)
        samples = redact_validation_samples(conn, days, now)
    engine.dispose()
    docs = purge_data_docs(data_docs_dir(), days, now)
    log.info("retention: %d raw-zone run folders deleted, %d quarantine payloads redacted, "
             "%d validation samples cleared, %d Data Docs files deleted", len(purged),
             redacted, samples, docs)
    return {"raw_runs_deleted": len(purged), "payloads_redacted": redacted,
            "samples_cleared": samples, "data_docs_deleted": docs}
