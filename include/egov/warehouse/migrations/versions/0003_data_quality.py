"""data quality: dq_validation_result; quarantine replay and redaction columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dq_validation_result",
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("portal_code", sa.String(length=64), nullable=False),
        sa.Column("window_seq", sa.Integer(), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("expectation_type", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("element_count", sa.Integer(), nullable=True),
        sa.Column("unexpected_count", sa.Integer(), nullable=True),
        sa.Column("missing_count", sa.Integer(), nullable=True),
        sa.Column("observed_value", sa.Text(), nullable=True),
        sa.Column("partial_unexpected_list", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("validated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "portal_code", "window_seq", "suite", "seq"),
    )
    op.create_index("ix_dq_result_portal_suite_time", "dq_validation_result",
                    ["portal_code", "suite", "validated_at"])
    with op.batch_alter_table("quarantine_record") as batch:
        batch.add_column(sa.Column("replayed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("replay_run_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redacted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine_record") as batch:
        batch.drop_column("redacted_at")
        batch.drop_column("replay_run_id")
        batch.drop_column("replayed_at")
    op.drop_index("ix_dq_result_portal_suite_time", table_name="dq_validation_result")
    op.drop_table("dq_validation_result")
