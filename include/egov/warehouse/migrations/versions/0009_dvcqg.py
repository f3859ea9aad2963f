"""the national portal's 766 index: dvcqg_read, dvcqg_score, dvcqg_metric, their history
tables and dvcqg_department

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:00:00

Contract: dvcqg-766.md "Warehouse objects". Numbers are double precision (the portal's JSON
numbers as given; null stays null). The current tables hold the newest complete read of a
(province, period); the *_history tables every complete read.
"""

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PERIOD = ("root_department_id", "period_type", "period_start")


def _period_columns() -> list:
    return [
        sa.Column("root_department_id", sa.String(64), nullable=False),
        sa.Column("period_type", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
    ]


def _score_columns() -> list:
    return [
        *_period_columns(),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("group_code", sa.String(32), nullable=False),
        sa.Column("province_code", sa.String(64), nullable=False),
        sa.Column("department_code", sa.Text),
        sa.Column("department_name", sa.Text),
        sa.Column("department_type", sa.Text),
        sa.Column("department_level", sa.Text),
        sa.Column("agency_level", sa.Text),
        sa.Column("position", sa.Double),
        sa.Column("unit_code", sa.String(255)),
        sa.Column("score", sa.Double),
        sa.Column("max_score", sa.Double),
        sa.Column("ratio", sa.Double),
        sa.Column("score_delta", sa.Double),
        sa.Column("score_check", sa.Double),
        sa.Column("extra", sa.Text),
        sa.Column("issues", sa.Text),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=False),
    ]


def _metric_columns() -> list:
    return [
        *_period_columns(),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("group_code", sa.String(32), nullable=False),
        sa.Column("metric_code", sa.String(128), nullable=False),
        sa.Column("province_code", sa.String(64), nullable=False),
        sa.Column("metric_name", sa.Text),
        sa.Column("numerator", sa.Double),
        sa.Column("denominator", sa.Double),
        sa.Column("ratio", sa.Double),
        sa.Column("score", sa.Double),
        sa.Column("max_score", sa.Double),
        sa.Column("score_check", sa.Double),
        sa.Column("data_quality_status", sa.Text),
        sa.Column("data_quality_message", sa.Text),
        sa.Column("extra", sa.Text),
        sa.Column("issues", sa.Text),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "dvcqg_read",
        *_period_columns(),
        sa.Column("read_at", sa.DateTime, nullable=False),
        sa.Column("province_code", sa.String(64), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("groups_read", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("new_fields", sa.Text),
        sa.Column("score_warnings", sa.Integer),
        sa.Column("as_of_date", sa.Date),
        sa.Column("run_id", sa.Text),
        sa.PrimaryKeyConstraint(*PERIOD, "read_at"),
    )
    op.create_table("dvcqg_score", *_score_columns(),
                    sa.PrimaryKeyConstraint(*PERIOD, "department_id", "group_code"))
    op.create_table("dvcqg_metric", *_metric_columns(),
                    sa.PrimaryKeyConstraint(*PERIOD, "department_id", "group_code",
                                            "metric_code"))
    op.create_table("dvcqg_score_history", *_score_columns(),
                    sa.PrimaryKeyConstraint(*PERIOD, "read_at", "department_id", "group_code"))
    op.create_table("dvcqg_metric_history", *_metric_columns(),
                    sa.PrimaryKeyConstraint(*PERIOD, "read_at", "department_id", "group_code",
                                            "metric_code"))
    op.create_table(
        "dvcqg_department",
        sa.Column("department_id", sa.String(64), primary_key=True),
        sa.Column("root_department_id", sa.String(64), nullable=False),
        sa.Column("department_code", sa.Text),
        sa.Column("department_name", sa.Text),
        sa.Column("department_type", sa.Text),
        sa.Column("department_level", sa.Text),
        sa.Column("first_seen", sa.Date, nullable=False),
        sa.Column("last_seen", sa.Date, nullable=False),
    )
    op.create_index("ix_dvcqg_department_root", "dvcqg_department", ["root_department_id"])


def downgrade() -> None:
    op.drop_index("ix_dvcqg_department_root", table_name="dvcqg_department")
    for table in ("dvcqg_department", "dvcqg_metric_history", "dvcqg_score_history",
                  "dvcqg_metric", "dvcqg_score", "dvcqg_read"):
        op.drop_table(table)
