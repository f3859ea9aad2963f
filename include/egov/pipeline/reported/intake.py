"""Take the inbox: each new file once (by content hash), read as hostile
(egov.sources.reported), rows validated (egov.quality.reported), accepted rows stored as
revisions (egov.warehouse.reported), a receipt per file. The inbox's folders:
egov.sources.reported.client.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from egov.sources.reported.client import InboxClient, move, write_private
from egov.sources.reported.files import FileRefused, check_kind, read_rows, safe_name
from egov.warehouse.reported import FIGURE_KEYS

log = logging.getLogger(__name__)

ACCEPTED, REJECTED, DUPLICATE = "accepted", "rejected", "duplicate"
SAMPLE_PREFIX = "sample"  # a file named sample… holds demo figures (shown as such)


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
    """The inbox's folders (created owner-only): inbox, receipts, taken, refused."""
    return _client(base).folders()


def _client(base: Path | None) -> InboxClient:
    if base:
        return InboxClient(base)
    from egov.sources.reported.hook import ReportedInboxHook

    return ReportedInboxHook().get_conn()


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def take_inbox(engine=None, *, base: Path | None = None, plans=None, run_id: str | None = None,
               now: datetime | None = None) -> list[Outcome]:
    """Take every new file of the inbox (sorted by name); returns one outcome per file."""
    client = _client(base)
    dirs = client.folders()
    entries = client.entries()
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
            out.append(_take_entry(entry, client, dirs, context, run_id=run_id,
                                   now=now or _now()))
        return out
    finally:
        if own:
            engine.dispose()


def take_upload(name: str, data: bytes, *, user: str | None, engine=None,
                base: Path | None = None, plans=None, now: datetime | None = None) -> Outcome:
    """Take a file uploaded on the Targets page at once (same checks, same receipt)."""
    client = _client(base)
    dirs = client.folders()
    own = engine is None
    if own:
        from egov.warehouse.db import make_engine
        from egov.warehouse.migrations import upgrade

        engine = make_engine()
        upgrade(engine)
    try:
        return _take_bytes(safe_name(name), name, data, client, dirs, _Context(engine, plans),
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
            from egov.compute.reported import known_from, plan_children

            plans = self._plans if self._plans is not None else load_plans()
            children: dict = {}
            with self.engine.connect() as conn:
                for plan in plans:
                    children.update(plan_children(conn, plan))
            self._known = known_from(plans, children)
        return self._known


def _take_entry(entry: os.DirEntry, client: InboxClient, dirs: dict, context: _Context, *,
                run_id, now) -> Outcome:
    from egov.sources.reported.client import read_entry

    name = safe_name(entry.name)
    try:
        if entry.is_symlink():
            raise FileRefused("Là liên kết (symlink), không phải tệp: không đọc")
        check_kind(entry.name)
        data = read_entry(entry)
    except (FileRefused, OSError) as exc:
        reason = str(exc) if isinstance(exc, FileRefused) else "Không đọc được tệp"
        receipt = client.write_receipt(name, None, now, [(0, REJECTED, "file_refused", reason)])
        move(entry.path, dirs["refused"] / f"{now:%Y%m%dT%H%M%S}_{name}")
        log.warning("reported file %s refused: %s", name, reason)
        return Outcome(name, REJECTED, None, receipt, reason=reason)
    outcome = _take_bytes(name, entry.name, data, client, dirs, context, run_id=run_id,
                          now=now)
    file_hash = cast(str, outcome.file_hash)  # set for every file read
    move(entry.path, dirs["taken"] / f"{file_hash[:16]}_{name}"
         if outcome.status != DUPLICATE else
         dirs["taken"] / f"{file_hash[:16]}_{now:%Y%m%dT%H%M%S}_dup_{name}")
    return outcome


def _take_bytes(name: str, original: str, data: bytes, client: InboxClient, dirs: dict,
                context: _Context, *, run_id, now: datetime,
                uploaded_by: str | None = None) -> Outcome:
    from egov.warehouse import reported as stored_figures

    file_hash = hashlib.sha256(data).hexdigest()
    with context.engine.begin() as conn:
        earlier = stored_figures.earlier_file(conn, file_hash)
        if earlier is not None:
            message = (f"Tệp có nội dung giống hệt tệp “{earlier.file_name}” đã nhận lúc "
                       f"{earlier.received_at:%H:%M %d/%m/%Y}: không nhận lại")
            receipt = client.write_receipt(name, file_hash, now,
                                           [(0, DUPLICATE, "duplicate_file", message)])
            log.info("reported file %s: same content as %s, not taken again", name,
                     earlier.file_name)
            return Outcome(name, DUPLICATE, file_hash, receipt, reason=message)
        seq = stored_figures.next_taken_seq(conn)
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
            from egov.quality.reported import validate_rows

            verdicts = validate_rows(raw_rows, context.known, now.date())
            stored = stored_figures.stored_revisions(
                conn, [v.values for v in verdicts if v.accepted])
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
        stored_figures.record_file(
            conn, file_hash=file_hash, file_name=name, stored_as=stored_as, received_at=now,
            taken_seq=seq, status=outcome.status, rows_accepted=outcome.accepted,
            rows_rejected=outcome.rejected, reason=reason, is_sample=is_sample,
            uploaded_by=uploaded_by, run_id=run_id)
        if accepted_rows:
            stored_figures.insert_figures(conn, accepted_rows)
        outcome.receipt = client.write_receipt(name, file_hash, now, lines)
        if uploaded_by is not None:  # an upload is kept like an inbox file
            write_private(dirs["taken"] / f"{file_hash[:16]}_{name}", data)
    log.info("reported file %s: %s, %d accepted, %d rejected, %d duplicate rows", name,
             outcome.status, outcome.accepted, outcome.rejected, outcome.duplicates)
    return outcome
