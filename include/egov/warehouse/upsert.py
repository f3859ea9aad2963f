"""INSERT ... ON CONFLICT for SQLite and PostgreSQL alike, and writes whose errors carry no
row values (egov.safe_errors)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func

from egov.safe_errors import WarehouseWriteError, db_error_summary


def _insert(conn):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the contract names these two
        raise NotImplementedError(f"no upsert for {conn.dialect.name}")
    return insert


def _keys_of(rows: Sequence[dict], keys: Sequence[str]) -> str:
    def key(row):
        values = tuple(str(row.get(k))[:80] for k in keys)
        return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"

    if not keys or not rows:
        return ""
    if len(rows) == 1:
        return f"; the row with key {key(rows[0])}"
    return f"; one of {len(rows)} rows with keys {key(rows[0])} .. {key(rows[-1])}"


def execute_rows(conn, stmt, rows: Sequence[dict], *, table, keys: Sequence[str] = (),
                 chunk: int = 2000) -> None:
    """Execute `stmt` for `rows` in chunks. A failure raises WarehouseWriteError naming the
    table, the kind of error and the keys of the chunk, never a value of the rows (nor does
    it chain the driver's error, whose text may quote them)."""
    for start in range(0, len(rows), chunk):
        part = list(rows[start:start + chunk])
        try:
            conn.execute(stmt, part)
        except Exception as exc:  # noqa: BLE001 - every failure is re-raised, cleaned
            error = WarehouseWriteError(
                f"writing {table.name} failed: {db_error_summary(exc)}{_keys_of(part, keys)}")
        else:
            continue
        raise error from None


def upsert(conn, table, rows: Sequence[dict], keys: Sequence[str], *, newer_than: str | None = None,
           keep_when_null: Sequence[str] = (), only_if_same: str | None = None,
           chunk: int = 2000) -> None:
    """Insert `rows`, updating on key conflict; with `newer_than`, only where that column of the
    incoming row is >= the stored one (an older version never overwrites a newer one); the
    columns of `keep_when_null` keep their stored value when the incoming one is null; with
    `only_if_same`, a stored row is updated only when that column is equal (another owner's
    row is left alone)."""
    if not rows:
        return
    insert = _insert(conn)
    stmt = insert(table)
    # Only the columns the rows carry are updated: the others keep what is stored.
    updates = {name: (func.coalesce(stmt.excluded[name], table.c[name])
                      if name in keep_when_null else stmt.excluded[name])
               for name in rows[0] if name not in keys}
    conditions = []
    if newer_than:
        conditions.append(table.c[newer_than] <= stmt.excluded[newer_than])
    if only_if_same:
        conditions.append(table.c[only_if_same] == stmt.excluded[only_if_same])
    where = and_(*conditions) if conditions else None
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=where)
    execute_rows(conn, stmt, rows, table=table, keys=keys, chunk=chunk)
