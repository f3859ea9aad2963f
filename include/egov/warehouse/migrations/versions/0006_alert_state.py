"""alerts: alert_state (what was notified, one row per alert key)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("alert_key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("alerting", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("silenced_until", sa.DateTime(), nullable=True),
        sa.Column("silenced_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("alert_key"),
    )
    op.create_index("ix_alert_state_kind", "alert_state", ["kind", "state"])


def downgrade() -> None:
    op.drop_index("ix_alert_state_kind", table_name="alert_state")
    op.drop_table("alert_state")
