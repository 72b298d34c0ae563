"""the language a report was written in, sealed to the reporter's key

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-03 21:10:00

After a receipt lookup the status page follows the language the report was written in. The
language is kept in an envelope sealed to the reporter's derived key, so only the receipt opens
it; a dump cannot count reports by language. Reports filed before have none and keep the
browser's language.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("reporter_language", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("reporter_language")
