"""queue speed: candidates and counts from an index, overrides apart, a sealed index at rest

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 00:30:00

The queue asks the database only which reports pass its plain filters (their ids, as one string)
and ranks them from the web process's memory. `ix_reports_queue` now holds the id and, on
PostgreSQL, the assignee, so that the candidates and the counts per status are read from the
index without visiting the rows (which carry the sealed sections). The few reports with a
caseworker's own priority are fetched apart; a partial index finds them. It says only whether a
report has such a priority, which the column already says.

`queue_index_chunks` keeps the queue's index entries sealed under a key derived from the team
key, so that a restarted web process opens a few chunks rather than every open report.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_index_chunks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_queue_index_chunks_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_index_chunks")),
    )
    op.create_index(
        op.f("ix_queue_index_chunks_organisation_id"), "queue_index_chunks", ["organisation_id"]
    )
    op.drop_index("ix_reports_queue", table_name="reports")
    op.create_index(
        "ix_reports_queue",
        "reports",
        ["organisation_id", "status", "received_on", "id"],
        postgresql_include=["assignee_id"],
    )
    op.create_index(
        "ix_reports_priority_override",
        "reports",
        ["organisation_id"],
        postgresql_where=sa.text("priority_override IS NOT NULL"),
        sqlite_where=sa.text("priority_override IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_queue_index_chunks_organisation_id"), table_name="queue_index_chunks")
    op.drop_table("queue_index_chunks")
    op.drop_index("ix_reports_priority_override", table_name="reports")
    op.drop_index("ix_reports_queue", table_name="reports")
    op.create_index("ix_reports_queue", "reports", ["organisation_id", "status", "received_on"])
