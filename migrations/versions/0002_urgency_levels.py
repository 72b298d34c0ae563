"""urgency levels: someone still detained moves from 3 to 4

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:40:00

The queue's urgency now has four levels (detained 4, children 3, violence 2, other 1; see
docs/decisions.md, caseworker workspace 18). Reports stored before keep their order: what was
urgent (3) becomes 4. Reports with children involved stay at 2 until a caseworker raises them,
because the database cannot tell them from violence without opening the sealed report.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE reports SET priority = 4 WHERE priority = 3")


def downgrade() -> None:
    # Three levels again: children join violence, detained returns to 3.
    op.execute("UPDATE reports SET priority = 2 WHERE priority = 3")
    op.execute("UPDATE reports SET priority = 3 WHERE priority = 4")
