"""Planner statistics after bulk writes: stale tables are ANALYZEd, fresh ones are left."""

from __future__ import annotations

import time

from sqlalchemy import text

from egov.warehouse.db import make_engine
from egov.warehouse.statistics import analyze_stale, stale_tables


def _wait_for(conn, predicate, seconds: float = 15.0):
    """pg_stat_* counters reach other sessions asynchronously (flushed by the writer)."""
    deadline = time.monotonic() + seconds
    while True:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _write(url: str, statement: str) -> None:
    """Write from a session of its own, ended at once: like a load task, it flushes its
    statistics counters when it ends."""
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.execute(text(statement))
    writer.dispose()


def test_a_bulk_loaded_table_is_analyzed_once(pg_url):
    _write(pg_url, "CREATE TABLE bulk (x integer); CREATE TABLE quiet (x integer); "
                   "INSERT INTO bulk SELECT generate_series(1, 5000)")
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert _wait_for(conn, lambda: stale_tables(conn, ["bulk", "quiet"])) == ["bulk"]
        assert analyze_stale(conn, ["bulk", "quiet"]) == ["bulk"]
        conn.commit()
        analyzed = _wait_for(conn, lambda: conn.execute(text(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = 'bulk'")).scalar())
        assert analyzed
        assert conn.execute(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'bulk'")).scalar() == 5000
        assert stale_tables(conn, ["bulk", "quiet"]) == []
        # A few changes on a big table do not trigger a new ANALYZE; many do.
        conn.commit()
        _write(pg_url, "UPDATE bulk SET x = -x WHERE x <= 100")
        assert _wait_for(conn, lambda: stale_tables(conn, ["bulk"]), seconds=2) == []
        _write(pg_url, "UPDATE bulk SET x = -x WHERE x > 4000")
        assert _wait_for(conn, lambda: stale_tables(conn, ["bulk"])) == ["bulk"]
    engine.dispose()


def test_sqlite_needs_nothing(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bulk (x integer)"))
        conn.execute(text("INSERT INTO bulk VALUES (1), (2)"))
        assert analyze_stale(conn, ["bulk"]) == []
    engine.dispose()
