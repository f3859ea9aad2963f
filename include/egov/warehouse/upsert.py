"""INSERT ... ON CONFLICT for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence


def _insert(conn):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the contract names these two
        raise NotImplementedError(f"no upsert for {conn.dialect.name}")
    return insert


def upsert(conn, table, rows: Sequence[dict], keys: Sequence[str], *, newer_than: str | None = None,
           chunk: int = 2000) -> None:
    """Insert `rows`, updating on key conflict; with `newer_than`, only where that column of the
    incoming row is >= the stored one (an older version never overwrites a newer one)."""
    if not rows:
        return
    insert = _insert(conn)
    stmt = insert(table)
    # Only the columns the rows carry are updated: the others keep what is stored.
    updates = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    where = None
    if newer_than:
        where = table.c[newer_than] <= stmt.excluded[newer_than]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=where)
    for start in range(0, len(rows), chunk):
        conn.execute(stmt, list(rows[start:start + chunk]))
