"""Idempotent loads of one portal's batch: units, catalogue, records, quarantine, watermark.

Rows come from `egov.sources.onestop.records` (each record version parsed, typed and bounded once); what is
written here fits the columns whatever the portal sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import datetime
from operator import itemgetter

from sqlalchemy import delete, func, insert, select, text

from egov.safe_errors import SafeMessageError
from egov.sources.onestop.records import (
    RecordVersion,
    applicant_hash,
    newest_versions,
    parse_version,
    payload_json,
    procedure_rows,
    storable,
    unit_rows,
)
from egov.warehouse.pgcopy import copy_upsert
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
from egov.warehouse.upsert import execute_rows, upsert

log = logging.getLogger(__name__)

__all__ = ["LoadIncomplete", "UnitCodeConflict", "lock_portal", "newest_versions", "replace_units",
           "upsert_dossiers", "upsert_quarantine"]


class UnitCodeConflict(SafeMessageError):
    """A portal sent unit codes that another portal's units already hold (unit codes are
    national and unique across portals: docs/contracts/indicators.md)."""


class LoadIncomplete(SafeMessageError):
    """Some received records ended neither in fct_dossier nor in quarantine_record."""


def lock_portal(conn, portal_code: str) -> None:
    """Serialise the loads of one portal until this transaction ends (two windows of a first
    load run at once): PostgreSQL takes a transaction-level advisory lock on the portal;
    SQLite takes its one writer lock now (a write that changes nothing)."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(f"egov.portal:{portal_code}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE etl_watermark SET portal_code = portal_code WHERE 0"))


def _conflicts(conn, portal_code: str, codes) -> dict[str, str]:
    """unit code → the other portal holding it, for `codes` held by other portals."""
    found: dict[str, str] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start:start + 5000]
        found.update(conn.execute(select(dim_unit.c.unit_code, dim_unit.c.portal_code).where(
            dim_unit.c.unit_code.in_(chunk), dim_unit.c.portal_code != portal_code)).all())
    return found


def _conflict_error(portal_code: str, conflicts: dict[str, str]) -> UnitCodeConflict:
    others = sorted(set(conflicts.values()))
    codes = sorted(conflicts)
    shown = ", ".join(codes[:10]) + (f", ... ({len(codes)} in all)" if len(codes) > 10 else "")
    return UnitCodeConflict(
        f"portal {portal_code}: /api/donvi sends unit codes that portal(s) "
        f"{', '.join(others)} already hold: {shown}. Unit codes are national and unique "
        f"across portals; the units of {portal_code} were not loaded. Fix the unit list of "
        f"one portal (or the portals file, if both are the same portal).")


def replace_units(conn, portal_code: str, units: list, *, run_id: str, now: datetime,
                  adjusted: Counter | None = None) -> int:
    """Replace the portal's dim_unit rows and unit_closure with `units` (raw /api/donvi
    items). Raises UnitCodeConflict, before writing, when another portal holds one of the
    codes."""
    rows = unit_rows(units, portal_code=portal_code, adjusted=adjusted)
    conflicts = _conflicts(conn, portal_code, rows)
    if conflicts:
        raise _conflict_error(portal_code, conflicts)
    conn.execute(delete(unit_closure).where(unit_closure.c.portal_code == portal_code))
    conn.execute(delete(dim_unit).where(dim_unit.c.portal_code == portal_code))
    if rows:
        stamped = [{**r, "run_id": run_id, "loaded_at": now} for r in rows.values()]
        # Another portal's row is never taken over; a code it inserted meanwhile (it was
        # loading at the same time) shows in the check after the insert.
        upsert(conn, dim_unit, stamped, ["unit_code"], only_if_same="portal_code")
        conflicts = _conflicts(conn, portal_code, rows)
        if conflicts:
            raise _conflict_error(portal_code, conflicts)
        closure = closure_rows(portal_code, {u: r["parent_code"] for u, r in rows.items()})
        execute_rows(conn, insert(unit_closure), closure, table=unit_closure,
                     keys=("ancestor_code", "descendant_code"))
    return len(rows)


def replace_catalogue(conn, portal_code: str, procedures: list, *, run_id: str,
                      now: datetime, adjusted: Counter | None = None) -> int:
    rows, links = procedure_rows(procedures, portal_code=portal_code, adjusted=adjusted)
    conn.execute(delete(procedure_unit).where(procedure_unit.c.portal_code == portal_code))
    conn.execute(delete(dim_procedure).where(dim_procedure.c.portal_code == portal_code))
    if rows:
        execute_rows(conn, insert(dim_procedure),
                     [{**r, "run_id": run_id, "loaded_at": now} for r in rows.values()],
                     table=dim_procedure, keys=("procedure_code",))
    if links:
        execute_rows(conn, insert(procedure_unit), list(links.values()), table=procedure_unit,
                     keys=("procedure_code", "unit_code"))
    return len(rows)


def _versions(items) -> list[RecordVersion]:
    """Parsed versions as they come; raw items (callers outside the load step) parsed here."""
    return [v if isinstance(v, RecordVersion) else parse_version(v) for v in items]


def upsert_dossiers(conn, portal_code: str, accepted: list[RecordVersion], *, pii_key,
                    run_id: str, now: datetime) -> int:
    """Upsert the newest of the accepted versions of each record into fct_dossier: an older
    version never overwrites a newer one, and a stored applicant hash is never replaced by
    null (a load without the ID number, or without the key). `accepted`: RecordVersions (or
    raw items, parsed here). PostgreSQL: COPY into a staging table and one merge
    (egov.warehouse.pgcopy); SQLite: batched INSERT ... ON CONFLICT."""
    newest = newest_versions(_versions(accepted))
    keys = ["portal_code", "dossier_code"]
    if conn.dialect.name != "postgresql":
        rows: list = [{"portal_code": portal_code, **v.row,  # type: ignore[dict-item]  # accepted: a row
                 "applicant_id_hash": applicant_hash(v.value("SoGiayToChuHoSo"), pii_key),
                 "run_id": run_id, "loaded_at": now}
                for v in newest]
        upsert(conn, fct_dossier, rows, keys, newer_than="updated_at",
               keep_when_null=("applicant_id_hash",))
        return len(rows)
    if newest:  # rows as tuples: no dict built per row
        fields = list(newest[0].row)  # type: ignore[arg-type]  # accepted versions have a row
        values = itemgetter(*fields)
        rows = [(portal_code, *values(v.row),  # type: ignore[arg-type]  # as above
                 applicant_hash(v.value("SoGiayToChuHoSo"), pii_key), run_id, now)
                for v in newest]
        copy_upsert(conn, fct_dossier, rows, keys, newer_than="updated_at",
                    keep_when_null=("applicant_id_hash",),
                    columns=["portal_code", *fields, "applicant_id_hash", "run_id", "loaded_at"])
    return len(newest)


def upsert_quarantine(conn, portal_code: str, rejected, *, run_id: str, now: datetime,
                      raw_location: str | None = None) -> int:
    """One quarantine_record row per rejected version ((RecordVersion, failures) pairs)."""
    rows = {}
    for version, failures in rejected:
        if not isinstance(version, RecordVersion):
            version = parse_version(version)
        first = failures[0]
        value = None if first.value is None else storable(str(first.value)[:1000])[0]
        rows[version.identity] = {
            "portal_code": portal_code,
            "record_key": version.record_key,
            "version_key": version.version_key,
            "rule": first.rule,
            "field": first.field,
            "value": value,
            "reason": storable("; ".join(f.reason for f in failures))[0],
            "payload": payload_json(version.payload),
            "raw_page": raw_location,
            "requested_at": version.requested_at,
            "status": "open",
            "run_id": run_id,
            "quarantined_at": now,
        }
    upsert(conn, quarantine_record, list(rows.values()),
           ["portal_code", "record_key", "version_key"])
    return len(rows)


def newest_update(versions: list[RecordVersion]) -> datetime | None:
    """The newest NgayCapNhat of `versions` that may move the watermark: never one stamped
    more than a day after the request that returned it (rule updated_at_future), and never
    past that request: a version stamped by a clock running ahead is kept, but the watermark
    stops at the request moment, so changes stamped between the two are read next time."""
    moments = [v.updated_at if v.requested_at is None else min(v.updated_at, v.requested_at)
               for v in versions if v.updated_at is not None and not v.is_future]
    return max(moments, default=None)


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
    """Record keys neither in fct_dossier nor in quarantine_record (should be none).
    PostgreSQL: one statement with the keys as one array parameter, answering only the
    missing keys; SQLite: IN lists of 5,000 keys."""
    if not keys:
        return set()
    if conn.dialect.name == "postgresql":
        stmt = text(
            "SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE NOT EXISTS "
            "(SELECT 1 FROM fct_dossier d WHERE d.portal_code = :portal AND d.dossier_code = k)"
            " AND NOT EXISTS (SELECT 1 FROM quarantine_record q WHERE q.portal_code = :portal"
            " AND q.record_key = k)")
        return set(conn.execute(stmt, {"keys": list(keys), "portal": portal_code}).scalars())
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
    from egov.sources.onestop.windows import committed_watermark

    target = committed_watermark(_windows(conn, portal_code, run_id), n_windows)
    return advance_watermark(conn, portal_code, target, run_id=run_id, now=now)


_COUNTS = ("pages", "records_received", "records_distinct", "duplicates_dropped",
           "records_loaded", "records_quarantined", "retries", "values_nulled", "values_cut")


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
