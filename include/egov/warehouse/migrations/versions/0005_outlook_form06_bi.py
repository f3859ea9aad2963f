"""outlook columns, mart_form06 (Biểu 06), dim_indicator (seeded) and BI views

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

from alembic import op
import sqlalchemy as sa

from egov.compute.indicators.dictionary import rows as indicator_rows
from egov.warehouse.bi_views import VIEWS_0005, create_views, drop_views

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

FORM06_COUNTS = (
    "received_online",
    "received_in_person_or_postal",
    "carried_over",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "withdrawn_or_stopped",
    "open_within_deadline",
    "open_overdue",
)


def upgrade() -> None:
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.add_column(sa.Column("projected_denominator", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("needed_numerator", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("needed_share_pct", sa.Numeric(9, 2), nullable=True))
        batch.add_column(sa.Column("outlook", sa.String(length=16), nullable=True))

    op.create_table(
        "mart_form06",
        sa.Column("as_of_date", sa.Date(), nullable=False),
        sa.Column("portal_code", sa.Text(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("field_code", sa.Text(), nullable=True),
        sa.Column("field_name", sa.Text(), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in FORM06_COUNTS],
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_mart_form06_key", "mart_form06",
                    ["as_of_date", "unit_code", "period_type", "period_start"])
    op.create_index("ix_mart_form06_portal_asof", "mart_form06", ["portal_code", "as_of_date"])

    dim_indicator = op.create_table(
        "dim_indicator",
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("numerator", sa.Text(), nullable=False),
        sa.Column("denominator", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("plan_wording", sa.Text(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("indicator_code"),
    )
    op.bulk_insert(dim_indicator, indicator_rows())
    create_views(op.get_bind(), VIEWS_0005)


def downgrade() -> None:
    drop_views(op.get_bind(), VIEWS_0005)
    op.drop_table("dim_indicator")
    op.drop_index("ix_mart_form06_portal_asof", table_name="mart_form06")
    op.drop_index("ix_mart_form06_key", table_name="mart_form06")
    op.drop_table("mart_form06")
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.drop_column("outlook")
        batch.drop_column("needed_share_pct")
        batch.drop_column("needed_numerator")
        batch.drop_column("projected_denominator")
