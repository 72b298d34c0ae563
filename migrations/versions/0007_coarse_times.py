"""times at rest no finer than the day beside a report: the mixing pool keeps the day, reporter
actions wait for their day to end before joining the audit chain

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-03 18:00:00

`mixing_pool.queued_at` held each submission's time to the microsecond next to its report id.
It becomes `queued_on` (the day). Audit entries written before this revision keep their finer
times (their hashes cover them); `incident-service audit coarsen` rewrites them and re-chains
the log after checking it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mixing_pool") as batch:
        batch.add_column(sa.Column("queued_on", sa.Date(), nullable=True))
    op.execute("UPDATE mixing_pool SET queued_on = DATE(queued_at)")
    with op.batch_alter_table("mixing_pool") as batch:
        batch.alter_column("queued_on", existing_type=sa.Date(), nullable=False)
        batch.drop_index("ix_mixing_pool_queued_at")
        batch.drop_column("queued_at")
        batch.create_index("ix_mixing_pool_queued_on", ["queued_on"])
    op.create_table(
        "pending_reporter_actions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("report_id", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_reporter_actions")),
    )
    op.create_index(
        op.f("ix_pending_reporter_actions_on_day"), "pending_reporter_actions", ["on_day"]
    )


def downgrade() -> None:
    op.drop_index("ix_pending_reporter_actions_on_day", table_name="pending_reporter_actions")
    op.drop_table("pending_reporter_actions")
    with op.batch_alter_table("mixing_pool") as batch:
        batch.add_column(sa.Column("queued_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE mixing_pool SET queued_at = queued_on")
    with op.batch_alter_table("mixing_pool") as batch:
        batch.alter_column("queued_at", existing_type=sa.DateTime(), nullable=False)
        batch.drop_index("ix_mixing_pool_queued_on")
        batch.drop_column("queued_on")
        batch.create_index("ix_mixing_pool_queued_at", ["queued_at"])
