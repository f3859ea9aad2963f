"""portal boundary: columns sized for what the contract lets through; request moment of
quarantined versions; counts of values stored null or cut

Revision ID: 0004
Revises: 0006
Create Date: 2026-11-29 20:00:00

Codes become VARCHAR(255) and short texts VARCHAR(32) (egov.sources.onestop.records bounds what it writes:
docs/decisions.md "Column sizes"). Widening a VARCHAR is a catalogue change on PostgreSQL (no
table rewrite); SQLite does not enforce VARCHAR lengths, so its tables are left as they are.
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0006"  # after 0005 and 0006 (merged first): 0003 -> 0005 -> 0006 -> 0004
branch_labels = None
depends_on = None

# (table, column, old length, new length, nullable)
RESIZED = [
    ("dim_unit", "unit_code", 64, 255, False),
    ("dim_unit", "parent_code", 64, 255, True),
    ("dim_unit", "unit_level", 16, 32, True),
    ("unit_closure", "ancestor_code", 64, 255, False),
    ("unit_closure", "descendant_code", 64, 255, False),
    ("dim_procedure", "procedure_code", 128, 255, False),
    ("dim_procedure", "service_level", 8, 32, True),
    ("procedure_unit", "procedure_code", 128, 255, False),
    ("procedure_unit", "unit_code", 64, 255, False),
    ("fct_dossier", "dossier_code", 128, 255, False),
    ("fct_dossier", "unit_code", 64, 255, False),
    ("fct_dossier", "procedure_code", 128, 255, True),
    ("fct_dossier", "service_level", 8, 32, True),
    ("quarantine_record", "record_key", 128, 255, False),
    ("mart_indicator_snapshot", "unit_code", 64, 255, False),
    ("mart_target_evaluation", "unit_code", 64, 255, False),
    ("mart_form06", "unit_code", 64, 255, False),
]
COUNTED = ("etl_extract_window", "etl_portal_run")


def _resize(grow: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, old, new, nullable in RESIZED:
        before, after = (old, new) if grow else (new, old)
        op.alter_column(table, column, type_=sa.String(length=after),
                        existing_type=sa.String(length=before), existing_nullable=nullable)


def upgrade() -> None:
    _resize(grow=True)
    with op.batch_alter_table("quarantine_record") as batch:
        batch.add_column(sa.Column("requested_at", sa.DateTime(), nullable=True))
    for table in COUNTED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("values_nulled", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("values_cut", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in COUNTED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("values_cut")
            batch.drop_column("values_nulled")
    with op.batch_alter_table("quarantine_record") as batch:
        batch.drop_column("requested_at")
    _resize(grow=False)
