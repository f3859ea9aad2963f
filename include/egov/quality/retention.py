"""Retention of the two restricted stores, which hold applicants' personal data by design:

- the raw zone (`EGOV_RAW_DIR`): pages as the portals sent them;
  `purge_raw_zone(root, days, now)` deletes run folders older than `days`
  (`EGOV_RAW_RETENTION_DAYS`, default 90), only those whose raw-zone manifest names them;
- `quarantine_record.payload`: rejected versions as received;
  `redact_quarantine(conn, days, now)` blanks the personal fields (ChuHoSo, SoGiayToChuHoSo,
  SoDienThoai, Email, DiaChi) of payloads replayed, or quarantined, more than `days` ago
  (`EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS`, default 180), and masks their reason and value
  (egov.masking);
- samples of portal values shown by data quality, kept as long as quarantine payloads:
  `redact_validation_samples` clears dq_validation_result's partial_unexpected_list and
  observed_value, `purge_data_docs` deletes the GX Data Docs validation results and pages
  (and rewrites the index).
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from egov.masking import mask_value
from egov.settings import number
from egov.sources.onestop.records import PERSONAL_FIELDS

log = logging.getLogger(__name__)

def raw_retention_days() -> int | None:
    """EGOV_RAW_RETENTION_DAYS; 0 = keep forever (None)."""
    return number("EGOV_RAW_RETENTION_DAYS") or None


def quarantine_payload_retention_days() -> int | None:
    """EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS; 0 = keep forever (None)."""
    return number("EGOV_QUARANTINE_PAYLOAD_RETENTION_DAYS") or None


def _naive_local(moment: datetime) -> datetime:
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _is_link(path) -> bool:
    return isinstance(path, Path) and path.is_symlink()


def _owned_run(portal_dir, run_dir) -> dict | None:
    """The manifest of a raw-zone run folder, if the folder is one: a real folder (not a
    link) holding a readable manifest whose portal_code is its parent's name and whose run_id
    gives its name. Anything else is not ours to delete: None."""
    from egov.sources.raw_zone import MANIFEST, RawZoneError, is_run_folder_of, read_manifest

    if _is_link(run_dir) or not run_dir.is_dir():
        return None
    manifest_path = run_dir / MANIFEST
    if _is_link(manifest_path) or not manifest_path.exists():
        return None
    try:
        manifest = read_manifest(str(manifest_path))
    except RawZoneError as exc:
        log.warning("raw zone: %s; folder kept", exc)
        return None
    if manifest.get("portal_code") != portal_dir.name or not is_run_folder_of(
            run_dir.name, manifest["run_id"]):
        log.warning("raw zone: %s names portal %r, run %r: not this folder's; kept",
                    manifest_path, manifest.get("portal_code"), manifest["run_id"])
        return None
    return manifest


def _run_time(run_dir, manifest: dict) -> datetime | None:
    """When a run folder was written: its manifest's extracted_at (or started_at, for an
    extraction that never ended), else the newest file's modification time."""
    for key in ("extracted_at", "started_at"):
        try:
            if manifest.get(key):
                return _naive_local(datetime.fromisoformat(str(manifest[key])))
        except ValueError:
            continue
    times = []
    for child in run_dir.iterdir():
        try:
            times.append(child.stat().st_mtime)
        except (OSError, AttributeError):
            continue
    return datetime.fromtimestamp(max(times)) if times else None


def _remove(path) -> None:
    if isinstance(path, Path):
        shutil.rmtree(path)
    else:  # an ObjectStoragePath
        path.fs.rm(path.path, recursive=True)


def purge_raw_zone(root, days: int | None, now: datetime) -> list[str]:
    """Delete the run folders `<root>/<portal>/<run>/` written more than `days` days before
    `now`, and only those: a folder without a raw-zone manifest naming it (egov.sources.raw_zone)
    is never touched, whatever `root` points at. `days` None: keep everything. Returns the
    folders removed."""
    from egov.settings import PORTAL_CODE
    from egov.sources.raw_zone import _path

    if days is None:
        return []
    if days < 0:
        raise ValueError("days must be >= 0")
    base = _path(str(root))
    if not base.exists():
        return []
    cutoff = _naive_local(now) - timedelta(days=days)
    removed = []
    for portal_dir in sorted(base.iterdir()):
        if _is_link(portal_dir) or not portal_dir.is_dir() or \
                not PORTAL_CODE.fullmatch(portal_dir.name):
            continue
        for run_dir in sorted(portal_dir.iterdir()):
            manifest = _owned_run(portal_dir, run_dir)
            if manifest is None:
                continue
            written = _run_time(run_dir, manifest)
            if written is not None and written < cutoff:
                _remove(run_dir)
                removed.append(str(run_dir))
    log.info("raw zone %s: %d run folders older than %d days deleted", base, len(removed), days)
    return removed


def redact_payload(payload: str) -> str:
    record = json.loads(payload)
    if isinstance(record, dict):
        for name in PERSONAL_FIELDS:
            if record.get(name) not in (None, ""):
                record[name] = None
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def redact_quarantine(conn, days: int | None, now: datetime) -> int:
    """Blank the personal fields of quarantine payloads replayed, or quarantined, more than
    `days` days before `now` (once per payload written: `redacted_at` is set; a version
    quarantined again gets a fresh payload and is redacted again in time). Returns rows
    redacted."""
    from sqlalchemy import and_, bindparam, or_, select, update

    from egov.warehouse.schema import quarantine_record as q

    if days is None:
        return 0
    if days < 0:
        raise ValueError("days must be >= 0")
    now = _naive_local(now)
    cutoff = now - timedelta(days=days)
    # Not yet redacted, or quarantined again (payload written afresh) since it was.
    unredacted = or_(q.c.redacted_at.is_(None), q.c.redacted_at < q.c.quarantined_at)
    rows = conn.execute(select(q.c.portal_code, q.c.record_key, q.c.version_key, q.c.payload,
                               q.c.reason, q.c.value)
                        .where(unredacted,
                               or_(q.c.quarantined_at < cutoff,
                                   and_(q.c.status == "replayed", q.c.replayed_at < cutoff)))
                        ).all()
    if not rows:
        return 0
    stmt = (update(q).where(q.c.portal_code == bindparam("p"), q.c.record_key == bindparam("k"),
                            q.c.version_key == bindparam("v"))
            .values(payload=bindparam("new_payload"), reason=bindparam("new_reason"),
                    value=bindparam("new_value"), redacted_at=now))
    params = [{"p": r.portal_code, "k": r.record_key, "v": r.version_key,
               "new_payload": redact_payload(r.payload),
               "new_reason": mask_value(r.reason), "new_value": mask_value(r.value)}
              for r in rows]
    for start in range(0, len(params), 2000):
        conn.execute(stmt, params[start:start + 2000])
    log.info("quarantine: personal fields blanked in %d payloads older than %d days",
             len(params), days)
    return len(params)


def redact_validation_samples(conn, days: int | None, now: datetime) -> int:
    """Clear the samples (partial_unexpected_list, observed_value) of dq_validation_result
    rows validated more than `days` days before `now`. Returns rows cleared."""
    from sqlalchemy import or_, update

    from egov.warehouse.schema import dq_validation_result as t

    if days is None:
        return 0
    if days < 0:
        raise ValueError("days must be >= 0")
    cutoff = _naive_local(now) - timedelta(days=days)
    done = conn.execute(update(t).where(
        t.c.validated_at < cutoff,
        or_(t.c.partial_unexpected_list.is_not(None), t.c.observed_value.is_not(None)))
        .values(partial_unexpected_list=None, observed_value=None))
    log.info("data quality: samples cleared in %d results older than %d days",
             done.rowcount, days)
    return done.rowcount


def purge_data_docs(root, days: int | None, now: datetime) -> int:
    """Delete the GX Data Docs validation results (`.json`) and pages (`.html`) under `root`
    written more than `days` days before `now`, then rewrite the site's index. Only files
    under a `validations` folder of the project are touched. Returns files deleted."""
    from egov.quality import docs_site
    from egov.quality.data_docs import restrict, site_dir

    if days is None:
        return 0
    if days < 0:
        raise ValueError("days must be >= 0")
    root = Path(root)
    if not root.exists():
        return 0
    cutoff = (_naive_local(now) - timedelta(days=days)).timestamp()
    removed = 0
    for path in list(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix not in (".json", ".html") \
                or "validations" not in path.relative_to(root).parts:
            continue
        if path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    site = site_dir(root)
    if removed and site.exists():
        docs_site.write_index(site, root)
        restrict(root)
    log.info("data docs %s: %d validation files older than %d days deleted", root, removed,
             days)
    return removed
