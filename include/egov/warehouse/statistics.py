"""Planner statistics after bulk writes (PostgreSQL).

A first load writes hundreds of thousands of rows that autovacuum analyses only later; the
snapshot queries planned on tables without statistics (estimated at 1 row) pick nested loops
that read millions of buffers. `analyze_stale` runs ANALYZE on the tables whose statistics are
missing or older than a tenth of their rows' changes, inside the caller's transaction (ANALYZE
samples ~30,000 rows, so it costs well under a second even on a large fct_dossier). SQLite
plans without them: nothing is done there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text

log = logging.getLogger(__name__)

STALE_SHARE = 0.1  # changes since the last ANALYZE, as a share of the live rows
STALE_MIN_ROWS = 500  # fewer changes than this never trigger an ANALYZE


def stale_tables(conn: Connection, tables: Sequence[str]) -> list[str]:
    """The tables of `tables` (in this database's search path) that need fresh statistics."""
    if conn.dialect.name != "postgresql" or not tables:
        return []
    rows = conn.execute(text(
        "SELECT relname, n_live_tup, n_mod_since_analyze, "
        "coalesce(last_analyze, last_autoanalyze) IS NULL AS never "
        "FROM pg_stat_user_tables WHERE relname IN :names AND schemaname = current_schema()"
    ).bindparams(bindparam("names", expanding=True)), {"names": list(tables)}).all()
    return sorted(name for name, live, changed, never in rows
                  if (never and (live or changed))
                  or (changed >= STALE_MIN_ROWS and changed > STALE_SHARE * live))


def analyze(conn: Connection, tables: Sequence[str]) -> None:
    """ANALYZE `tables` (names of this project's own tables, never user input)."""
    if conn.dialect.name != "postgresql":
        return
    for name in tables:
        conn.execute(text(f'ANALYZE "{name}"'))
    if tables:
        log.info("planner statistics refreshed: %s", ", ".join(tables))


def analyze_stale(conn: Connection, tables: Sequence[str]) -> list[str]:
    """ANALYZE those of `tables` whose statistics are missing or stale; returns their names."""
    names = stale_tables(conn, tables)
    analyze(conn, names)
    return names
