"""statistical_month_versions and statistical_month_counts: each month's counts kept

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:30:00

Triggers on the statistical records and their child rows give a month a new random version on
every write (`incident_service.month_versions`); a release stores each month's counts with the
version it counted them at and uses them again while the version is unchanged
(`incident_service.releases.month_cache`). Every month with records gets a version here; a
write deletes the month's stored counts with it, so that nothing of a withdrawn record
outlives it in them.
"""

import sqlalchemy as sa
from alembic import op

from incident_service import month_versions

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistical_month_versions",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_statistical_month_versions")),
    )
    op.create_table(
        "statistical_month_counts",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_statistical_month_counts")),
    )
    month_versions.version_existing_months(op.get_bind())
    month_versions.install(op.get_bind())


def downgrade() -> None:
    month_versions.uninstall(op.get_bind())
    op.drop_table("statistical_month_counts")
    op.drop_table("statistical_month_versions")
