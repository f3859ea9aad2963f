"""the crosswalk's proposals confirmed on the "Chỉ số 766" page

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:50:00

`dvcqg_crosswalk_confirmation`: one row per department an editor confirmed on the page (a
proposal of `dvcqg_crosswalk`), with who and when. Each `egov_dvcqg` run merges these with
the operator's file (the file wins on a conflict) when it rewrites `dvcqg_crosswalk`.
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dvcqg_crosswalk_confirmation",
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(255), nullable=False),
        sa.Column("root_department_id", sa.String(64)),
        sa.Column("basis", sa.String(32), nullable=False),
        sa.Column("confirmed_by", sa.String(255), nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("department_id"),
        sa.UniqueConstraint("unit_code", name="uq_dvcqg_crosswalk_confirmation_unit"),
    )


def downgrade() -> None:
    op.drop_table("dvcqg_crosswalk_confirmation")
