"""incremental aggregates: agg_dossier_day, agg_procedure_day, agg_state, agg_dossier_log and
the fct_dossier triggers that fill the log

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 14:00:00

docs/performance.md "Incremental snapshots". The aggregates start empty and unbuilt: the next
compute of each portal builds them from fct_dossier in one pass (egov.warehouse.aggregates.rebuild).
PostgreSQL: statement-level triggers with transition tables (one per event), so a bulk
statement (COPY, INSERT ... ON CONFLICT) writes its log rows in one set-based insert; an
update logs only the images whose counted columns changed (EXCEPT ALL). TRUNCATE forgets
the built state. SQLite: row triggers.
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    "portal_code", "unit_code", "procedure_code", "field_code", "field_name", "status",
    "channel", "service_level", "received_date", "due_date", "ended_date", "has_fee",
    "online_payment", "has_digitized_papers", "is_certification", "result_delivery",
    "has_electronic_result", "satisfaction",
)
MEASURES = (
    "n", "online", "full_online", "postal", "fee", "fee_paid_online", "digitized",
    "resolved", "on_time", "e_result", "cert", "cert_e_result", "rated", "satisfied",
    "early", "on_day", "late", "withdrawn",
)
EVENTS = ("insert", "update", "delete")


def _pg_function(event: str) -> str:
    cols = ", ".join(COLUMNS)
    target = f"INSERT INTO agg_dossier_log (sign, {cols})"
    if event == "insert":
        body = f"{target} SELECT 1, {cols} FROM new_rows;"
    elif event == "delete":
        body = f"{target} SELECT -1, {cols} FROM old_rows;"
    else:
        body = (f"{target} SELECT -1, {cols} FROM (SELECT {cols} FROM old_rows EXCEPT ALL "
                f"SELECT {cols} FROM new_rows) AS gone;\n"
                f"  {target} SELECT 1, {cols} FROM (SELECT {cols} FROM new_rows EXCEPT ALL "
                f"SELECT {cols} FROM old_rows) AS came;")
    return (f"CREATE OR REPLACE FUNCTION egov_agg_log_{event}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$\nBEGIN\n  {body}\n  RETURN NULL;\nEND\n$$")


def _pg_trigger(event: str) -> str:
    tables = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
              "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}[event]
    return (f"CREATE TRIGGER agg_log_{event} AFTER {event.upper()} ON fct_dossier "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION egov_agg_log_{event}()")


def _sqlite_trigger(event: str) -> str:
    cols = ", ".join(COLUMNS)
    target = f"INSERT INTO agg_dossier_log (sign, {cols})"

    def image(prefix):
        return ", ".join(f"{prefix}.{c}" for c in COLUMNS)

    if event == "insert":
        return (f"CREATE TRIGGER agg_log_insert AFTER INSERT ON fct_dossier BEGIN "
                f"{target} VALUES (1, {image('NEW')}); END")
    if event == "delete":
        return (f"CREATE TRIGGER agg_log_delete AFTER DELETE ON fct_dossier BEGIN "
                f"{target} VALUES (-1, {image('OLD')}); END")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
    return (f"CREATE TRIGGER agg_log_update AFTER UPDATE ON fct_dossier WHEN {changed} BEGIN "
            f"{target} VALUES (-1, {image('OLD')}); {target} VALUES (1, {image('NEW')}); END")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    code = sa.String(255, collation="C") if postgres else sa.String(255)
    key_text = sa.Text(collation="C") if postgres else sa.Text()
    op.create_table(
        "agg_dossier_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("portal_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(255), nullable=False),
        sa.Column("procedure_code", sa.String(255)),
        sa.Column("field_code", sa.Text()),
        sa.Column("field_name", sa.Text()),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.SmallInteger(), nullable=False),
        sa.Column("service_level", sa.String(32)),
        sa.Column("received_date", sa.Date()),
        sa.Column("due_date", sa.Date()),
        sa.Column("ended_date", sa.Date()),
        sa.Column("has_fee", sa.Boolean(), nullable=False),
        sa.Column("online_payment", sa.SmallInteger()),
        sa.Column("has_digitized_papers", sa.Boolean(), nullable=False),
        sa.Column("is_certification", sa.Boolean(), nullable=False),
        sa.Column("result_delivery", sa.SmallInteger()),
        sa.Column("has_electronic_result", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agg_dossier_log_portal", "agg_dossier_log", ["portal_code"])
    op.create_table(
        "agg_dossier_day",
        sa.Column("portal_code", sa.String(64), nullable=False),
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", code, nullable=False),
        sa.Column("field_code", key_text, nullable=False),
        sa.Column("name_key", key_text, nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in MEASURES],
        sa.PrimaryKeyConstraint("portal_code", "grain", "day", "unit_code", "field_code",
                                "name_key", "kind"),
    )
    op.create_table(
        "agg_procedure_day",
        sa.Column("portal_code", sa.String(64), nullable=False),
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", code, nullable=False),
        sa.Column("procedure_code", code, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("portal_code", "grain", "day", "unit_code", "procedure_code"),
    )
    op.create_table(
        "agg_state",
        sa.Column("portal_code", sa.String(64), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("daily_from", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("portal_code"),
    )
    if postgres:
        for event in EVENTS:
            op.execute(_pg_function(event))
            op.execute(_pg_trigger(event))
        op.execute("CREATE OR REPLACE FUNCTION egov_agg_truncated() RETURNS trigger "
                   "LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM agg_state;\n"
                   "  RETURN NULL;\nEND\n$$")
        op.execute("CREATE TRIGGER agg_truncated AFTER TRUNCATE ON fct_dossier "
                   "FOR EACH STATEMENT EXECUTE FUNCTION egov_agg_truncated()")
    else:
        for event in EVENTS:
            op.execute(_sqlite_trigger(event))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS agg_log_{event}"
                   + (" ON fct_dossier" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS egov_agg_log_{event}()")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS agg_truncated ON fct_dossier")
        op.execute("DROP FUNCTION IF EXISTS egov_agg_truncated()")
    op.drop_table("agg_state")
    op.drop_table("agg_procedure_day")
    op.drop_table("agg_dossier_day")
    op.drop_index("ix_agg_dossier_log_portal", table_name="agg_dossier_log")
    op.drop_table("agg_dossier_log")
