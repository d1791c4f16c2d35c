"""index escalations by when they fired

Revision ID: 0012
Revises: 0011

The director's dashboard counts the escalations of the last seven days; without this index it read
every escalation the agency ever had.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_escalations_fired_at", "escalations", ["fired_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_fired_at", table_name="escalations")
