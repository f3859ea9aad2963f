"""Shared fixtures: migrated warehouses on SQLite and on a real PostgreSQL server.

PostgreSQL comes from EGOV_TEST_PG_URL (a server URL whose database may be created and
dropped); `.ci/run` makes sure the server is up, and `make test` (scripts/test_services.py)
starts one from pip wheels when none answers. A missing server is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_ADMIN_URL = os.environ.get(
    "EGOV_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def create_pg_database(prefix: str = "egov_test") -> str:
    """Create a fresh database on the test server; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture
def pg_url():
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse(request, tmp_path):
    """A migrated, empty warehouse engine, once per database kind."""
    from egov.warehouse.db import make_engine
    from egov.warehouse.migrations import upgrade

    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'warehouse.db'}", None
    else:
        url = create_pg_database()
        cleanup = url
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    if cleanup:
        drop_pg_database(cleanup)


def pytest_collection_modifyitems(config, items):
    """Longest test files first (tests/file_durations.json, from scripts/test_durations.py;
    a file not listed counts as short), each file's tests in their own order: with
    `--dist loadfile` the long end-to-end files start first and no worker waits at the end
    for another finishing one alone."""
    import json
    from pathlib import Path

    path = Path(__file__).with_name("file_durations.json")
    try:
        seconds = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    root = Path(str(config.rootpath))

    def weight(item) -> float:
        try:
            name = Path(str(item.path)).relative_to(root).as_posix()
        except ValueError:
            return 0.0
        return float(seconds.get(name, 0.0))

    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (-weight(item), order[id(item)]))
