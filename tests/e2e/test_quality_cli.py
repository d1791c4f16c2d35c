"""Quality management through the CLI as a user runs it (§7.3–§7.5, §8.1): separate processes,
the clock set with SWFLOW_NOW, messages delivered to a real HTTP receiver. No Prefect server:
these acts do not touch the orchestrator."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow.app.receiver import Receiver
from tests.conftest import people_file
from tests.support.swflow_proc import Home

WORKER, SUPERVISOR, DIRECTOR, MANAGER = "wang.worker", "li.supervisor", "chen.director", "zhou.pm"
MONDAY = "2026-03-02T09:00:00+08:00"


@pytest.fixture
def home(tmp_path: Path, receiver: Receiver) -> Home:
    """An initialised home whose people were imported on Monday 2 March 2026, with communities."""
    home = Home(tmp_path)
    home.cli("init")
    source = yaml.safe_load(people_file(tmp_path, receiver.url).read_text(encoding="utf-8"))
    for person in source["people"]:
        person["community"] = {"wang.worker": "幸福社区", "qian.worker": "阳光社区"}.get(person["id"])
        if person["id"] == WORKER:
            person["qualifications"][0]["valid_until"] = "2026-03-20"
    path = tmp_path / "people-with-communities.yaml"
    path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    home.cli("people", "import", str(path), SWFLOW_NOW=MONDAY)
    return home


def at(home: Home, now: str, command: str, *more: str, check: bool = True) -> Any:
    """Run `swflow COMMAND` (split like a shell does) at `now`; the parsed JSON with `--json`."""
    args = [*shlex.split(command), *more]
    result = home.cli(*args, check=check, SWFLOW_NOW=now)
    return json.loads(result.stdout) if "--json" in args and result.returncode == 0 else result


def delivered(receiver: Receiver, person: str, since: int) -> str:
    return json.dumps(receiver.for_path(f"/{person}")[since:], ensure_ascii=False)


def test_supervision_is_recorded_kept_confidential_and_escalated_when_overdue(
    home: Home, receiver: Receiver, tmp_path: Path
) -> None:
    data = tmp_path / "session.yaml"
    data.write_text(
        "supervisees: [wang.worker]\nheld_on: 2026-03-02\nmode: individual\n"
        "topics: [哀伤辅导中的自我照顾]\ndecisions: 每两周复盘一次\n"
        "actions:\n  - {owner: wang.worker, due: 2026-03-13, text: 阅读哀伤辅导指引}\n",
        encoding="utf-8",
    )
    recorded = at(home, "2026-03-02T15:00", f"supervision record --by {SUPERVISOR} --data", str(data))
    assert "已记录督导 #1" in recorded.stdout
    shown = at(home, "2026-03-03T10:00", f"supervision show 1 --as {WORKER} --json")
    assert shown["topics"] == ["哀伤辅导中的自我照顾"] and shown["history_intact"]
    refused = at(home, "2026-03-03T10:00", f"supervision show 1 --as {MANAGER}", check=False)
    assert refused.returncode == 3 and "知悉范围" in refused.stderr
    [listed] = at(home, "2026-03-03T10:00", f"supervision list --as {MANAGER} --json")
    assert listed["confidential"] and "topics" not in listed

    coverage = {r["person"]: r for r in at(home, "2026-04-02T10:00", "supervision coverage --json")}
    assert coverage[WORKER]["state"] == "overdue" and coverage["qian.worker"]["last_held_on"] is None

    before = len(receiver.for_path(f"/{DIRECTOR}"))
    report = at(home, "2026-04-09T10:00", "sweep --json")
    assert report["escalated"] == 4  # two workers' supervision, the follow-up, wang.worker's certificate
    assert at(home, "2026-04-09T10:00", "sweep --json")["escalated"] == 0
    at(home, "2026-04-09T10:00", "notifications dispatch")
    text = delivered(receiver, DIRECTOR, before)
    assert "质量管理提醒" in text and "王社工（wang.worker）应接受督导" in text
    assert "哀伤" not in text and "复盘" not in text


def test_a_complaint_runs_from_intake_to_closure_with_its_deadlines(home: Home) -> None:
    opened = at(
        home,
        MONDAY,
        f"complaint open --by {MANAGER} --channel phone --service 长者饭堂 --content 饭菜偏咸，反映多次未改",
        "--contact",
        "张建国 13912345678",
    )
    assert "已登记投诉 #1，处理人 chen.director" in opened.stdout and "2026-03-04 18:00" in opened.stdout

    at(home, "2026-03-06T10:00", "sweep")  # two working days late: the director, who handles it, hears again
    [row] = at(home, "2026-03-06T10:00", "complaint list --json")
    assert row["ack_late"] and row["status"] == "open"
    at(home, "2026-03-06T11:00", f"complaint ack 1 --by {DIRECTOR} --note 已回电")
    at(home, "2026-03-09T10:00", f"complaint answer 1 --by {DIRECTOR} --reply 已调整菜谱，减少用盐")
    at(
        home,
        "2026-03-09T10:05",
        f"complaint action 1 --by {DIRECTOR} --kind preventive --owner {WORKER} --due 2026-03-20",
        "--text",
        "每月收集一次用餐意见",
    )
    wrong = at(home, "2026-03-10T10:00", f"complaint close 1 --by {WORKER} --feedback 满意", check=False)
    assert wrong.returncode == 3
    at(home, "2026-03-10T10:00", f"complaint close 1 --by {DIRECTOR} --feedback 满意 --satisfied yes")

    shown = at(home, "2026-03-10T10:00", f"complaint show 1 --as {DIRECTOR} --json")
    assert shown["status"] == "closed" and shown["contact"] == "张建国 13912345678"
    assert [h["kind"] for h in shown["history"]] == [
        "complaint.opened",
        "deadline.escalated",
        "complaint.acknowledged",
        "complaint.answered",
        "action.added",
        "complaint.closed",
    ]
    refused = at(home, "2026-03-10T10:00", f"complaint show 1 --as {WORKER}", check=False)
    assert refused.returncode == 3 and "13912345678" not in refused.stdout + refused.stderr
    [action] = at(home, "2026-03-10T10:00", f"quality actions --as {WORKER} --json")
    assert action["text"] == "每月收集一次用餐意见"  # the owner reads their own action
    at(home, "2026-03-12T10:00", f"quality done {action['id']} --by {WORKER}")

    report = at(home, "2026-03-31T10:00", "quality report --from 2026-03-01 --to 2026-03-31 --json")
    complaints = report["complaints"]
    assert (complaints["acknowledged_late"], complaints["answered_on_time"]) == (1, 1)
    assert complaints["rows"][0]["ack_working_days"] == 4  # received Monday, acknowledged Friday
    assert report["actions"] == {"open": 0, "overdue": 0, "done": 1}


def test_a_severe_incident_reaches_supervisors_and_director_at_once_and_the_report_shows_it(
    home: Home, receiver: Receiver, tmp_path: Path
) -> None:
    before = {p: len(receiver.for_path(f"/{p}")) for p in (SUPERVISOR, DIRECTOR, MANAGER)}
    reported = at(
        home,
        "2026-03-06T21:00",  # a Friday evening: an urgent message is not held until Monday
        f"incident report --by {WORKER} --kind health --severity severe --at 2026-03-06T20:30 --place 长者饭堂",
        "--people",
        "刘桂兰，79 岁，心脏病史",
        "--description",
        "用餐时突发胸闷",
        "--handling",
        "拨打 120，陪同送医",
    )
    assert "已登记事件 #1" in reported.stdout and "已立即通知" in reported.stdout
    at(home, "2026-03-06T21:01", "notifications dispatch")
    for person in (SUPERVISOR, DIRECTOR):
        text = delivered(receiver, person, before[person])
        assert "紧急：严重事件 #1（突发疾病）" in text
        assert "刘桂兰" not in text and "胸闷" not in text and "长者饭堂" not in text
    assert delivered(receiver, MANAGER, before[MANAGER]) == "[]"

    refused = at(home, "2026-03-07T10:00", f"incident show 1 --as {MANAGER}", check=False)
    assert refused.returncode == 3
    assert at(home, "2026-03-07T10:00", f"incident show 1 --as {SUPERVISOR} --json")["people_involved"]
    at(home, "2026-03-09T10:00", f"incident close 1 --by {SUPERVISOR} --follow-up 已出院，调整饭堂应急流程")
    assert at(home, "2026-03-09T10:00", "incident list --json")[0]["status"] == "closed"

    html = tmp_path / "quality.html"
    report = at(home, "2026-03-31T10:00", "quality report --json --html", str(html))
    assert {b["severity"]: b["count"] for b in report["incidents"]["by_severity"]}["severe"] == 1
    flags = {r["community"]: r["flag"] for r in report["staffing"]["communities"]}
    assert flags["幸福社区"] is not None  # wang.worker's certificate expired on 20 March
    assert "至少配备一名" in flags["阳光社区"]  # qian.worker's expired in 2025
    page = html.read_text(encoding="utf-8")
    assert "服务质量报告" in page and "严重" in page and "刘桂兰" not in page
    assert "下次应在 2028" in at(home, "2027-03-01T10:00", f"incident review-rules --by {DIRECTOR}").stdout
