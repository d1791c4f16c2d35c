"""Read models the web's person-served acts need before they are done: what forgetting a person would keep
and erase (the same counts and the same rule `forget_person` applies), for someone in the person's circle only.
Nothing is written; the act itself decides and records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from swflow.db.engine import read_session
from swflow.db.registry_tables import Consent, Enrolment, Referral, ReferralFollowUp
from swflow.domain.registry.access import require_sight, sees_person
from swflow.domain.registry.activity import attended
from swflow.domain.registry.common import resolve_person, staff
from swflow.domain.registry.rules import ReferralStatus

__all__ = ["ForgetPreview", "forget_preview", "sees_record"]


@dataclass(frozen=True)
class ForgetPreview:
    """What `forget_person` would do to the person now: pseudonymise (service records must be kept: the id and
    the fields in `fields_kept` stay for statistics) or erase everything; refused while a referral is open."""

    id: int
    status: str
    activities: int
    referrals: int
    follow_ups: int
    projects: int
    consents: int
    open_referrals: tuple[int, ...]
    fields_kept: tuple[str, ...]

    @property
    def mode(self) -> str:
        return "pseudonymised" if self.activities or self.referrals else "erased"


def forget_preview(person_id: int, viewer: str) -> ForgetPreview:
    """Refused (like the act) for a viewer outside the person's circle: the counts are the person's data."""
    with read_session() as session:
        person = resolve_person(session, person_id)
        require_sight(session, person, viewer, "删除其个人信息")
        referrals = list(session.execute(select(Referral).where(Referral.person_id == person.id)).scalars())
        follow_ups = session.execute(
            select(ReferralFollowUp.id).where(ReferralFollowUp.referral_id.in_([r.id for r in referrals]))
        ).all()
        activities = len(attended(session, person.id))
        keep = bool(activities or referrals)
        return ForgetPreview(
            id=person.id,
            status=person.status,
            activities=activities,
            referrals=len(referrals),
            follow_ups=len(follow_ups),
            projects=len(list(session.execute(select(Enrolment).where(Enrolment.person_id == person.id)))),
            consents=len(list(session.execute(select(Consent).where(Consent.person_id == person.id)))),
            open_referrals=tuple(r.id for r in referrals if r.status != ReferralStatus.CLOSED),
            fields_kept=tuple(sorted(k for k in ("gender", "birth_year") if keep and k in person.data)),
        )


def sees_record(person_id: int, viewer: str) -> bool:
    """Whether the viewer is in the circle of the record the id stands for now (read only, not recorded): a
    refused act by someone outside it gets the refusal alone, not a page of the record (whose view is recorded)."""
    with read_session() as session:
        return sees_person(session, resolve_person(session, person_id), staff(session, viewer))
