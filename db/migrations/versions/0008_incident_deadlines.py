"""incidents: a deadline for the follow-up and closure, escalated like complaints; the project
form an entry came from

Revision ID: 0008
Revises: 0007

Incidents already open keep no deadline (their `close_due_at` stays empty: the calendar and the
agency's `close_days` are not for a migration to apply); new ones get it when reported.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("close_due_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("next_escalation_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("escalation_step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("work_item_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_incidents_work_item_id_work_items"), "work_items", ["work_item_id"], ["id"])
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("escalation_step", server_default=None)
    op.create_index("ix_incidents_escalation", "incidents", ["status", "next_escalation_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_escalation", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint(op.f("fk_incidents_work_item_id_work_items"), type_="foreignkey")
        batch.drop_column("work_item_id")
        batch.drop_column("escalation_step")
        batch.drop_column("next_escalation_at")
        batch.drop_column("close_due_at")
