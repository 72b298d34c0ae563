"""one published release per period and method, enforced by a partial unique index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 16:00:00

Two published releases of the same period and method differ only by what changed between
them, and subtracting them shows exactly that. `releases.publish_release` refuses a second
one under a lock; this index makes the rule hold for anything that writes to the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PUBLISHED = sa.text("status = 'published'")


def upgrade() -> None:
    op.create_index(
        "uq_releases_one_published",
        "releases",
        ["period", "method"],
        unique=True,
        postgresql_where=PUBLISHED,
        sqlite_where=PUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("uq_releases_one_published", table_name="releases")
