"""reported figures: etl_reported_file, fct_reported_figure, the provenance columns of
mart_target_evaluation (docs/contracts/reported-figures.md); the view bi_reported_figures

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 15:30:00

The views are recreated by migrations/env.py after the upgrade (egov.warehouse.bi_views).
"""

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MART_COLUMNS = (
    ("basis", sa.String(length=16)),
    ("source_doc", sa.Text()),
    ("data_to", sa.Date()),
    ("reported_units", sa.Integer()),
    ("expected_units", sa.Integer()),
    ("percent_only", sa.Boolean()),
    ("is_sample", sa.Boolean()),
)


def upgrade() -> None:
    op.create_table(
        "etl_reported_file",
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("stored_as", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("taken_seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("file_hash"),
    )
    op.create_table(
        "fct_reported_figure",
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("taken_seq", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=128), nullable=False),
        sa.Column("target_code", sa.String(length=128), nullable=False),
        sa.Column("unit_code", sa.String(length=255), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("data_from", sa.Date(), nullable=True),
        sa.Column("data_to", sa.Date(), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=True),
        sa.Column("denominator", sa.Integer(), nullable=True),
        sa.Column("value_pct", sa.Numeric(7, 2), nullable=True),
        sa.Column("source_doc", sa.Text(), nullable=False),
        sa.Column("evidence_ref", sa.Text(), nullable=True),
        sa.Column("prepared_by", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("file_hash", "row_number"),
    )
    op.create_index("ix_fct_reported_figure_key", "fct_reported_figure",
                    ["plan_code", "target_code", "year", "unit_code"])
    with op.batch_alter_table("mart_target_evaluation") as batch:
        for name, kind in MART_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mart_target_evaluation") as batch:
        for name, _ in reversed(MART_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_fct_reported_figure_key", table_name="fct_reported_figure")
    op.drop_table("fct_reported_figure")
    op.drop_table("etl_reported_file")
