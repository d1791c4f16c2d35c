"""Tamper evidence through `swflow archive verify`, categories and retention (§8.3.4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from swflow import domain
from swflow.app.cli.main import main
from swflow.archive.retention import records_due_for_review
from swflow.config.settings import get_settings
from swflow.db import engine_for
from tests.unit._support import NOW


def _sql(statement: str, **params: Any) -> None:
    with engine_for(get_settings().archive_url).begin() as connection:
        connection.execute(text(statement), params)


def _verify(project: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["archive", "verify", project])
    out = capsys.readouterr()
    return code, out.out + out.err


def _stream(project: str) -> str:
    return f"project:{project}"


def test_a_clean_archive_verifies(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 0 and "哈希链完整" in out, out


@pytest.mark.tampers
def test_an_edited_event_is_named(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    _sql("UPDATE events SET actor = 'someone.else' WHERE stream = :s AND seq = 3", s=_stream(awaiting_assessment))
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 3 and "第 3 个事件" in out and "被修改" in out


@pytest.mark.tampers
def test_a_deleted_event_is_named(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    _sql("DELETE FROM events WHERE stream = :s AND seq = 3", s=_stream(awaiting_assessment))
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 3 and "第 4 个事件" in out


@pytest.mark.tampers
def test_an_inserted_event_is_named(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    stream = _stream(awaiting_assessment)
    rows = _rows(stream)
    for seq in sorted((r[0] for r in rows if r[0] >= 3), reverse=True):
        _sql("UPDATE events SET seq = seq + 1 WHERE stream = :s AND seq = :q", s=stream, q=seq)
    _sql(
        "INSERT INTO events (stream, seq, kind, actor, at, flow_run_id, payload, prev_hash, hash) "
        "SELECT stream, 3, 'gate.decided', 'forger', at, flow_run_id, '{}', hash, hash FROM events "
        "WHERE stream = :s AND seq = 2",
        s=stream,
    )
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 3 and "第 3 个事件" in out


@pytest.mark.tampers
def test_reordered_events_are_named(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    stream = _stream(awaiting_assessment)
    _sql("UPDATE events SET seq = -1 WHERE stream = :s AND seq = 3", s=stream)
    _sql("UPDATE events SET seq = 3 WHERE stream = :s AND seq = 4", s=stream)
    _sql("UPDATE events SET seq = 4 WHERE stream = :s AND seq = -1", s=stream)
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 3 and "第 3 个事件" in out


@pytest.mark.tampers
def test_a_truncated_chain_is_caught_by_its_head(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    stream = _stream(awaiting_assessment)
    last = max(r[0] for r in _rows(stream))
    _sql("DELETE FROM events WHERE stream = :s AND seq = :q", s=stream, q=last)
    code, out = _verify(awaiting_assessment, capsys)
    assert code == 3 and "链尾" in out


def _rows(stream: str) -> list[Any]:
    with engine_for(get_settings().archive_url).connect() as connection:
        return list(connection.execute(text("SELECT seq FROM events WHERE stream = :s"), {"s": stream}))


def test_records_past_retention_are_listed_by_category(project_id: str, pass_stage: Any) -> None:
    for stage, form in (
        ("assessment", "needs-assessment"),
        ("planning", "service-plan"),
        ("execution", "activity-record"),
        ("evaluation", "outcome-evaluation"),
    ):
        pass_stage(project_id, stage, form)
    domain.close_project(project_id, NOW)
    assert records_due_for_review(NOW + timedelta(days=365 * 4)) == []
    five_years = records_due_for_review(NOW + timedelta(days=365 * 5 + 2))
    assert {r["category"] for r in five_years} == {"quality_monitoring"}  # kept 5 years by default
    assert five_years[0]["records"] >= 1  # the outcome evaluation is a quality record
    ten_years = records_due_for_review(NOW + timedelta(days=365 * 10 + 3))
    assert {r["category"] for r in ten_years} == {"quality_monitoring", "service_process"}


def test_due_for_review_cli_prints_nothing_due_for_a_running_project(
    project_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "due-for-review", "--now", "2040-01-01T00:00:00+08:00"]) == 0
    assert "没有超过保管期限的档案" in capsys.readouterr().out


@pytest.mark.tampers
def test_the_whole_archive_verify_names_a_tampered_agency_record(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Complaints, incidents, supervision, referrals and the registry have their own chains;
    `archive verify` without a project checks them all (`archive verify P` checks one project)."""
    from swflow.domain.quality import open_complaint
    from tests.unit._support import DIRECTOR

    complaint = open_complaint(
        {"channel": "phone", "content": "活动取消", "project": awaiting_assessment}, DIRECTOR, NOW
    )
    assert main(["archive", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"{awaiting_assessment}：哈希链完整" in out and "条记录链完整" in out

    _sql("UPDATE events SET actor = 'someone.else' WHERE stream = :s AND seq = 1", s=f"complaint:{complaint['id']}")
    code = main(["archive", "verify"])
    out = capsys.readouterr()
    assert code == 3
    assert f"投诉 #{complaint['id']}（complaint:{complaint['id']}）：第 1 个事件有问题" in out.out
    assert f"投诉 #{complaint['id']}" in out.err
    assert main(["archive", "verify", awaiting_assessment]) == 0  # the project's own chain is intact


@pytest.mark.tampers
def test_a_record_chain_emptied_of_events_is_caught_by_its_head(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from swflow.domain.quality import open_complaint
    from tests.unit._support import DIRECTOR

    complaint = open_complaint({"channel": "phone", "content": "活动取消", "service": "社区活动"}, DIRECTOR, NOW)
    _sql("DELETE FROM events WHERE stream = :s", s=f"complaint:{complaint['id']}")
    assert main(["archive", "verify"]) == 3
    assert "链尾" in capsys.readouterr().out


def test_verifying_an_unknown_project_is_an_error_not_an_intact_chain(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "verify", "P-NOPE"]) == 2
    assert "没有项目 P-NOPE" in capsys.readouterr().err


def test_agency_records_past_retention_are_listed_from_when_they_were_last_in_use(project_id: str) -> None:
    """People served (10 years after their last project or referral closes), incidents (5 years)."""
    from swflow.domain.quality import close_incident, report_incident
    from tests.unit._registry import person
    from tests.unit._support import MANAGER, WORKER

    in_project = person(project=project_id)
    walk_in = person(name="李桂兰", phone="13800138001")  # no project: counted from registration
    incident = report_incident(
        {
            "kind": "accident",
            "severity": "low",
            "occurred_at": "2026-03-01T10:00:00",
            "place": "活动室",
            "people_involved": "一名老人",
            "description": "离场时踏空",
            "handling": "检查无碍",
            "project": project_id,
        },
        WORKER,
        NOW,
    )
    close_incident(incident["id"], MANAGER, "已加装防滑垫", NOW)

    def listed(years: int, days: int = 3) -> set[str]:
        return {
            r["record"] for r in records_due_for_review(NOW + timedelta(days=365 * years + days)) if not r["project"]
        }

    assert listed(4) == set()
    assert listed(5) == {f"incident:{incident['id']}"}
    assert listed(10) == {f"incident:{incident['id']}", f"person:{walk_in}"}  # the project still runs

    domain.close_project(project_id, NOW + timedelta(days=365))
    assert f"person:{in_project}" not in listed(10)
    assert f"person:{in_project}" in listed(11)
    [row] = [
        r for r in records_due_for_review(NOW + timedelta(days=365 * 11 + 3)) if r["record"] == f"person:{walk_in}"
    ]
    assert (row["category"], row["name"], row["records"]) == ("service_object", f"服务对象 #{walk_in}", 1)
