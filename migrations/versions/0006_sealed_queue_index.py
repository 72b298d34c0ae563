"""sealed queue index: no plaintext priority, no facet tags

Revision ID: 0006
Revises: 0011
Create Date: 2026-12-03 20:40:00

A dump matched `reports.priority` and the facet tags (act group, region, country) against the
statistical records and linked records back to their reports (issue 11, item 1;
tests/attacks/test_linked_records.py). The queue now reads urgency, act groups and region from
the sealed coded answers; a caseworker's choice of priority is sealed to the team key.

Upgrade: each report's stored priority — which may be a caseworker's choice — is sealed to its
organisation's active team key as that report's override, so the queue keeps today's order;
then the column and the facet table go. Downgrade restores the schema, but not the values: it
cannot open what it would need to, so every report comes back at priority 1 with no facets,
and the queue's filters and order are lost until the upgrade is run again.
"""

import json

import sqlalchemy as sa
from alembic import op

from incident_service.crypto import RecipientPublicKey, SuiteId, bindings, seal

revision = "0006"
down_revision = "0011"
branch_labels = None
depends_on = None


def _team_keys(connection: sa.Connection) -> dict[int, RecipientPublicKey]:
    rows = connection.execute(
        sa.text("SELECT organisation_id, suite, public_key FROM team_keys WHERE active ORDER BY id")
    ).all()
    # The newest active key of each organisation wins, as in auth.teams.active_team_key.
    return {
        organisation_id: RecipientPublicKey(SuiteId.from_number(suite), bytes(public_key))
        for organisation_id, suite, public_key in rows
    }


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("priority_override", sa.LargeBinary(), nullable=True))
    keys = _team_keys(connection)
    rows = connection.execute(sa.text("SELECT id, organisation_id, priority FROM reports")).all()
    for report_id, organisation_id, priority in rows:
        key = keys.get(organisation_id)
        if key is None:
            continue  # nothing was ever sealed for an organisation without a team key
        sealed = seal(
            json.dumps({"priority": int(priority)}).encode(),
            context=bindings.report_priority(report_id),
            recipients=[key],
        )
        connection.execute(
            sa.text("UPDATE reports SET priority_override = :sealed WHERE id = :id"),
            {"sealed": sealed, "id": report_id},
        )
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("ix_reports_urgency")
        batch.drop_index("ix_reports_queue")
        batch.drop_column("priority")
        batch.create_index(
            "ix_reports_queue", ["organisation_id", "status", "received_on"], unique=False
        )
    op.drop_index("ix_report_facets_tag", table_name="report_facets")
    op.drop_table("report_facets")


def downgrade() -> None:
    op.create_table(
        "report_facets",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_facets_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "tag", name=op.f("pk_report_facets")),
    )
    op.create_index("ix_report_facets_tag", "report_facets", ["tag"], unique=False)
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("ix_reports_queue")
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_column("priority_override")
        batch.create_index(
            "ix_reports_queue",
            ["organisation_id", "status", "priority", "received_on"],
            unique=False,
        )
        batch.create_index(
            "ix_reports_urgency", ["organisation_id", "priority", "received_on", "id"], unique=False
        )
