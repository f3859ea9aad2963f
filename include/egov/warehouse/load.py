"""Idempotent loads of one portal's batch: units, catalogue, records, quarantine, watermark."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from egov.records import (
    canonical_json,
    dossier_row,
    parse_portal_time,
    procedure_row,
    procedure_unit_rows,
    record_key,
    unit_row,
    version_key,
)
from egov.warehouse.schema import (
    dim_procedure,
    dim_unit,
    etl_extract_window,
    etl_portal_run,
    etl_watermark,
    fct_dossier,
    procedure_unit,
    quarantine_record,
    unit_closure,
)
from egov.warehouse.units import closure_rows
from egov.warehouse.upsert import upsert

log = logging.getLogger(__name__)


def replace_units(conn, portal_code: str, units: list[dict], *, run_id: str, now: datetime) -> int:
    rows = {}
    for item in units:
        if item.get("MaDonVi"):
            rows[item["MaDonVi"]] = {**unit_row(item, portal_code=portal_code), "run_id": run_id,
                                     "loaded_at": now}
    conn.execute(delete(unit_closure).where(unit_closure.c.portal_code == portal_code))
    conn.execute(delete(dim_unit).where(dim_unit.c.portal_code == portal_code))
    if rows:
        upsert(conn, dim_unit, list(rows.values()), ["unit_code"])
        closure = closure_rows(portal_code, {u: r["parent_code"] for u, r in rows.items()})
        conn.execute(insert(unit_closure), closure)
    return len(rows)


def replace_catalogue(conn, portal_code: str, procedures: list[dict], *, run_id: str,
                      now: datetime) -> int:
    rows, links = {}, {}
    for item in procedures:
        if not item.get("MaTTHC"):
            continue
        rows[item["MaTTHC"]] = {**procedure_row(item, portal_code=portal_code),
                                "run_id": run_id, "loaded_at": now}
        for link in procedure_unit_rows(item, portal_code=portal_code):
            links[(link["procedure_code"], link["unit_code"])] = link
    conn.execute(delete(procedure_unit).where(procedure_unit.c.portal_code == portal_code))
    conn.execute(delete(dim_procedure).where(dim_procedure.c.portal_code == portal_code))
    if rows:
        conn.execute(insert(dim_procedure), list(rows.values()))
    if links:
        conn.execute(insert(procedure_unit), list(links.values()))
    return len(rows)


def newest_versions(records: list[dict]) -> list[dict]:
    """The newest version of each record (by NgayCapNhat; a later arrival wins a tie)."""
    newest: dict[str, dict] = {}
    for rec in records:
        key = str(rec["MaHoSo"]).strip()
        held = newest.get(key)
        if held is None or rec["NgayCapNhat"] >= held["NgayCapNhat"]:
            newest[key] = rec
    return list(newest.values())


def upsert_dossiers(conn, portal_code: str, accepted: list[dict], *, pii_key, run_id: str,
                    now: datetime) -> int:
    rows = [
        {**dossier_row(r, portal_code=portal_code, pii_key=pii_key), "run_id": run_id,
         "loaded_at": now}
        for r in newest_versions(accepted)
    ]
    upsert(conn, fct_dossier, rows, ["portal_code", "dossier_code"], newer_than="updated_at")
    return len(rows)


def upsert_quarantine(conn, portal_code: str, rejected, *, run_id: str, now: datetime,
                      raw_location: str | None = None) -> int:
    rows = {}
    for record, failures in rejected:
        first = failures[0]
        key = (record_key(record), version_key(record))
        rows[key] = {
            "portal_code": portal_code,
            "record_key": key[0],
            "version_key": key[1],
            "rule": first.rule,
            "field": first.field,
            "value": None if first.value is None else str(first.value)[:1000],
            "reason": "; ".join(f.reason for f in failures),
            "payload": canonical_json(record),
            "raw_page": raw_location,
            "status": "open",
            "run_id": run_id,
            "quarantined_at": now,
        }
    upsert(conn, quarantine_record, list(rows.values()),
           ["portal_code", "record_key", "version_key"])
    return len(rows)


def newest_update(records: list[dict]) -> datetime | None:
    newest = None
    for rec in records:
        try:
            moment = parse_portal_time(rec.get("NgayCapNhat"))
        except ValueError:
            continue
        if moment and (newest is None or moment > newest):
            newest = moment
    return newest


def read_watermark(conn, portal_code: str) -> datetime | None:
    return conn.execute(
        select(etl_watermark.c.updated_through).where(etl_watermark.c.portal_code == portal_code)
    ).scalar()


def advance_watermark(conn, portal_code: str, newest: datetime | None, *, run_id: str,
                      now: datetime) -> datetime | None:
    """Move the watermark forward to `newest` (never back); returns the watermark now held."""
    held = read_watermark(conn, portal_code)
    if newest is None or (held is not None and newest <= held):
        return held
    upsert(conn, etl_watermark, [{"portal_code": portal_code, "updated_through": newest,
                                  "run_id": run_id, "committed_at": now}], ["portal_code"])
    return newest


def record_portal_run(conn, row: dict) -> None:
    upsert(conn, etl_portal_run, [row], ["run_id", "portal_code"])


def missing_records(conn, portal_code: str, keys: set[str]) -> set[str]:
    """Record keys neither in fct_dossier nor in quarantine_record (should be none)."""
    if not keys:
        return set()
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start:start + 5000]
        found.update(conn.execute(select(fct_dossier.c.dossier_code).where(
            fct_dossier.c.portal_code == portal_code,
            fct_dossier.c.dossier_code.in_(chunk))).scalars())
        found.update(conn.execute(select(quarantine_record.c.record_key).where(
            quarantine_record.c.portal_code == portal_code,
            quarantine_record.c.record_key.in_(chunk))).scalars())
    return keys - found


def count_rows(conn, table, **where) -> int:
    stmt = select(func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    return conn.execute(stmt).scalar_one()


def record_window(conn, row: dict) -> None:
    upsert(conn, etl_extract_window, [row], ["run_id", "portal_code", "seq"])


def _windows(conn, portal_code: str, run_id: str) -> list[dict]:
    stmt = select(etl_extract_window).where(etl_extract_window.c.run_id == run_id,
                                            etl_extract_window.c.portal_code == portal_code)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def advance_run_watermark(conn, portal_code: str, *, run_id: str, n_windows: int,
                          now: datetime) -> datetime | None:
    """Advance the watermark to what this run's committed windows justify."""
    from egov.windows import committed_watermark

    target = committed_watermark(_windows(conn, portal_code, run_id), n_windows)
    return advance_watermark(conn, portal_code, target, run_id=run_id, now=now)


_COUNTS = ("pages", "records_received", "records_distinct", "duplicates_dropped",
           "records_loaded", "records_quarantined", "retries")


def record_portal_totals(conn, portal_code: str, *, run_id: str, n_windows: int,
                         now: datetime) -> dict:
    """etl_portal_run for (run, portal): the sums over its windows; `loaded` once every
    window is committed, else `partial`."""
    windows = [w for w in _windows(conn, portal_code, run_id) if w["status"] == "committed"]
    done = len({w["seq"] for w in windows})
    row = {
        "run_id": run_id, "portal_code": portal_code,
        "status": "loaded" if done >= n_windows else "partial",
        "window_from": min((w["window_from"] for w in windows), default=None),
        "window_to": None if not windows or any(w["window_to"] is None for w in windows)
        else max(w["window_to"] for w in windows),
        **{k: sum(int(w[k] or 0) for w in windows) for k in _COUNTS},
        "seconds": sum(float(w["seconds"] or 0) for w in windows),
        "units": count_rows(conn, dim_unit, portal_code=portal_code),
        "procedures": count_rows(conn, dim_procedure, portal_code=portal_code),
        "finished_at": now,
    }
    if row["status"] == "loaded":
        row["error"] = None
    upsert(conn, etl_portal_run, [row], ["run_id", "portal_code"])
    return {**row, "windows_committed": done, "windows": n_windows}
