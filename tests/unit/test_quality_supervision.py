"""§7.3 supervision: records confidential to their circle, coverage, and overdue supervision
escalated by the same sweep and policy as work items (the clock is always given)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow import db, domain
from swflow.config.errors import FormError, RefusedError
from swflow.db import engine_for
from swflow.domain.agency import sweep
from swflow.domain.quality import coverage, list_actions, list_sessions, record_session, show_session
from swflow.domain.quality.actions import complete_action

from ._quality import at, messages, rendered, sent_steps
from ._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER

OTHER_SUPERVISOR = "sun.supervisor"
UNASSIGNED_WORKER = "qian.worker"  # on no project


def session_data(**changes: Any) -> dict[str, Any]:
    return {
        "supervisees": [WORKER],
        "held_on": "2026-03-02",
        "mode": "individual",
        "topics": ["独居老人个案中的哀伤反应"],
        "decisions": "下周起每周与李阿姨的女儿通一次电话",
        "actions": [{"owner": WORKER, "due": "2026-03-09", "text": "整理李阿姨的个案记录"}],
        **changes,
    }


def by_person(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["person"]: r for r in rows}


def test_a_recorded_session_is_read_in_full_by_its_circle(people: Any) -> None:
    session_id = record_session(session_data(), SUPERVISOR, at("2026-03-02", 15))

    for reader in (SUPERVISOR, WORKER, DIRECTOR):
        record = show_session(session_id, reader)
        assert record["topics"] == ["独居老人个案中的哀伤反应"]
        assert record["actions"][0]["text"] == "整理李阿姨的个案记录"


@pytest.mark.parametrize("outsider", [MANAGER, OTHER_SUPERVISOR, SECOND_WORKER])
def test_supervision_records_are_refused_to_people_outside_their_circle(people: Any, outsider: str) -> None:
    session_id = record_session(session_data(), SUPERVISOR, at("2026-03-02", 15))

    with pytest.raises(RefusedError, match="知悉范围"):
        show_session(session_id, outsider)
    if outsider == SECOND_WORKER:  # a worker outside the circle does not learn of it at all
        assert list_sessions(outsider) == []
    else:  # those who keep supervision coverage see who and when, masked
        [listed] = list_sessions(outsider)
        assert listed["confidential"] and "topics" not in listed and "decisions" not in listed
    [action] = list_actions(outsider)
    assert action["owner"] == WORKER and action["text"] is None


def test_a_group_session_covers_every_supervisee(people: Any) -> None:
    data = session_data(supervisees=[WORKER, SECOND_WORKER], mode="group", actions=[], held_on="2026-03-20")
    record_session(data, SUPERVISOR, at("2026-03-20", 15))

    rows = by_person(coverage(at("2026-04-02", 10)))
    assert rows[WORKER]["last_held_on"] == rows[SECOND_WORKER]["last_held_on"] == "2026-03-20"
    assert rows[WORKER]["state"] == "ok"
    assert rows[UNASSIGNED_WORKER] | {"state": "overdue", "last_held_on": None} == rows[UNASSIGNED_WORKER]
    assert rows[UNASSIGNED_WORKER]["days_overdue"] == 1


def test_a_worker_cannot_record_supervision_and_bad_input_names_the_field(people: Any) -> None:
    with pytest.raises(RefusedError, match="督导」角色"):
        record_session(session_data(supervisees=[SECOND_WORKER]), WORKER, NOW)
    with pytest.raises(FormError) as caught:
        record_session(session_data(mode="walk", topics=[]), SUPERVISOR, NOW)
    assert {field for field, _ in caught.value.problems} == {"mode", "topics"}


def test_supervision_events_carry_no_content(people: Any) -> None:
    session_id = record_session(session_data(), SUPERVISOR, at("2026-03-02", 15))

    with db.read_session() as session:
        from sqlalchemy import select

        from swflow.db.tables import Event

        events = session.execute(select(Event).where(Event.stream == f"supervision:{session_id}")).scalars().all()
        assert [e.kind for e in events] == ["supervision.recorded", "action.added"]
        assert "哀伤" not in str([e.payload for e in events]) and "李阿姨" not in str([e.payload for e in events])
        assert db.verify_stream(session, f"supervision:{session_id}") is None


def test_overdue_supervision_escalates_from_the_supervisor_to_the_director(project_id: str, people: Any) -> None:
    # everyone imported on Monday 2 March: the first session is due within 30 days, by 1 April 18:00
    sweep(at("2026-03-30", 10))
    assert messages("quality_due") == []
    sweep(at("2026-03-31", 10))  # the working day before
    assert sorted(m.recipient_id for m in messages("quality_due")) == [SUPERVISOR, OTHER_SUPERVISOR]
    [digest] = messages("quality_due", SUPERVISOR)  # one digest: the project supervisor's three workers
    assert len(digest.context["items"]) == 3
    assert "王社工（wang.worker）应接受督导" in rendered(digest)
    sweep(at("2026-04-01", 10))  # due: the supervisor and the workers' managers
    assert MANAGER in {m.recipient_id for m in messages("quality_due")}
    sweep(at("2026-04-09", 10))  # five working days late (Qingming falls between)
    assert {m.recipient_id for m in messages("quality_due", DIRECTOR)} == {DIRECTOR}

    steps = [(step, who) for _, _, step, who in sent_steps("supervision")]
    assert steps.count(("overdue_5", [DIRECTOR])) == 3
    assert sweep(at("2026-04-09", 11)).escalated == 0  # each step once


def test_a_session_starts_a_new_cycle_and_stops_the_escalation(project_id: str, people: Any) -> None:
    sweep(at("2026-04-03", 10))  # two working days late: the supervisor hears
    record_session(session_data(actions=[], held_on="2026-04-03"), SUPERVISOR, at("2026-04-03", 15))

    sweep(at("2026-04-09", 10))
    wang = [(i, r, step) for i, r, step, _ in sent_steps("supervision") if step == "overdue_5"]
    assert len(wang) == 2  # the two others: wang.worker's next session is due after the May Day holiday
    assert by_person(coverage(at("2026-04-09", 10)))[WORKER]["due_at"].startswith("2026-05-06")


def test_a_sensitive_area_asks_for_supervision_every_two_weeks(launch: Callable[..., str]) -> None:
    launch(template_id="domestic-violence", name="家暴受害妇女支持")
    record_session(session_data(actions=[]), SUPERVISOR, at("2026-03-02", 15))

    rows = by_person(coverage(at("2026-03-10", 10)))
    assert rows[WORKER]["every_days"] == 14 and rows[WORKER]["due_at"].startswith("2026-03-16")
    assert rows[UNASSIGNED_WORKER]["every_days"] == 30


def test_launching_a_sensitive_project_moves_the_escalation_clock_too(launch: Callable[..., str]) -> None:
    """Not only the coverage report: the sweep escalates on the two-week rule from the launch on."""
    record_session(session_data(actions=[]), SUPERVISOR, at("2026-03-02", 15))
    launch(template_id="domestic-violence", name="家暴受害妇女支持")  # after the session: the launch moves it
    assert sweep(at("2026-03-20", 10)).escalated >= 1  # past 16 March (14 days); the 30-day rule: 1 April
    assert {who for _, _, _, people in sent_steps("supervision") for who in people} == {SUPERVISOR}


@pytest.mark.parametrize("ending", ["completed", "rejected"])
def test_when_the_sensitive_project_ends_the_two_week_rule_ends_with_it(
    launch: Callable[..., str], sample_forms: dict[str, Any], ending: str
) -> None:
    record_session(session_data(actions=[]), SUPERVISOR, at("2026-03-02", 15))
    project = launch(template_id="domestic-violence", name="家暴受害妇女支持")
    assert by_person(coverage(at("2026-03-03", 10)))[WORKER]["every_days"] == 14
    end = at("2026-03-03", 10)
    if ending == "completed":
        domain.close_project(project, end)
    else:  # the supervisor rejects the needs assessment: the project is terminated
        domain.open_stage(project, "assessment", end)
        for item in domain.project_status(project)["stages"][0]["work_items"]:
            domain.submit_form(project, item["form"], WORKER, sample_forms[item["form"]], end)
        decided = domain.record_decision(project, "assessment", SUPERVISOR, "reject", "服务对象已迁出本社区", end)
        gate = domain.read_gate(project, "assessment")
        outcome = domain.apply_gate_reply(project, "assessment", gate.attempt, decided.decision_id, end)
        assert outcome.kind == "rejected"

    assert by_person(coverage(at("2026-03-04", 10)))[WORKER]["every_days"] == 30
    assert sweep(at("2026-03-20", 10)).escalated == 0  # not the 14-day clock (16 March): the 30-day one (1 April)
    assert sweep(at("2026-04-03", 10)).escalated >= 1


def test_a_follow_up_action_is_reminded_then_escalated_until_done(people: Any) -> None:
    record_session(session_data(), SUPERVISOR, at("2026-03-02", 15))
    [assigned] = messages("quality_action_assigned")
    assert assigned.recipient_id == WORKER and "李阿姨" not in rendered(assigned)

    sweep(at("2026-03-06", 10))  # the working day before 9 March
    sweep(at("2026-03-09", 10))  # due: the owner and whoever set it
    assert [(step, who) for _, _, step, who in sent_steps("action")] == [
        ("reminder", [WORKER]),
        ("due", [SUPERVISOR, WORKER]),
    ]
    [action] = list_actions(WORKER)
    complete_action(action["id"], WORKER, "已整理", at("2026-03-10", 10))
    assert sweep(at("2026-03-20", 10)).escalated == 0
    for message in messages("quality_due"):
        assert "李阿姨" not in rendered(message) and "哀伤" not in rendered(message)


@pytest.mark.parametrize(
    ("table", "where", "index"),
    [
        ("supervision_dues", "", "ix_supervision_dues_next_escalation_at"),
        ("complaints", "status IN ('open', 'acknowledged') AND", "ix_complaints_escalation"),
        ("quality_actions", "status = 'open' AND", "ix_quality_actions_escalation"),
        ("certificate_watches", "status = 'active' AND", "ix_certificate_watches_escalation"),
        ("risk_reviews", "status = 'due' AND", "ix_risk_reviews_escalation"),
        ("incidents", "status = 'open' AND", "ix_incidents_escalation"),
    ],
)
def test_the_sweep_reads_due_quality_records_through_their_indexes(
    archive_home: Any, table: str, where: str, index: str
) -> None:
    from sqlalchemy import text

    from swflow.config.settings import get_settings

    engine = engine_for(get_settings().archive_url)
    with engine.connect() as connection:
        plan = connection.execute(
            text(f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE {where} next_escalation_at <= :now"),
            {"now": "2026-03-13 02:00:00"},
        ).all()
    assert index in " ".join(str(row) for row in plan)
