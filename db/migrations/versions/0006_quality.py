"""quality: supervision, incidents, complaints, actions, certificate and risk-review watches;
a person's community; escalations of agency-wide records (no project)

Revision ID: 0006
Revises: 0005
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _escalation_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("next_escalation_at", UTC_TIME, nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("community", sa.String(length=200), nullable=True))
    with op.batch_alter_table("escalations") as batch:
        batch.alter_column("subject", existing_type=sa.String(length=8), type_=sa.String(length=16))
        batch.alter_column("project_id", existing_type=sa.String(length=32), nullable=True)

    op.create_table(
        "supervision_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        _fk("supervision_sessions", "supervisor_id", "people"),
        _fk("supervision_sessions", "project_id", "projects"),
        _fk("supervision_sessions", "recorded_by", "people"),
        _pk("supervision_sessions"),
    )
    op.create_index(op.f("ix_supervision_sessions_supervisor_id"), "supervision_sessions", ["supervisor_id"])
    op.create_table(
        "supervision_attendees",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["supervision_sessions.id"],
            name=op.f("fk_supervision_attendees_session_id_supervision_sessions"),
        ),
        _fk("supervision_attendees", "person_id", "people"),
        sa.PrimaryKeyConstraint("session_id", "person_id", name=op.f("pk_supervision_attendees")),
    )
    op.create_index(op.f("ix_supervision_attendees_person_id"), "supervision_attendees", ["person_id"])
    op.create_table(
        "supervision_dues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("last_held_on", sa.Date(), nullable=True),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        *_escalation_columns(),
        _fk("supervision_dues", "person_id", "people"),
        _pk("supervision_dues"),
        sa.UniqueConstraint("person_id", name=op.f("uq_supervision_dues_person_id")),
    )
    op.create_index(op.f("ix_supervision_dues_next_escalation_at"), "supervision_dues", ["next_escalation_at"])
    op.create_table(
        "quality_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("done_at", UTC_TIME, nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *_escalation_columns(),
        _fk("quality_actions", "owner_id", "people"),
        _fk("quality_actions", "created_by", "people"),
        _fk("quality_actions", "done_by", "people"),
        _pk("quality_actions"),
    )
    op.create_index(op.f("ix_quality_actions_owner_id"), "quality_actions", ["owner_id"])
    op.create_index("ix_quality_actions_escalation", "quality_actions", ["status", "next_escalation_at"])
    op.create_index("ix_quality_actions_source", "quality_actions", ["source", "source_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("people_involved", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("handling", sa.Text(), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        _fk("incidents", "project_id", "projects"),
        _fk("incidents", "reported_by", "people"),
        _fk("incidents", "closed_by", "people"),
        _pk("incidents"),
    )
    op.create_index(op.f("ix_incidents_occurred_at"), "incidents", ["occurred_at"])
    op.create_index(op.f("ix_incidents_project_id"), "incidents", ["project_id"])
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("handler_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ack_due_at", UTC_TIME, nullable=False),
        sa.Column("answer_due_at", UTC_TIME, nullable=False),
        sa.Column("acknowledged_at", UTC_TIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=False),
        sa.Column("answered_at", UTC_TIME, nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=False),
        *_escalation_columns(),
        _fk("complaints", "project_id", "projects"),
        _fk("complaints", "received_by", "people"),
        _fk("complaints", "handler_id", "people"),
        _fk("complaints", "acknowledged_by", "people"),
        _fk("complaints", "answered_by", "people"),
        _fk("complaints", "closed_by", "people"),
        _pk("complaints"),
    )
    op.create_index(op.f("ix_complaints_project_id"), "complaints", ["project_id"])
    op.create_index(op.f("ix_complaints_received_at"), "complaints", ["received_at"])
    op.create_index("ix_complaints_escalation", "complaints", ["status", "next_escalation_at"])
    op.create_table(
        "certificate_watches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        *_escalation_columns(),
        _fk("certificate_watches", "person_id", "people"),
        _pk("certificate_watches"),
        sa.UniqueConstraint("person_id", "number", "valid_until", name=op.f("uq_certificate_watches_person_id")),
    )
    op.create_index("ix_certificate_watches_escalation", "certificate_watches", ["status", "next_escalation_at"])
    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *_escalation_columns(),
        _fk("risk_reviews", "reviewed_by", "people"),
        _pk("risk_reviews"),
    )
    op.create_index("ix_risk_reviews_escalation", "risk_reviews", ["status", "next_escalation_at"])


def downgrade() -> None:
    for table in ("risk_reviews", "certificate_watches", "complaints", "incidents", "quality_actions"):
        op.drop_table(table)  # their indexes go with them
    op.drop_table("supervision_dues")
    op.drop_table("supervision_attendees")
    op.drop_table("supervision_sessions")
    # escalations of records that no longer exist, and whose subject no longer fits
    op.execute("DELETE FROM escalations WHERE project_id IS NULL OR subject NOT IN ('item', 'gate')")
    with op.batch_alter_table("escalations") as batch:
        batch.alter_column("project_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("subject", existing_type=sa.String(length=16), type_=sa.String(length=8))
    with op.batch_alter_table("people") as batch:
        batch.drop_column("community")
