"""Take the inbox: each new file once (by content hash), read as hostile, rows validated,
accepted rows stored as revisions (`fct_reported_figure`), a receipt per file.

Layout under EGOV_REPORTED_DIR (folders 0700, files 0600):
- `inbox/`    where filled files arrive; names starting with "." are in transfer, skipped;
- `receipts/` `<file name>.receipt.csv` per file (`<file name>.<hash>.receipt.csv` when a
  receipt of that name exists already);
- `taken/`    every file read, as `<hash>_<file name>` (kept: the evidence of what arrived);
- `refused/`  files refused before they were read (not a regular file, too large, a kind
  not accepted), as `<time>_<file name>`.
Only entries of `inbox/` are read, never through a symbolic link; nothing outside these
folders is touched.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from egov.sources.reported.columns import reported_dir
from egov.sources.reported.files import (
    FileRefused,
    cell_out,
    check_kind,
    check_size,
    max_bytes,
    read_rows,
    safe_name,
)

log = logging.getLogger(__name__)

RECEIPT_HEADER = ("row", "status", "rule", "message")
ACCEPTED, REJECTED, DUPLICATE = "accepted", "rejected", "duplicate"
SAMPLE_PREFIX = "sample"  # a file named sample… holds demo figures (shown as such)
FIGURE_KEYS = ("plan_code", "target_code", "unit_code", "year", "data_from", "data_to",
               "numerator", "denominator", "value_pct", "source_doc", "evidence_ref",
               "prepared_by", "approved_by", "approved_at", "basis", "note")


@dataclass
class Outcome:
    """What became of one inbox file."""

    name: str  # sanitised
    status: str  # taken | rejected (whole file) | duplicate (same content as before)
    file_hash: str | None
    receipt: Path
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    reason: str | None = None
    plans: set = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "file_hash": self.file_hash,
                "receipt": str(self.receipt), "accepted": self.accepted,
                "rejected": self.rejected, "duplicates": self.duplicates,
                "reason": self.reason, "plans": sorted(self.plans)}


def folders(base: Path | None = None) -> dict[str, Path]:
    base = Path(base) if base else reported_dir()
    out = {name: base / name for name in ("inbox", "receipts", "taken", "refused")}
    for path in (base, *out.values()):
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    return out


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def receipt_text(lines: list[tuple]) -> bytes:
    """The receipt CSV (UTF-8 with BOM, so spreadsheets read Vietnamese right); no cell can
    be a live formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR or LF in a value
    writer.writerow(RECEIPT_HEADER)  # gets the value quoted
    for line in lines:
        writer.writerow([cell_out(v) for v in line])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _receipt_path(dirs: dict, name: str, file_hash: str | None, when: datetime) -> Path:
    path = dirs["receipts"] / f"{name}.receipt.csv"
    if path.exists() or path.is_symlink():
        tag = file_hash[:12] if file_hash else when.strftime("%Y%m%dT%H%M%S")
        path = dirs["receipts"] / f"{name}.{tag}.receipt.csv"
    return path


def _move(source: str, target: Path) -> None:
    """Move an inbox entry (a link moves as a link, the file it names untouched);
    owner-only."""
    os.replace(source, target)
    info = target.lstat()
    if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:  # a link's file is left as it is
        os.chmod(target, 0o600)


def _read_entry(entry: os.DirEntry) -> bytes:
    """The bytes of a regular inbox file, never through a link, at most the size cap."""
    fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("Không phải tệp thường: không đọc")
        if info.st_nlink > 1:  # a hard link: the same file lives elsewhere too
            raise FileRefused("Tệp có liên kết cứng (hard link) tới nơi khác: không đọc")
        check_size(info.st_size)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes() + 1)
        check_size(len(data))
        return data
    finally:
        os.close(fd)


def take_inbox(engine=None, *, base: Path | None = None, plans=None, run_id: str | None = None,
               now: datetime | None = None) -> list[Outcome]:
    """Take every new file of the inbox (sorted by name); returns one outcome per file."""
    dirs = folders(base)
    entries = sorted((e for e in os.scandir(dirs["inbox"]) if not e.name.startswith(".")),
                     key=lambda e: e.name)
    if not entries:
        return []
    own = engine is None
    if own:
        from egov.warehouse.db import make_engine
        from egov.warehouse.migrations import upgrade

        engine = make_engine()
        upgrade(engine)
    try:
        context = _Context(engine, plans)
        out = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                log.warning("reported inbox: folder %s ignored", safe_name(entry.name))
                continue
            out.append(_take_entry(entry, dirs, context, run_id=run_id, now=now or _now()))
        return out
    finally:
        if own:
            engine.dispose()


def take_upload(name: str, data: bytes, *, user: str | None, engine=None,
                base: Path | None = None, plans=None, now: datetime | None = None) -> Outcome:
    """Take a file uploaded on the Targets page at once (same checks, same receipt)."""
    dirs = folders(base)
    own = engine is None
    if own:
        from egov.warehouse.db import make_engine
        from egov.warehouse.migrations import upgrade

        engine = make_engine()
        upgrade(engine)
    try:
        return _take_bytes(safe_name(name), name, data, dirs, _Context(engine, plans),
                           run_id=None, now=now or _now(), uploaded_by=user)
    finally:
        if own:
            engine.dispose()


class _Context:
    """The engine, the plans and what the suite checks against, read once per take."""

    def __init__(self, engine, plans):
        self.engine = engine
        self._plans = plans
        self._known = None

    @property
    def known(self):
        if self._known is None:
            from egov.compute.plans import load_plans
            from egov.reported_figures import plan_children
            from egov.sources.reported.validate import known_from

            plans = self._plans if self._plans is not None else load_plans()
            children: dict = {}
            with self.engine.connect() as conn:
                for plan in plans:
                    children.update(plan_children(conn, plan))
            self._known = known_from(plans, children)
        return self._known


def _take_entry(entry: os.DirEntry, dirs: dict, context: _Context, *, run_id, now) -> Outcome:
    name = safe_name(entry.name)
    try:
        if entry.is_symlink():
            raise FileRefused("Là liên kết (symlink), không phải tệp: không đọc")
        check_kind(entry.name)
        data = _read_entry(entry)
    except (FileRefused, OSError) as exc:
        reason = str(exc) if isinstance(exc, FileRefused) else "Không đọc được tệp"
        receipt = _receipt_path(dirs, name, None, now)
        _write_private(receipt, receipt_text([(0, REJECTED, "file_refused", reason)]))
        _move(entry.path, dirs["refused"] / f"{now:%Y%m%dT%H%M%S}_{name}")
        log.warning("reported file %s refused: %s", name, reason)
        return Outcome(name, REJECTED, None, receipt, reason=reason)
    outcome = _take_bytes(name, entry.name, data, dirs, context, run_id=run_id, now=now)
    _move(entry.path, dirs["taken"] / f"{outcome.file_hash[:16]}_{name}"
          if outcome.status != DUPLICATE else
          dirs["taken"] / f"{outcome.file_hash[:16]}_{now:%Y%m%dT%H%M%S}_dup_{name}")
    return outcome


def _take_bytes(name: str, original: str, data: bytes, dirs: dict, context: _Context, *,
                run_id, now: datetime, uploaded_by: str | None = None) -> Outcome:
    from sqlalchemy import func, insert, select

    from egov.warehouse.schema import etl_reported_file, fct_reported_figure

    file_hash = hashlib.sha256(data).hexdigest()
    with context.engine.begin() as conn:
        earlier = conn.execute(select(etl_reported_file.c.file_name,
                                      etl_reported_file.c.received_at)
                               .where(etl_reported_file.c.file_hash == file_hash)).first()
        if earlier is not None:
            receipt = _receipt_path(dirs, name, file_hash, now)
            message = (f"Tệp có nội dung giống hệt tệp “{earlier.file_name}” đã nhận lúc "
                       f"{earlier.received_at:%H:%M %d/%m/%Y}: không nhận lại")
            _write_private(receipt, receipt_text([(0, DUPLICATE, "duplicate_file", message)]))
            log.info("reported file %s: same content as %s, not taken again", name,
                     earlier.file_name)
            return Outcome(name, DUPLICATE, file_hash, receipt, reason=message)
        seq = (conn.execute(select(func.max(etl_reported_file.c.taken_seq))).scalar() or 0) + 1
        is_sample = name.lower().startswith(SAMPLE_PREFIX)
        lines: list[tuple] = []
        accepted_rows: list[dict] = []
        reason = None
        outcome = Outcome(name, "taken", file_hash, Path())
        try:
            raw_rows = read_rows(original, data)
        except FileRefused as exc:
            reason = str(exc)
            outcome.status = REJECTED
            lines.append((0, REJECTED, "file_unreadable", reason))
        else:
            from egov.sources.reported.validate import validate_rows

            verdicts = validate_rows(raw_rows, context.known, now.date())
            stored = _stored_revisions(conn, [v.values for v in verdicts if v.accepted])
            for verdict in verdicts:
                if not verdict.accepted:
                    outcome.rejected += 1
                    lines.append((verdict.number, REJECTED, ";".join(verdict.rules),
                                  "; ".join(verdict.messages)))
                    continue
                key = tuple(verdict.values[k] for k in FIGURE_KEYS)
                if key in stored:
                    outcome.duplicates += 1
                    lines.append((verdict.number, DUPLICATE, "duplicate_row",
                                  f"Giống hệt số liệu đã nhận ({stored[key]}): không lưu lại"))
                    continue
                stored[key] = f"tệp {name}, dòng {verdict.number}"
                outcome.accepted += 1
                outcome.plans.add(verdict.values["plan_code"])
                lines.append((verdict.number, ACCEPTED, "", "Đã nhận"))
                accepted_rows.append({**verdict.values, "file_hash": file_hash,
                                      "row_number": verdict.number, "file_name": name,
                                      "received_at": now, "taken_seq": seq,
                                      "is_sample": is_sample})
        if not lines:
            reason = "Tệp không có dòng số liệu nào"
            outcome.status = REJECTED
            lines.append((0, REJECTED, "file_empty", reason))
        outcome.reason = reason
        stored_as = f"taken/{file_hash[:16]}_{name}"
        conn.execute(insert(etl_reported_file).values(
            file_hash=file_hash, file_name=name, stored_as=stored_as, received_at=now,
            taken_seq=seq, status=outcome.status, rows_accepted=outcome.accepted,
            rows_rejected=outcome.rejected, reason=reason, is_sample=is_sample,
            uploaded_by=uploaded_by, run_id=run_id))
        if accepted_rows:
            from egov.warehouse.upsert import execute_rows

            execute_rows(conn, insert(fct_reported_figure), accepted_rows,
                         table=fct_reported_figure, keys=("file_hash", "row_number"))
        outcome.receipt = _receipt_path(dirs, name, file_hash, now)
        _write_private(outcome.receipt, receipt_text(lines))
        if uploaded_by is not None:  # an upload is kept like an inbox file
            _write_private(dirs["taken"] / f"{file_hash[:16]}_{name}", data)
    log.info("reported file %s: %s, %d accepted, %d rejected, %d duplicate rows", name,
             outcome.status, outcome.accepted, outcome.rejected, outcome.duplicates)
    return outcome


def _stored_revisions(conn, values: list[dict]) -> dict[tuple, str]:
    """The stored revisions of the (plan, target, unit, year) keys of `values`, by content."""
    from sqlalchemy import select, tuple_

    from egov.reported_figures import _as_date
    from egov.warehouse.schema import fct_reported_figure as f

    keys = sorted({(v["plan_code"], v["target_code"], v["unit_code"], v["year"])
                   for v in values})
    out: dict[tuple, str] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start:start + 200]
        rows = conn.execute(select(f).where(
            tuple_(f.c.plan_code, f.c.target_code, f.c.unit_code, f.c.year).in_(chunk)))
        for r in rows.mappings():
            key = []
            for k in FIGURE_KEYS:
                value = r[k]
                if k in ("data_from", "data_to", "approved_at") and value is not None:
                    value = _as_date(value)
                if k == "value_pct" and value is not None:
                    from decimal import Decimal

                    value = Decimal(str(value)).quantize(Decimal("0.01"))
                key.append(value)
            out[tuple(key)] = f"tệp {r['file_name']}, dòng {r['row_number']}"
    return out
