"""API tokens for partner apps: a kind per token, and no staff account behind a partner's

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:00:00

A partner app (a Telegram bot, a mobile app) files reports for many reporters from one
address; its token gives it a quota of its own instead of the per-address allowance that the
form and anonymous API callers share. Such a token belongs to no staff account.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(10), nullable=False, server_default="official")
        )
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE kind = 'partner'")
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("kind")
