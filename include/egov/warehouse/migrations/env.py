"""Alembic environment: the connection or URL comes from egov.warehouse.migrations."""

from alembic import context
from sqlalchemy import create_engine

from egov.warehouse.db import warehouse_url
from egov.warehouse.schema import metadata

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.attributes.get("url") or warehouse_url())
    with engine.begin() as conn:
        _run(conn)
