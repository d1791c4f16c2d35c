"""the web door: accounts, web sessions, signed links, form drafts; the door of each event

Revision ID: 0010
Revises: 0009

`events.via` is left out of an event's hash when empty, so every event written before it keeps its hash.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("via", sa.JSON(), nullable=True))
    op.create_table(
        "accounts",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UTC_TIME, nullable=True),
        sa.Column("sessions_valid_after", UTC_TIME, nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_accounts_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_seen_at", UTC_TIME, nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_web_sessions_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_person", "web_sessions", ["person_id"])
    op.create_table(
        "person_links",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_person_links_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_links")),
    )
    op.create_index("ix_person_links_person", "person_links", ["person_id"])
    op.create_table(
        "form_drafts",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_form_drafts_person_id_people")),
        sa.ForeignKeyConstraint(
            ["work_item_id"], ["work_items.id"], name=op.f("fk_form_drafts_work_item_id_work_items")
        ),
        sa.PrimaryKeyConstraint("person_id", "work_item_id", name=op.f("pk_form_drafts")),
    )


def downgrade() -> None:
    op.drop_table("form_drafts")
    op.drop_index("ix_person_links_person", table_name="person_links")
    op.drop_table("person_links")
    op.drop_index("ix_web_sessions_person", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("accounts")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("via")
