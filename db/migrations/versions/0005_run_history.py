"""the run's state on every event; Prefect state history copied into the archive

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("run_state", sa.String(length=24), nullable=True))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("run_state", sa.String(length=24), nullable=True))
    op.create_table(
        "run_states",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("timestamp", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_run_states_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_states")),
    )
    op.create_index(op.f("ix_run_states_project_id"), "run_states", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_run_states_project_id"), table_name="run_states")
    op.drop_table("run_states")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("run_state")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("run_state")
