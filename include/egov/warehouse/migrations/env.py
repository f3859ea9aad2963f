"""Alembic environment: the connection or URL comes from egov.warehouse.migrations."""

from alembic import context
from sqlalchemy import create_engine

from egov.warehouse import bi_views
from egov.warehouse.db import warehouse_url
from egov.warehouse.schema import metadata

config = context.config


def _pending(connection) -> bool:
    """Whether this invocation may run a migration (not an upgrade to where we already are)."""
    from alembic.script import ScriptDirectory

    current = set(context.get_context().get_current_heads())
    heads = set(ScriptDirectory.from_config(config).get_heads())
    return not (context.get_revision_argument() in ("head", "heads") and current == heads)


def _views_out_of_the_way(*, ctx, step, heads, run_args) -> None:
    """After each migration step: a later step may rebuild a table a view reads."""
    bi_views.drop_views(ctx.connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        on_version_apply=_views_out_of_the_way,  # type: ignore[arg-type]  # alembic calls it by keyword
    )
    pending = _pending(connection)
    with context.begin_transaction():
        # BI views pin their tables (egov.warehouse.bi_views): out of the way while tables
        # change, then recreated from their current definitions.
        if pending:
            bi_views.drop_views(connection)
        context.run_migrations()
        if pending and bi_views.tables_present(connection):
            bi_views.create_views(connection, bi_views.views_for(connection))


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.attributes.get("url") or warehouse_url())
    with engine.begin() as conn:
        _run(conn)
