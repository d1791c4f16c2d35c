"""indexes for the pages: a person's open work items, a stage's forms of a round

Revision ID: 0011
Revises: 0010

Without them SQLite answered 我的待办 by walking every open work item of the agency
(bench/web_pages.py: ~10,000 items).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_items_assignee_open", "work_items", ["assignee_id", "status", "due_at"])
    op.create_index("ix_work_items_stage_round", "work_items", ["stage_id", "round", "status"])
    op.drop_index("ix_work_items_assignee_id", table_name="work_items")


def downgrade() -> None:
    op.create_index("ix_work_items_assignee_id", "work_items", ["assignee_id"])
    op.drop_index("ix_work_items_stage_round", table_name="work_items")
    op.drop_index("ix_work_items_assignee_open", table_name="work_items")
