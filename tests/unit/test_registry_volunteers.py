"""Volunteers (§5.2): hours summed from the activity records (a revised record replaces the first),
printed on the service certificate; projects launched before form v2 keep v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from swflow import db, domain
from swflow.config.errors import FormError, RefusedError
from swflow.db.registry_tables import VolunteerCertificate
from swflow.db.tables import Project
from swflow.domain import registry
from swflow.forms_spec import MASK

from ._registry import OUTSIDER, event_payloads, execution_project, record_activity, volunteer
from ._support import NOW, SUPERVISOR, WORKER

pytestmark = pytest.mark.usefixtures("people")


@pytest.fixture
def project(launch: Callable[..., str], sample_forms: dict[str, Any]) -> str:
    return execution_project(launch, sample_forms)


def test_hours_are_summed_from_the_activity_records(project: str, sample_forms: dict[str, Any]) -> None:
    liu, zhang = volunteer(), volunteer("张志愿", "13900000002")
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 2.5), (zhang, 2)])
    record_activity(project, "a2", sample_forms, volunteers=[(liu, 1.5)], activity_date="2025-04-10", title="结对探访")

    hours = registry.volunteer_record(liu, WORKER)

    assert hours["total_hours"] == 4
    assert [(a["activity"], a["hours"]) for a in hours["activities"]] == [("a1", 2.5), ("a2", 1.5)]
    assert registry.volunteer_record(zhang, WORKER)["total_hours"] == 2
    assert {v["id"]: v["total_hours"] for v in registry.list_volunteers(WORKER)} == {liu: 4, zhang: 2}


def test_a_revised_activity_record_replaces_the_first(project: str, sample_forms: dict[str, Any]) -> None:
    liu = volunteer()
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 2.5)])
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 3)])  # corrected before the gate
    assert registry.volunteer_record(liu, WORKER)["total_hours"] == 3


def test_the_certificate_prints_the_hours_and_is_recorded(project: str, sample_forms: dict[str, Any]) -> None:
    liu = volunteer()
    registry.record_training(liu, "探访技巧与安全", NOW.date(), 3, WORKER, NOW)
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 2.5)])
    record_activity(project, "a2", sample_forms, volunteers=[(liu, 1.5)], activity_date="2025-04-10", title="结对探访")

    issued = registry.issue_certificate(liu, SUPERVISOR, NOW)

    html = issued["html"]
    assert issued["number"] == f"ZY2026-{liu:05d}-01" and issued["hours"] == 4
    assert "<strong>刘志愿</strong>" in html and '累计志愿服务时长 <span class="total">4 小时</span>' in html
    assert "2025-03-20 至 2025-04-10" in html and "结对探访" in html and "探访技巧与安全" in html
    assert "幸福社区社会工作服务站" in html and "@page { size: A4" in html
    assert "13900000001" not in html  # no phone on a certificate
    with db.read_session() as session:
        row = session.execute(select(VolunteerCertificate)).scalar_one()
        assert (row.number, row.hours, row.activities, row.issued_by) == (issued["number"], 4, 2, SUPERVISOR)
    assert registry.issue_certificate(liu, SUPERVISOR, NOW)["number"].endswith("-02")
    assert "刘志愿" not in event_payloads()


def test_a_certificate_with_no_activity_says_so() -> None:
    html = registry.issue_certificate(volunteer(), WORKER, NOW)["html"]
    assert "尚无志愿服务活动记录" in html


def test_a_volunteers_phone_is_masked_for_someone_outside(project: str, sample_forms: dict[str, Any]) -> None:
    liu = volunteer(by=SUPERVISOR)
    assert registry.volunteer_record(liu, SUPERVISOR)["data"]["phone"] == "13900000001"  # the registrar
    assert registry.volunteer_record(liu, WORKER)["data"]["phone"] == MASK
    record_activity(project, "a1", sample_forms, volunteers=[(liu, 2)])
    # naming a volunteer in an activity record opens nothing: anyone could name any id
    assert registry.volunteer_record(liu, WORKER)["data"]["phone"] == MASK
    assert registry.volunteer_record(liu, OUTSIDER)["data"]["phone"] == MASK
    assert registry.volunteer_record(liu, OUTSIDER)["data"]["name"] == "刘志愿"  # names go on certificates


def test_a_volunteer_registered_twice_is_refused() -> None:
    volunteer()
    with pytest.raises(RefusedError, match="重复登记"):
        volunteer()


def test_activity_records_check_their_new_tables(project: str, sample_forms: dict[str, Any]) -> None:
    with pytest.raises(FormError) as caught:
        record_activity(project, "a1", sample_forms, volunteers=[(1, 30)], served=[0])
    where = [w for w, _ in caught.value.problems]
    assert any("（volunteer_hours）" in w and "（hours）" in w for w in where)
    assert any("（served）" in w and "（person）" in w for w in where)


def test_activity_records_name_only_people_and_volunteers_on_record(project: str, sample_forms: dict[str, Any]) -> None:
    """The ids of an activity record are checked at submission: a typo names no one, nothing is kept."""
    from ._registry import person

    liu, served, forgotten = (
        volunteer(),
        person(project=project),
        person(project=project, name="李桂兰", phone="13800138001"),
    )
    registry.forget_person(forgotten, WORKER, NOW)
    before = len(domain.project_events(project))

    with pytest.raises(FormError) as caught:
        record_activity(project, "a1", sample_forms, served=[served, 999, forgotten], volunteers=[(liu, 2), (998, 1)])

    problems = dict(caught.value.problems)
    assert problems == {
        "served › 第 2 行 › person": "没有服务对象 #999（用 `swflow registry person find` 查找）",
        "served › 第 3 行 › person": f"服务对象 #{forgotten} 的个人信息已删除，不能再记入活动",
        "volunteer_hours › 第 2 行 › volunteer": "没有志愿者 #998（用 `swflow registry volunteer list` 查看）",
    }
    assert len(domain.project_events(project)) == before  # refused whole: no half-written record
    record_activity(project, "a1", sample_forms, served=[served], volunteers=[(liu, 2)])  # the right ids pass


def test_projects_launched_before_v2_keep_the_first_activity_record(project: str, sample_forms: dict[str, Any]) -> None:
    with db.unit_of_work() as session:  # as a project launched with version 1 pinned it
        pinned = session.get_one(Project, project)
        v2 = pinned.forms_snapshot["service-activity-record"]
        assert v2["version"] == 2
        v1 = {**v2, "version": 1, "fields": [f for f in v2["fields"] if f["name"] not in ("served", "volunteer_hours")]}
        pinned.forms_snapshot = {**pinned.forms_snapshot, "service-activity-record": v1}
    liu = volunteer()

    with pytest.raises(FormError, match="表单中没有此字段"):
        record_activity(project, "a1", sample_forms, volunteers=[(liu, 2)])
    record_activity(project, "a1", sample_forms)

    assert registry.volunteer_record(liu, WORKER)["total_hours"] == 0
