"""registry: people served, consents, enrolments, organisations, resource links, volunteers,
trainings, certificates, referrals and their follow-ups

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
STAFF = sa.String(length=64)
PROJECT = sa.String(length=32)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    op.create_table(
        "served_people",
        _id(),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=True),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("registered_by", STAFF, nullable=False),
        sa.Column("registered_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        _fk("served_people", "merged_into", "served_people"),
        _fk("served_people", "registered_by", "people"),
        _pk("served_people"),
    )
    _index("served_people", "identity_key")
    op.create_table(
        "consents",
        _id(),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("given_by", sa.String(length=12), nullable=False),
        sa.Column("recorded_by", STAFF, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_recorded_by", STAFF, nullable=True),
        sa.Column("withdrawn_at", UTC_TIME, nullable=True),
        _fk("consents", "person_id", "served_people"),
        _fk("consents", "recorded_by", "people"),
        _fk("consents", "withdrawn_recorded_by", "people"),
        _pk("consents"),
    )
    _index("consents", "person_id")
    op.create_table(
        "enrolments",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("project_id", PROJECT, nullable=False),
        sa.Column("joined_by", STAFF, nullable=False),
        sa.Column("joined_at", UTC_TIME, nullable=False),
        _fk("enrolments", "person_id", "served_people"),
        _fk("enrolments", "project_id", "projects"),
        _fk("enrolments", "joined_by", "people"),
        sa.PrimaryKeyConstraint("person_id", "project_id", name=op.f("pk_enrolments")),
    )
    _index("enrolments", "project_id")
    op.create_table(
        "organisations",
        _id(),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("registered_by", STAFF, nullable=False),
        sa.Column("registered_at", UTC_TIME, nullable=False),
        _fk("organisations", "registered_by", "people"),
        _pk("organisations"),
    )
    _index("organisations", "kind")
    op.create_table(
        "resource_links",
        _id(),
        sa.Column("project_id", PROJECT, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("linked_by", STAFF, nullable=False),
        sa.Column("linked_at", UTC_TIME, nullable=False),
        sa.Column("result_by", STAFF, nullable=True),
        sa.Column("result_at", UTC_TIME, nullable=True),
        _fk("resource_links", "project_id", "projects"),
        _fk("resource_links", "organisation_id", "organisations"),
        _fk("resource_links", "linked_by", "people"),
        _fk("resource_links", "result_by", "people"),
        _pk("resource_links"),
    )
    _index("resource_links", "project_id")
    _index("resource_links", "organisation_id")
    op.create_table(
        "volunteers",
        _id(),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=True),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("registered_by", STAFF, nullable=False),
        sa.Column("registered_at", UTC_TIME, nullable=False),
        _fk("volunteers", "registered_by", "people"),
        _pk("volunteers"),
    )
    _index("volunteers", "identity_key")
    op.create_table(
        "volunteer_trainings",
        _id(),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("recorded_by", STAFF, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        _fk("volunteer_trainings", "volunteer_id", "volunteers"),
        _fk("volunteer_trainings", "recorded_by", "people"),
        _pk("volunteer_trainings"),
    )
    _index("volunteer_trainings", "volunteer_id")
    op.create_table(
        "volunteer_certificates",
        _id(),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("html_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_by", STAFF, nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        _fk("volunteer_certificates", "volunteer_id", "volunteers"),
        _fk("volunteer_certificates", "issued_by", "people"),
        _pk("volunteer_certificates"),
        sa.UniqueConstraint("number", name=op.f("uq_volunteer_certificates_number")),
    )
    _index("volunteer_certificates", "volunteer_id")
    op.create_table(
        "referrals",
        _id(),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("project_id", PROJECT, nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("owner_id", STAFF, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_by", STAFF, nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=False),
        sa.Column("follow_up_round", sa.Integer(), nullable=False),
        sa.Column("follow_up_due_at", UTC_TIME, nullable=True),
        sa.Column("next_escalation_at", UTC_TIME, nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("closed_by", STAFF, nullable=True),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        _fk("referrals", "person_id", "served_people"),
        _fk("referrals", "project_id", "projects"),
        _fk("referrals", "organisation_id", "organisations"),
        _fk("referrals", "consent_id", "consents"),
        _fk("referrals", "owner_id", "people"),
        _fk("referrals", "opened_by", "people"),
        _fk("referrals", "closed_by", "people"),
        _pk("referrals"),
    )
    for column in ("person_id", "project_id", "owner_id"):
        _index("referrals", column)
    op.create_index("ix_referrals_escalation", "referrals", ["status", "next_escalation_at"])
    op.create_table(
        "referral_follow_ups",
        _id(),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", UTC_TIME, nullable=True),
        sa.Column("recorded_by", STAFF, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        _fk("referral_follow_ups", "referral_id", "referrals"),
        _fk("referral_follow_ups", "recorded_by", "people"),
        _pk("referral_follow_ups"),
    )
    _index("referral_follow_ups", "referral_id")


def downgrade() -> None:
    op.execute("DELETE FROM escalations WHERE subject = 'referral'")
    for table in (
        "referral_follow_ups",
        "referrals",
        "volunteer_certificates",
        "volunteer_trainings",
        "volunteers",
        "resource_links",
        "organisations",
        "enrolments",
        "consents",
        "served_people",
    ):
        op.drop_table(table)  # their indexes go with them
