"""deadlines: escalation schedule on work items and gates, and the escalations handled

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items") as batch:
        batch.add_column(sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalation_step", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_work_items_escalation", ["status", "next_escalation_at"])
    with op.batch_alter_table("stages") as batch:
        batch.add_column(sa.Column("gate_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("gate_next_escalation_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("gate_escalation_step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("at_risk", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_stages_gate_escalation", ["status", "gate_next_escalation_at"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("gate_step", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_escalations_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("subject", "subject_id", "round", "gate_step", "step", name=op.f("uq_escalations_subject")),
    )


def downgrade() -> None:
    op.drop_table("escalations")
    with op.batch_alter_table("stages") as batch:
        batch.drop_index("ix_stages_gate_escalation")
        for column in ("at_risk", "gate_escalation_step", "gate_next_escalation_at", "gate_due_at"):
            batch.drop_column(column)
    with op.batch_alter_table("work_items") as batch:
        batch.drop_index("ix_work_items_escalation")
        batch.drop_column("escalation_step")
        batch.drop_column("next_escalation_at")
