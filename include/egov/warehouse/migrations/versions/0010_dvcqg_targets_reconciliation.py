"""the 766 index in targets and beside the one-stop figures: mart_target_evaluation.measure;
the crosswalk of departments to units; mart_source_reconciliation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:30:00

`measure` says what `threshold_pct` and `value_pct` hold: `percent` (every target so far) or
`points` (the index's scores, `dvcqg:score`, `dvcqg:score:<group>`).
"""

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.add_column(sa.Column("measure", sa.String(8), nullable=False,
                                   server_default="percent"))


def downgrade() -> None:
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.drop_column("measure")
