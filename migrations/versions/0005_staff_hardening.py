"""Staff hardening: a message records what its sealing context binds

Revision ID: 0005
Revises: 0010
Create Date: 2026-12-03 18:00:00

Messages written from now on are sealed to a context that binds their author (reporter, or which
caseworker) and the day they were sent, besides their report (`crypto.bindings.report_message`).
Existing messages were sealed to the report alone and cannot be re-sealed without the team key,
which a migration never holds, so they keep version 0 and open as before.

Going back down drops the column; messages written under version 1 then no longer open (their
context cannot be rebuilt by code that only knows version 0), so the downgrade refuses while any
exists rather than leave unreadable replies behind.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("binding_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    bound = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM messages WHERE binding_version <> 0")
    ).scalar_one()
    if bound:
        raise RuntimeError(
            f"{bound} messages are sealed with their author and day bound (revision 0005); "
            "code before 0005 cannot open them, so this downgrade would lose them"
        )
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("binding_version")
