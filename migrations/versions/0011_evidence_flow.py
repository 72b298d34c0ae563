"""Evidence flow: resumable uploads, the reporter's file list, removed metadata

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-11 09:00:00

`evidence_uploads` holds tus uploads in progress: a sealed state (under a key derived from the
secret in the upload's URL) and the objects received so far; `purge_on` is a day. Evidence
files gain the reporter's sealed summary, the sealed record of metadata removed from the working
copy, and a coarse reason when no copy could be made.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_files") as batch:
        batch.add_column(sa.Column("reporter_summary", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("removed_metadata", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("copy_problem", sa.String(length=30), nullable=True))

    op.create_table(
        "evidence_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("sealed_state", sa.LargeBinary(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("purge_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_evidence_uploads_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_evidence_uploads_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_uploads")),
    )
    with op.batch_alter_table("evidence_uploads") as batch:
        batch.create_index(batch.f("ix_evidence_uploads_report_id"), ["report_id"], unique=False)
        batch.create_index(batch.f("ix_evidence_uploads_purge_on"), ["purge_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_uploads") as batch:
        batch.drop_index(batch.f("ix_evidence_uploads_purge_on"))
        batch.drop_index(batch.f("ix_evidence_uploads_report_id"))
    op.drop_table("evidence_uploads")
    with op.batch_alter_table("evidence_files") as batch:
        batch.drop_column("copy_problem")
        batch.drop_column("removed_metadata")
        batch.drop_column("reporter_summary")
