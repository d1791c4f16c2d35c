"""§7.4 risk: incidents on record, severe ones told at once; the risk rules reviewed on a schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from swflow import domain
from swflow.config.errors import FormError, RefusedError
from swflow.config.escalation import get_policy
from swflow.domain.agency import sweep
from swflow.domain.deadlines.rules import fire_time
from swflow.domain.quality import (
    close_incident,
    list_incidents,
    report_incident,
    review_risk_rules,
    show_incident,
)

from ._quality import at, messages, rendered, sent_steps
from ._registry import execution_project
from ._support import DIRECTOR, MANAGER, SUPERVISOR, WORKER

PEOPLE = "李秀英，女，82 岁，独居，电话 13600000000"
PLACE = "幸福社区 3 栋 201 室（李阿姨家中）"


def incident(project: str | None = None, **changes: Any) -> dict[str, Any]:
    return {
        "kind": "accident",
        "severity": "severe",
        "occurred_at": "2026-03-06T19:20:00",
        "place": PLACE,
        "people_involved": PEOPLE,
        "description": "入户探访时老人起身跌倒，右腕疼痛",
        "handling": "社工陪同拨打 120 送医，并通知其女儿",
        "project": project,
        **changes,
    }


def test_a_severe_incident_tells_the_supervisor_and_the_director_at_once(project_id: str) -> None:
    evening = at("2026-03-06", 20)  # a Friday evening: ordinary messages would wait for Monday
    reported = report_incident(incident(project_id), WORKER, evening)

    assert sorted(reported["notified"]) == [DIRECTOR, SUPERVISOR]
    sent = messages("incident_reported")
    assert sorted(m.recipient_id for m in sent) == [DIRECTOR, SUPERVISOR]
    assert all(m.urgent and m.next_attempt_at == evening for m in sent)
    assert {m.template for m in domain.due_messages(evening)} == {"incident_reported"}
    for message in sent:
        text = rendered(message) + str(message.context)
        assert "严重" in text and "意外伤害" in text
        assert "李秀英" not in text and "13600000000" not in text and "201" not in text and "跌倒" not in text


def test_a_minor_incident_is_recorded_without_an_alarm(project_id: str) -> None:
    report_incident(incident(project_id, severity="low"), WORKER, at("2026-03-06", 20))
    assert messages("incident_reported") == []
    [row] = list_incidents()
    assert (row["severity_title"], row["kind_title"], row["status"]) == ("轻微", "意外伤害", "open")
    assert "people_involved" not in row and "place" not in row


def test_without_a_project_every_supervisor_hears_of_a_severe_incident(people: Any) -> None:
    reported = report_incident(incident(), DIRECTOR, at("2026-03-06", 20))
    assert sorted(reported["notified"]) == [SUPERVISOR, "sun.supervisor"]  # not the director who reported it


def test_kinds_and_severities_are_the_incident_forms_choices(people: Any) -> None:
    with pytest.raises(FormError) as caught:
        report_incident(incident(kind="flood", severity="extreme"), WORKER, at("2026-03-06", 20))
    assert [field for field, _ in caught.value.problems] == ["kind", "severity"]
    with pytest.raises(FormError, match="occurred_at"):
        report_incident(incident(occurred_at="2026-03-07T08:00:00"), WORKER, at("2026-03-06", 20))


def test_an_incident_is_refused_to_people_outside_its_circle(project_id: str) -> None:
    incident_id = report_incident(incident(project_id), WORKER, at("2026-03-06", 20))["id"]

    for reader in (WORKER, MANAGER, SUPERVISOR, DIRECTOR):  # the project's team and the director
        assert show_incident(incident_id, reader)["people_involved"] == PEOPLE
    for outsider in ("qian.worker", "sun.supervisor"):
        with pytest.raises(RefusedError, match="知悉范围"):
            show_incident(incident_id, outsider)


def test_the_projects_supervisor_closes_an_incident_with_its_follow_up(project_id: str) -> None:
    incident_id = report_incident(incident(project_id), WORKER, at("2026-03-06", 20))["id"]
    with pytest.raises(RefusedError, match="不能结束"):
        close_incident(incident_id, WORKER, "已回访", at("2026-03-09"))
    close_incident(incident_id, SUPERVISOR, "已回访，家中加装扶手；修订入户探访安全提示", at("2026-03-09"))
    assert show_incident(incident_id, DIRECTOR)["status"] == "closed"
    with pytest.raises(RefusedError, match="已结束"):
        close_incident(incident_id, DIRECTOR, "再次", at("2026-03-10"))


def test_the_risk_rules_are_reviewed_every_year_and_reminded_when_due(people: Any) -> None:
    due = datetime.fromisoformat("2027-03-02T18:00:00+08:00")  # a year after the people were set up
    first = fire_time(due, get_policy("risk-review").steps[0])
    sweep(first.replace(hour=8))  # (the workers' supervision is long overdue by now: escalated as well)
    assert sent_steps("risk_review") == []
    sweep(first.replace(hour=10))
    assert sent_steps("risk_review") == [(1, 0, "reminder_10", [DIRECTOR])]
    assert any("检讨并修订风险管理制度" in rendered(m) for m in messages("quality_due", DIRECTOR))

    with pytest.raises(RefusedError, match="机构负责人"):
        review_risk_rules(SUPERVISOR, "", first)
    following = review_risk_rules(DIRECTOR, "补充入户探访防跌倒要求", first.replace(hour=11))
    assert following.startswith("2028-02")
    sweep(datetime.fromisoformat("2027-03-10T10:00:00+08:00"))  # past the old due date: the review is done
    assert [step for _, _, step, _ in sent_steps("risk_review")] == ["reminder_10"]


def test_an_open_incident_is_reminded_then_escalated_until_its_follow_up_is_recorded(project_id: str) -> None:
    """§7.4: the follow-up is due in working days by severity (quality.yaml `close_days`: severe 3)."""
    reported = report_incident(incident(project_id), WORKER, at("2026-03-09", 10))  # Monday
    assert datetime.fromisoformat(reported["close_due_at"]) == at("2026-03-12", 18)  # three working days
    assert list_incidents()[0]["close_due_at"] == reported["close_due_at"]

    sweep(at("2026-03-11", 10))  # the working day before
    sweep(at("2026-03-12", 10))  # due: the project's manager (who may close it)
    sweep(at("2026-03-16", 10))  # two working days late: its supervisor
    assert [(step, who) for _, _, step, who in sent_steps("incident")] == [
        ("reminder", [MANAGER]),
        ("due", [MANAGER]),
        ("overdue_2", [SUPERVISOR]),
    ]
    for message in messages("quality_due"):
        text = rendered(message)
        assert f"风险事件 #{reported['id']}" in text and "swflow incident close" in text
        assert "李秀英" not in text and "跌倒" not in text and "201" not in text

    close_incident(reported["id"], MANAGER, "已随访，老人手腕无骨折，调整探访安排", at("2026-03-16", 15))
    assert sweep(at("2026-03-30", 10)).escalated == 0  # closed: no more steps


def test_an_incident_outside_a_project_is_followed_up_by_the_directors(people: Any) -> None:
    low = incident(None, severity="low")
    reported = report_incident(low, WORKER, at("2026-03-09", 10))
    assert datetime.fromisoformat(reported["close_due_at"]) == at("2026-03-23", 18)  # the default: ten working days

    sweep(at("2026-03-23", 10))
    assert [(step, who) for _, _, step, who in sent_steps("incident")] == [("due", [DIRECTOR])]  # reminder caught up


def test_a_project_incident_form_is_also_an_entry_of_the_agency_register(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    """§7.4: the register is complete only if incidents written in a project's forms are in it too."""
    project = execution_project(launch, sample_forms)
    data = {**sample_forms["incident-report"], "severity": "severe", "occurred_at": "2026-03-08"}

    domain.submit_form(project, "incident-report", WORKER, data, at("2026-03-09", 10))

    [row] = list_incidents()
    assert (row["project"], row["severity"], row["status"], row["occurred_at"][:10]) == (
        project,
        "severe",
        "open",
        "2026-03-07",  # 8 March 00:00 in Beijing, kept in UTC
    )
    assert datetime.fromisoformat(row["close_due_at"]) == at("2026-03-12", 18)
    assert sorted(m.recipient_id for m in messages("incident_reported")) == [DIRECTOR, SUPERVISOR]
    assert show_incident(row["id"], SUPERVISOR)["handling"] == data["immediate_handling"]

    corrected = {**data, "place": "幸福社区活动中心二楼楼梯"}
    domain.submit_form(project, "incident-report", WORKER, corrected, at("2026-03-09", 11))
    [same] = list_incidents()  # the same incident corrected: its entry is amended, nobody is told twice
    assert same["id"] == row["id"] and show_incident(row["id"], SUPERVISOR)["place"] == corrected["place"]
    assert len(messages("incident_reported")) == 2

    another = {**data, "kind": sample_forms["incident-report"]["kind"], "occurred_at": "2026-03-09"}
    domain.submit_form(project, "incident-report", WORKER, another, at("2026-03-09", 15))
    assert len(list_incidents()) == 2  # another day: another incident


def test_a_project_incident_form_the_register_refuses_is_not_recorded_at_all(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    before = len(domain.project_events(project))
    data = {**sample_forms["incident-report"], "place": "长" * 501}  # the form allows it; the register does not

    with pytest.raises(FormError, match="place"):
        domain.submit_form(project, "incident-report", WORKER, data, at("2026-03-09", 10))

    assert list_incidents() == [] and len(domain.project_events(project)) == before
