"""Recent runs of a portal, read back from `dq_validation_result`, for the batch-level
expectations: per run, the number of record versions validated and the shares of null
`KenhThucHien` and null `NgayHenTra` among them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchHistory:
    """Recent runs' figures, newest first. Pass to `validate_dossiers(..., history=...)`."""

    volumes: list[int] = field(default_factory=list)
    null_channel_shares: list[float] = field(default_factory=list)
    null_due_shares: list[float] = field(default_factory=list)


def recent_history(conn, portal_code: str, *, before_run_id: str | None = None,
                   runs: int = 7) -> BatchHistory:
    """The last `runs` validated runs of `portal_code` (other than `before_run_id`); the
    windows of a run add up. Meant for incremental runs (one window): a first load or a full
    refresh is not a typical night, so don't pass history to its validation."""
    from sqlalchemy import and_, or_, select

    from egov.quality.records import RECORD_SUITE
    from egov.warehouse.schema import dq_validation_result as t

    stmt = (select(t.c.run_id, t.c.window_seq, t.c.rule, t.c.field, t.c.element_count,
                   t.c.missing_count, t.c.validated_at)
            .where(t.c.portal_code == portal_code, t.c.suite == RECORD_SUITE,
                   or_(t.c.rule == "channel_valid",
                       and_(t.c.rule == "date_format", t.c.field == "NgayHenTra")))
            .order_by(t.c.validated_at.desc(), t.c.run_id.desc()))
    if before_run_id is not None:
        stmt = stmt.where(t.c.run_id != before_run_id)
    per_run: dict[str, dict] = {}
    for row in conn.execute(stmt).mappings():
        if row["run_id"] not in per_run and len(per_run) >= runs:
            continue
        entry = per_run.setdefault(row["run_id"], {"n": {}, "channel_valid": 0,
                                                   "date_format": 0})
        entry["n"][row["window_seq"]] = row["element_count"] or 0  # windows of a run add up
        entry[row["rule"]] += row["missing_count"] or 0
    history = BatchHistory()
    for entry in per_run.values():
        n = sum(entry["n"].values())
        history.volumes.append(n)
        if n:
            history.null_channel_shares.append(entry["channel_valid"] / n)
            history.null_due_shares.append(entry["date_format"] / n)
    return history
