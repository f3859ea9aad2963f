"""bi_dossier: the records behind the figures, for analysts (no personal data)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07 16:00:00

One row per record of fct_dossier with its unit, procedure, dates, channel and status, and
the flags the indicators count (received, resolved, resolved on time): docs/bi.md. The
migration environment drops every view before pending migrations and recreates `VIEWS`
after them (egov.warehouse.bi_views); this step creates the new one for a chain that stops
here.
"""

from alembic import op

from egov.warehouse.bi_views import VIEWS_0011, create_views, drop_views

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind(), VIEWS_0011)


def downgrade() -> None:
    drop_views(op.get_bind(), VIEWS_0011)
