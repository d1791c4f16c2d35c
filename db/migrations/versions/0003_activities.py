"""work items per scheduled activity; optional forms

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items") as batch:
        batch.add_column(sa.Column("activity", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.drop_constraint("uq_work_items_stage_id", type_="unique")
        batch.create_unique_constraint("uq_work_items_stage_id", ["stage_id", "form_id", "round", "activity"])


def downgrade() -> None:
    with op.batch_alter_table("work_items") as batch:
        batch.drop_constraint("uq_work_items_stage_id", type_="unique")
        batch.create_unique_constraint("uq_work_items_stage_id", ["stage_id", "form_id", "round"])
        batch.drop_column("required")
        batch.drop_column("title")
        batch.drop_column("activity")
