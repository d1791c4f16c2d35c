"""Merging two records of one person, and forgetting a person (deletion on request).

Neither edits an event: personal data lives only in registry rows, so overwriting a row's personal
fields and its salt is enough, and every stream's hash chain stays valid. Where the archive must keep
the person's service records (§8.3.4: activity records, referrals), the person is pseudonymised —
the id, gender and birth year stay so the records still count — and the result says so."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select

from swflow.config.errors import RefusedError
from swflow.db.engine import unit_of_work
from swflow.db.registry_tables import Consent, Enrolment, Referral, ReferralFollowUp, ServedPerson
from swflow.domain.registry.access import require_sight
from swflow.domain.registry.activity import attended
from swflow.domain.registry.common import record, resolve_person, served_person
from swflow.domain.registry.people import fill_missing
from swflow.domain.registry.rules import FORGOTTEN_NAME, PersonStatus, ReferralStatus, salted_digest

__all__ = ["merge_people", "forget_person"]


def merge_people(keep_id: int, other_id: int, by: str, now: datetime) -> dict[str, Any]:
    """`other` joins `keep`: its consents, projects and referrals move over, its fields fill `keep`'s
    gaps, and its id from now on stands for `keep` (activity records naming it count for `keep`)."""
    if keep_id == other_id:
        raise RefusedError("不能把一条记录合并进它自己")
    with unit_of_work() as session:
        keep, other = served_person(session, keep_id, lock=True), served_person(session, other_id, lock=True)
        for row in (keep, other):
            if row.status != PersonStatus.ACTIVE:
                raise RefusedError(
                    f"服务对象 #{row.id} 已{'合并' if row.status == PersonStatus.MERGED else '匿名化'}，不能合并"
                )
            require_sight(session, row, by, "合并其记录")
        keep.data, added, differing = fill_missing(keep.data, other.data)
        moved = {"consents": 0, "projects": 0, "referrals": 0}
        for consent in session.execute(select(Consent).where(Consent.person_id == other.id)).scalars():
            consent.person_id, moved["consents"] = keep.id, moved["consents"] + 1
        for enrolment in list(session.execute(select(Enrolment).where(Enrolment.person_id == other.id)).scalars()):
            if session.get(Enrolment, (keep.id, enrolment.project_id)) is None:
                session.add(
                    Enrolment(
                        person_id=keep.id,
                        project_id=enrolment.project_id,
                        joined_by=enrolment.joined_by,
                        joined_at=enrolment.joined_at,
                    )
                )
                moved["projects"] += 1
            session.delete(enrolment)
        for referral in session.execute(select(Referral).where(Referral.person_id == other.id)).scalars():
            referral.person_id, moved["referrals"] = keep.id, moved["referrals"] + 1
        keep.updated_at = now
        other.status, other.merged_into, other.data = PersonStatus.MERGED, keep.id, {}
        other.identity_key, other.salt, other.updated_at = None, secrets.token_hex(16), now
        record(
            session,
            "person",
            keep.id,
            "person.merged",
            by,
            now,
            absorbed=other.id,
            moved=moved,
            fields_added=added,
            fields_differing=differing,
            data_sha256=salted_digest(keep.salt, keep.data),
        )
        record(session, "person", other.id, "person.merged_into", by, now, into=keep.id)
        return {
            "id": keep.id,
            "absorbed": other.id,
            "moved": moved,
            "fields_added": added,
            "fields_differing": differing,
        }


def forget_person(person_id: int, by: str, now: datetime) -> dict[str, Any]:
    """Deletion on request. Refused while a referral is open (close it as `withdrawn` first)."""
    with unit_of_work() as session:
        person = resolve_person(session, person_id, lock=True)
        if person.status == PersonStatus.FORGOTTEN:
            raise RefusedError(f"服务对象 #{person.id} 已匿名化")
        require_sight(session, person, by, "删除其个人信息")
        referrals = list(session.execute(select(Referral).where(Referral.person_id == person.id)).scalars())
        still_open = [r.id for r in referrals if r.status != ReferralStatus.CLOSED]
        if still_open:
            ids = "、".join(f"#{i}" for i in still_open)
            raise RefusedError(
                f"服务对象 #{person.id} 还有未结案的转介 {ids}：先以 withdrawn（服务对象撤回）结案，再删除个人信息"
            )
        follow_ups = session.execute(
            select(ReferralFollowUp.id).where(ReferralFollowUp.referral_id.in_([r.id for r in referrals]))
        ).all()
        kept = {
            "activities": len(attended(session, person.id)),
            "referrals": len(referrals),
            "follow_ups": len(follow_ups),
            "projects": len(list(session.execute(select(Enrolment).where(Enrolment.person_id == person.id)))),
            "consents": len(list(session.execute(select(Consent).where(Consent.person_id == person.id)))),
        }
        must_keep = bool(kept["activities"] or kept["referrals"])
        mode = "pseudonymised" if must_keep else "erased"
        statistics: dict[str, Any] = (
            {k: person.data[k] for k in ("gender", "birth_year") if k in person.data} if must_keep else {}
        )
        person.data = {"name": FORGOTTEN_NAME, **statistics}
        person.status, person.identity_key, person.salt = PersonStatus.FORGOTTEN, None, secrets.token_hex(16)
        person.updated_at = now
        for merged in session.execute(select(ServedPerson).where(ServedPerson.merged_into == person.id)).scalars():
            merged.salt = secrets.token_hex(16)
        record(session, "person", person.id, "person.forgotten", by, now, mode=mode, kept=kept)
        return {"id": person.id, "mode": mode, "kept": kept, "fields_kept": sorted(statistics)}
