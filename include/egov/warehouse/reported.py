"""Reported files and figures in the warehouse: `etl_reported_file` (one row per file taken)
and `fct_reported_figure` (every accepted row, a revision, never overwritten)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

FIGURE_KEYS = ("plan_code", "target_code", "unit_code", "year", "data_from", "data_to",
               "numerator", "denominator", "value_pct", "source_doc", "evidence_ref",
               "prepared_by", "approved_by", "approved_at", "basis", "note")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def earlier_file(conn, file_hash: str):
    """The file taken before with the same content (file_name, received_at), or None."""
    from sqlalchemy import select

    from egov.warehouse.schema import etl_reported_file

    return conn.execute(select(etl_reported_file.c.file_name, etl_reported_file.c.received_at)
                        .where(etl_reported_file.c.file_hash == file_hash)).first()


def next_taken_seq(conn) -> int:
    from sqlalchemy import func, select

    from egov.warehouse.schema import etl_reported_file

    return (conn.execute(select(func.max(etl_reported_file.c.taken_seq))).scalar() or 0) + 1


def record_file(conn, **values) -> None:
    """A row of etl_reported_file."""
    from sqlalchemy import insert

    from egov.warehouse.schema import etl_reported_file

    conn.execute(insert(etl_reported_file).values(**values))


def insert_figures(conn, rows: list[dict]) -> None:
    """Accepted rows as revisions of fct_reported_figure (idempotent on file and row)."""
    from sqlalchemy import insert

    from egov.warehouse.schema import fct_reported_figure
    from egov.warehouse.upsert import execute_rows

    execute_rows(conn, insert(fct_reported_figure), rows,
                 table=fct_reported_figure, keys=("file_hash", "row_number"))


def stored_revisions(conn, values: list[dict]) -> dict[tuple, str]:
    """The stored revisions of the (plan, target, unit, year) keys of `values`, by content."""
    from sqlalchemy import select, tuple_

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
                    value = Decimal(str(value)).quantize(Decimal("0.01"))
                key.append(value)
            out[tuple(key)] = f"tệp {r['file_name']}, dòng {r['row_number']}"
    return out


def claim_uploads(engine, run_id: str | None) -> set[str]:
    """The plans of uploaded files no run has evaluated yet; they are marked with `run_id`."""
    from sqlalchemy import select, update

    from egov.warehouse.schema import etl_reported_file as files
    from egov.warehouse.schema import fct_reported_figure as figures

    with engine.begin() as conn:
        hashes = list(conn.execute(select(files.c.file_hash).where(
            files.c.run_id.is_(None), files.c.uploaded_by.is_not(None))).scalars())
        if not hashes:
            return set()
        plans = set(conn.execute(select(figures.c.plan_code).distinct()
                                 .where(figures.c.file_hash.in_(hashes))).scalars())
        conn.execute(update(files).where(files.c.file_hash.in_(hashes))
                     .values(run_id=run_id or "claimed"))
    return plans
