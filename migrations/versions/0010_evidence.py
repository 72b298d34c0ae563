"""Evidence files: sealed keys and metadata, commitments, and the transparency log

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04 09:00:00

Files themselves live in the file store, sealed; these tables hold each file's sealed content
key and metadata, its salted commitment and object names, the log's leaves and its signed tree
heads. Nothing here is finer than a day.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("content_key_envelope", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_metadata", sa.LargeBinary(), nullable=False),
        sa.Column("commitment", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed_size", sa.Integer(), nullable=False),
        sa.Column("original_object", sa.String(length=64), nullable=False),
        sa.Column("working_object", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_evidence_files_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_evidence_files_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("commitment", name=op.f("uq_evidence_files_commitment")),
        sa.UniqueConstraint("original_object", name=op.f("uq_evidence_files_original_object")),
        sa.UniqueConstraint("working_object", name=op.f("uq_evidence_files_working_object")),
    )
    with op.batch_alter_table("evidence_files") as batch:
        batch.create_index(batch.f("ix_evidence_files_report_id"), ["report_id"], unique=False)

    op.create_table(
        "evidence_log_leaves",
        sa.Column("commitment", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("commitment", name=op.f("pk_evidence_log_leaves")),
        sa.UniqueConstraint("leaf_index", name=op.f("uq_evidence_log_leaves_leaf_index")),
    )
    with op.batch_alter_table("evidence_log_leaves") as batch:
        batch.create_index(
            batch.f("ix_evidence_log_leaves_received_on"), ["received_on"], unique=False
        )

    op.create_table(
        "evidence_tree_heads",
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_evidence_tree_heads")),
    )


def downgrade() -> None:
    op.drop_table("evidence_tree_heads")
    with op.batch_alter_table("evidence_log_leaves") as batch:
        batch.drop_index(batch.f("ix_evidence_log_leaves_received_on"))
    op.drop_table("evidence_log_leaves")
    with op.batch_alter_table("evidence_files") as batch:
        batch.drop_index(batch.f("ix_evidence_files_report_id"))
    op.drop_table("evidence_files")
