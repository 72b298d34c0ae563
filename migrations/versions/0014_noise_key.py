"""releases.noise_key: one noise draw per set of DP figures

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:59:00

A differentially private draft whose figures would be the same as a stored draft's (same
period, data, ε and contributions; other languages or formats) reuses that draft's noise and
is charged nothing. The key names the data a draw measured, so it stays in the database and is
never part of a published file. Drafts made before have no key and are never reused.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("noise_key", sa.String(length=64), nullable=True))
        batch.create_index("ix_releases_noise_key", ["noise_key"])


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_index("ix_releases_noise_key")
        batch.drop_column("noise_key")
