"""Alembic migrations of the warehouse, run from code (the DAG's first task) or the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import cast

SCRIPT_LOCATION = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(engine, revision: str = "head") -> None:
    """Bring the warehouse schema to `revision` (idempotent)."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return cast(str, head)  # one linear history: there is always a head
