"""agg_dossier_log: the fct_dossier triggers log only the rows of portals whose aggregates
are built (in agg_state)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 03:00:00

A portal not in agg_state is rebuilt from fct_dossier in one pass by its next compute, which
deletes its log rows unread: a first load (a million records) logged a million rows for
nothing. PostgreSQL: each trigger function first takes ROW EXCLUSIVE on agg_dossier_log, as
its insert did, so a load still waits for a compute holding the log (and the other way
round) and the agg_state it then reads is the one that compute committed. SQLite: the row
triggers get a WHEN clause (one writer at a time).
"""

from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    "portal_code", "unit_code", "procedure_code", "field_code", "field_name", "status",
    "channel", "service_level", "received_date", "due_date", "ended_date", "has_fee",
    "online_payment", "has_digitized_papers", "is_certification", "result_delivery",
    "has_electronic_result", "satisfaction",
)
EVENTS = ("insert", "update", "delete")


def _built(alias: str) -> str:
    return f" WHERE EXISTS (SELECT 1 FROM agg_state s WHERE s.portal_code = {alias}.portal_code)"


def _pg_function(event: str, built_only: bool) -> str:
    cols = ", ".join(COLUMNS)
    target = f"INSERT INTO agg_dossier_log (sign, {cols})"

    def rows(sign: str, source: str, alias: str) -> str:
        return f"{target} SELECT {sign}, {cols} FROM {source} AS {alias}" + (
            _built(alias) if built_only else "") + ";"

    if event == "insert":
        body = rows("1", "new_rows", "r")
    elif event == "delete":
        body = rows("-1", "old_rows", "r")
    else:
        body = (rows("-1", f"(SELECT {cols} FROM old_rows EXCEPT ALL SELECT {cols} FROM "
                           f"new_rows)", "gone") + "\n  "
                + rows("1", f"(SELECT {cols} FROM new_rows EXCEPT ALL SELECT {cols} FROM "
                            f"old_rows)", "came"))
    lock = "LOCK TABLE agg_dossier_log IN ROW EXCLUSIVE MODE;\n  " if built_only else ""
    return (f"CREATE OR REPLACE FUNCTION egov_agg_log_{event}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$\nBEGIN\n  {lock}{body}\n  RETURN NULL;\nEND\n$$")


def _sqlite_trigger(event: str, built_only: bool) -> str:
    cols = ", ".join(COLUMNS)
    target = f"INSERT INTO agg_dossier_log (sign, {cols})"

    def image(prefix):
        return ", ".join(f"{prefix}.{c}" for c in COLUMNS)

    image_of = "OLD" if event == "delete" else "NEW"
    built = (f"EXISTS (SELECT 1 FROM agg_state s WHERE s.portal_code = {image_of}.portal_code)"
             if built_only else "")
    if event == "insert":
        when, body = built, f"{target} VALUES (1, {image('NEW')});"
    elif event == "delete":
        when, body = built, f"{target} VALUES (-1, {image('OLD')});"
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
        when = f"({changed})" + (f" AND {built}" if built else "")
        body = f"{target} VALUES (-1, {image('OLD')}); {target} VALUES (1, {image('NEW')});"
    return (f"CREATE TRIGGER agg_log_{event} AFTER {event.upper()} ON fct_dossier "
            + (f"WHEN {when} " if when else "") + f"BEGIN {body} END")


def _replace(built_only: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in EVENTS:  # the triggers call the functions by name: replaced in place
            op.execute(_pg_function(event, built_only))
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS agg_log_{event}")
            op.execute(_sqlite_trigger(event, built_only))


def upgrade() -> None:
    _replace(built_only=True)


def downgrade() -> None:
    _replace(built_only=False)
