"""the 766 index in targets and beside the one-stop figures: mart_target_evaluation.measure;
the crosswalk of departments to units; mart_source_reconciliation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:30:00

`measure` says what `threshold_pct` and `value_pct` hold: `percent` (every target so far) or
`points` (the index's scores, `dvcqg:score`, `dvcqg:score:<group>`).
`dvcqg_crosswalk`: departments mapped to units (confirmed, from the operator's file) and the
proposals for the others. `mart_source_reconciliation` (names fixed by dvcqg-766.md): the
one-stop figures beside the index's for mapped units and closed periods.
`mart_dvcqg_preview`: the running month scored with the known formulas from one-stop
records (never the portal's figures).
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.add_column(sa.Column("measure", sa.String(8), nullable=False,
                                   server_default="percent"))
    op.create_table(
        "dvcqg_crosswalk",
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(32), nullable=False),
        sa.Column("root_department_id", sa.String(64)),
        sa.Column("department_name", sa.Text),
        sa.Column("unit_name", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.DateTime),
        sa.PrimaryKeyConstraint("department_id", "unit_code"),
    )
    op.create_table(
        "mart_source_reconciliation",
        sa.Column("period_type", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("unit_code", sa.String(255), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("root_department_id", sa.String(64), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("ours_numerator", sa.Double),
        sa.Column("ours_denominator", sa.Double),
        sa.Column("ours_pct", sa.Double),
        sa.Column("theirs_numerator", sa.Double),
        sa.Column("theirs_denominator", sa.Double),
        sa.Column("theirs_pct", sa.Double),
        sa.Column("diff_pp", sa.Double),
        sa.Column("diff_count", sa.Double),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("read_at", sa.DateTime),
        sa.Column("as_of_date", sa.Date, nullable=False),
        sa.Column("run_id", sa.Text),
        sa.Column("computed_at", sa.DateTime),
        sa.PrimaryKeyConstraint("period_type", "period_start", "unit_code", "measure"),
    )
    op.create_table(
        "mart_dvcqg_preview",
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("unit_code", sa.String(255), nullable=False),
        sa.Column("measure", sa.String(64), nullable=False),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("group_code", sa.String(32), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("ours_numerator", sa.Double),
        sa.Column("ours_denominator", sa.Double),
        sa.Column("ours_pct", sa.Double),
        sa.Column("preview_score", sa.Double),
        sa.Column("max_score", sa.Double),
        sa.Column("published_period_start", sa.Date),
        sa.Column("published_score", sa.Double),
        sa.Column("as_of_date", sa.Date, nullable=False),
        sa.Column("run_id", sa.Text),
        sa.Column("computed_at", sa.DateTime),
        sa.PrimaryKeyConstraint("period_start", "unit_code", "measure"),
    )


def downgrade() -> None:
    for table in ("mart_dvcqg_preview", "mart_source_reconciliation", "dvcqg_crosswalk"):
        op.drop_table(table)
    with op.batch_alter_table("mart_target_evaluation") as batch:
        batch.drop_column("measure")
