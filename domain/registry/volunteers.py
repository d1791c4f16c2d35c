"""Volunteers (§5.2): registration, training, hours summed from the activity records, and the
service certificate (证明) rendered as printable HTML and recorded (number, hours, page digest)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from swflow.config.clock import SHANGHAI
from swflow.config.errors import FormError, RefusedError
from swflow.config.registry import registry_settings
from swflow.db.engine import read_session, serialise_on, unit_of_work
from swflow.db.registry_tables import Volunteer, VolunteerCertificate, VolunteerTraining
from swflow.domain.registry.access import sees_volunteer
from swflow.domain.registry.activity import hours_by_volunteer, volunteer_hours
from swflow.domain.registry.common import iso, record, staff, volunteer
from swflow.domain.registry.rules import hours_text, identity_key, salted_digest, total_hours
from swflow.domain.registry.specs import checked, masked, record_spec

__all__ = [
    "register_volunteer",
    "record_training",
    "list_volunteers",
    "volunteer_record",
    "issue_certificate",
]


def register_volunteer(
    data: dict[str, Any], registered_on: date, by: str, now: datetime, not_duplicate: bool = False
) -> int:
    """Registration (登记注册); the same name, birth year and phone twice is refused unless told."""
    clean = checked("volunteer", data)
    key = identity_key(clean["name"], clean["birth_year"], clean.get("phone"))
    with unit_of_work() as session:
        staff(session, by)
        serialise_on(session, f"volunteer:{key}")
        same = list(session.execute(select(Volunteer.id).where(Volunteer.identity_key == key)).scalars())
        if same and not not_duplicate:
            ids = "、".join(f"#{i}" for i in same)
            raise RefusedError(
                f"重复登记：志愿者 {ids} 的姓名、出生年份和电话与本次相同；不是同一人时加 --not-duplicate"
            )
        row = Volunteer(
            data=clean,
            identity_key=key,
            salt=secrets.token_hex(16),
            registered_on=registered_on,
            registered_by=by,
            registered_at=now,
        )
        session.add(row)
        session.flush()
        record(
            session,
            "volunteer",
            row.id,
            "volunteer.registered",
            by,
            now,
            data_sha256=salted_digest(row.salt, clean),
            distinct_from=same,
        )
        return row.id


def record_training(volunteer_id: int, course: str, held_on: date, hours: float, by: str, now: datetime) -> int:
    if not course.strip():
        raise FormError("--course：须写培训内容", [("--course", "必填")])
    if not 0 < hours <= 24:
        raise FormError("--hours：学时须大于 0、不超过 24", [("--hours", "0 < 学时 ≤ 24")])
    with unit_of_work() as session:
        staff(session, by)
        volunteer(session, volunteer_id)
        row = VolunteerTraining(
            volunteer_id=volunteer_id, course=course, held_on=held_on, hours=hours, recorded_by=by, recorded_at=now
        )
        session.add(row)
        session.flush()
        record(session, "volunteer", volunteer_id, "volunteer.trained", by, now, training=row.id, hours=hours)
        return row.id


def _trainings(session: Session, volunteer_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(VolunteerTraining)
        .where(VolunteerTraining.volunteer_id == volunteer_id)
        .order_by(VolunteerTraining.held_on)
    ).scalars()
    return [
        {"course": t.course, "held_on": t.held_on.isoformat(), "hours": t.hours, "hours_text": hours_text(t.hours)}
        for t in rows
    ]


def _summary(session: Session, row: Volunteer, clear: bool) -> dict[str, Any]:
    hours = volunteer_hours(session, row.id)
    return {
        "id": row.id,
        "masked": not clear,
        "data": masked("volunteer", row.data, clear),
        "registered_on": row.registered_on.isoformat(),
        "registered_by": row.registered_by,
        "total_hours": float(total_hours(hours)),
        "activities": [
            {
                "project": h.project_id,
                "project_name": h.project_name,
                "activity": h.activity,
                "activity_date": h.activity_date,
                "title": h.title,
                "hours": h.hours,
            }
            for h in hours
        ],
        "trainings": _trainings(session, row.id),
    }


def volunteer_record(volunteer_id: int, viewer: str) -> dict[str, Any]:
    """A volunteer, their hours per activity (from the activity records) and training; the phone
    is masked unless the viewer registered them, works on a project they served, or directs."""
    with read_session() as session:
        row = volunteer(session, volunteer_id)
        return _summary(session, row, sees_volunteer(session, row, staff(session, viewer)))


def list_volunteers(viewer: str) -> list[dict[str, Any]]:
    with read_session() as session:
        person = staff(session, viewer)
        hours = hours_by_volunteer(session)
        rows = session.execute(select(Volunteer).order_by(Volunteer.id)).scalars().all()
        return [
            {
                "id": r.id,
                **masked("volunteer", r.data, sees_volunteer(session, r, person, hours.get(r.id, []))),
                "total_hours": float(total_hours(hours.get(r.id, []))),
            }
            for r in rows
        ]


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("swflow.domain.registry", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
    )


def issue_certificate(volunteer_id: int, by: str, now: datetime) -> dict[str, Any]:
    """The certificate's HTML, its number and the hours it states; the issue is recorded."""
    settings = registry_settings()
    with unit_of_work() as session:
        issuer = staff(session, by)
        row = volunteer(session, volunteer_id)
        hours = volunteer_hours(session, row.id)
        total = total_hours(hours)
        earlier = session.execute(
            select(func.count()).select_from(VolunteerCertificate).where(VolunteerCertificate.volunteer_id == row.id)
        ).scalar_one()
        local = now.astimezone(SHANGHAI)
        number = f"ZY{local:%Y}-{row.id:05d}-{earlier + 1:02d}"
        gender = next(f for f in record_spec("volunteer").fields if f.name == "gender")
        html = (
            _environment()
            .get_template("certificate.html.j2")
            .render(
                title=settings.certificate_title,
                number=number,
                agency=settings.agency,
                volunteer={
                    "id": row.id,
                    "name": row.data["name"],
                    "registration_no": row.data.get("registration_no"),
                    "gender_title": (gender.choices or {}).get(row.data["gender"], ""),
                },
                activities=[{**h.__dict__, "hours_text": hours_text(h.hours)} for h in hours],
                first_date=min((h.activity_date for h in hours), default=""),
                last_date=max((h.activity_date for h in hours), default=""),
                total=hours_text(total),
                trainings=_trainings(session, row.id),
                issued_on=f"{local.year} 年 {local.month} 月 {local.day} 日",
                issued_by=issuer.name,
            )
        )
        digest = hashlib.sha256(html.encode()).hexdigest()
        session.add(
            VolunteerCertificate(
                volunteer_id=row.id,
                number=number,
                hours=float(total),
                activities=len(hours),
                html_sha256=digest,
                issued_by=by,
                issued_at=now,
            )
        )
        record(
            session,
            "volunteer",
            row.id,
            "volunteer.certificate_issued",
            by,
            now,
            number=number,
            hours=float(total),
            activities=len(hours),
            html_sha256=digest,
        )
        return {
            "number": number,
            "hours": float(total),
            "activities": len(hours),
            "html": html,
            "html_sha256": digest,
            "issued_at": iso(now),
        }
