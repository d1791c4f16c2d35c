"""gate steps, claims and delegation; forms named on a return

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stages") as batch:
        batch.add_column(sa.Column("gate_step", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("gate_assignee", sa.String(length=64), nullable=True))
    with op.batch_alter_table("gate_decisions") as batch:
        batch.add_column(sa.Column("redo_forms", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate_decisions") as batch:
        batch.drop_column("redo_forms")
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("gate_assignee")
        batch.drop_column("gate_step")
