"""The community registry through the CLI, each command its own process, the clock set by SWFLOW_NOW.

Registry acts need no orchestration server. Only launching the project and passing its first two
gates do, so those are done here through the archive acts (as the flow would); the activity
records are then submitted with `swflow submit`, and everything else is `swflow registry|referral`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow.app.samples import SAMPLES, form_samples
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings
from swflow.forms_spec import MASK
from tests.support.swflow_proc import Home

WORKER, SUPERVISOR, MANAGER, DIRECTOR, OUTSIDER = (
    "wang.worker",
    "li.supervisor",
    "zhou.pm",
    "chen.director",
    "qian.worker",
)
MONDAY = "2026-03-02T09:00:00"  # Beijing time: the first follow-up falls due on Monday 9 March, 18:00
LATE = "2026-03-11T09:00:00"  # two working days late


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    home = Home(tmp_path)
    home.env["SWFLOW_NOW"] = MONDAY
    home.cli("init")
    people = tmp_path / "people.yaml"
    people.write_text((SAMPLES / "people.yaml").read_text(encoding="utf-8").replace("{receiver}", "json://127.0.0.1:9"))
    home.cli("people", "import", str(people))
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def _project_in_execution() -> str:
    """What `swflow serve` would have done: launch a §5.2 project and pass assessment and planning."""
    from swflow import domain

    now = datetime.fromisoformat(MONDAY).replace(tzinfo=SHANGHAI)
    samples = form_samples()
    request = domain.LaunchRequest(
        template_id="community-participation",
        name="幸福社区邻里守望志愿服务",
        community="幸福社区",
        manager_id=MANAGER,
        supervisor_id=SUPERVISOR,
        worker_ids=[WORKER],
    )
    plan = domain.prepare_launch(request, now.date())
    domain.record_launch(plan, "00000000-0000-4000-8000-0000000000e2", now)
    for stage in ("assessment", "planning"):
        domain.open_stage(plan.project_id, stage, now)
        spec = next(s for s in plan.template_snapshot["stages"] if s["key"] == stage)
        for form in spec["forms"]:
            domain.submit_form(plan.project_id, form, WORKER, samples[form], now)
        decided = domain.record_decision(plan.project_id, stage, SUPERVISOR, "approve", "", now)
        gate = domain.read_gate(plan.project_id, stage)
        domain.apply_gate_reply(plan.project_id, stage, gate.attempt, decided.decision_id, now)
    domain.open_stage(plan.project_id, "execution", now)
    return plan.project_id


def _record(home: Home, tmp_path: Path, project: str, activity: str, **changes: Any) -> None:
    data = {**form_samples()["service-activity-record"], **changes}
    path = tmp_path / f"{activity}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    home.cli("submit", project, "service-activity-record", "--by", WORKER, "--data", str(path), "--activity", activity)


def _json(home: Home, *args: str, **env: str) -> Any:
    return json.loads(home.cli(*args, "--json", **env).stdout)


def test_registry_and_referrals_run_end_to_end_through_the_cli(home: Home, tmp_path: Path) -> None:
    project = _project_in_execution()
    identity = ["--name", "王秀英", "--gender", "female", "--birth-year", "1944", "--phone", "138-0013-8000"]

    # registration; the same person registered again is caught and offered as a merge
    added = _json(
        home,
        "registry",
        "person",
        "add",
        "--by",
        WORKER,
        *identity,
        "--address",
        "幸福路 1 号",
        "--tag",
        "living_alone",
        "--project",
        project,
        "--consent",
        "registration",
    )
    person = str(added["id"])
    again = home.cli(
        "registry",
        "person",
        "add",
        "--by",
        OUTSIDER,
        "--name",
        "王 秀英",
        "--gender",
        "female",
        "--birth-year",
        "1944",
        "--phone",
        "+86 13800138000",
        check=False,
    )
    # someone outside the person's circle learns neither the id nor how to merge into it
    assert again.returncode == 3 and "知悉范围" in again.stderr and f"#{person}" not in again.stderr
    offered = home.cli("registry", "person", "add", "--by", WORKER, *identity, check=False)
    assert offered.returncode == 3 and f"--merge-into {person}" in offered.stderr  # the registrar is offered it
    merged = _json(
        home, "registry", "person", "add", "--by", WORKER, *identity, "--tag", "disability", "--merge-into", person
    )
    assert merged["id"] == added["id"] and merged["fields_added"] == ["tags"]
    bad = home.cli(
        "registry",
        "person",
        "add",
        "--by",
        WORKER,
        "--name",
        "李桂兰",
        "--gender",
        "woman",
        "--birth-year",
        "1950",
        check=False,
    )
    assert bad.returncode == 2 and "性别（gender）" in bad.stderr

    # a referral needs the person's consent first
    refer = [
        "referral",
        "open",
        person,
        "--by",
        WORKER,
        "--service",
        "居家养老上门服务",
        "--agency",
        "颐养服务中心",
        "--reason",
        "独居，近期跌倒两次",
        "--project",
        project,
    ]
    refused = home.cli(*refer, check=False)
    assert refused.returncode == 3 and "同意" in refused.stderr
    home.cli("registry", "person", "consent", person, "--purpose", "referral", "--by", WORKER)
    referral = _json(home, *refer)
    assert referral["follow_up_due_at"].startswith("2026-03-09T10:00")  # 18:00 in Beijing

    # activity records name the people served and the volunteers present; hours go on the certificate
    volunteer = str(
        _json(
            home,
            "registry",
            "volunteer",
            "add",
            "--by",
            WORKER,
            "--name",
            "刘志愿",
            "--gender",
            "male",
            "--birth-year",
            "1990",
            "--phone",
            "13900000001",
        )["id"]
    )
    _record(
        home,
        tmp_path,
        project,
        "a1",
        served=[{"person": int(person)}],
        volunteer_hours=[{"volunteer": int(volunteer), "hours": 2.5}],
    )
    _record(
        home,
        tmp_path,
        project,
        "a2",
        activity_date="2025-04-10",
        title="结对探访",
        served=[],
        volunteer_hours=[{"volunteer": int(volunteer), "hours": 1.5}],
    )
    hours = _json(home, "registry", "volunteer", "hours", volunteer, "--by", WORKER)
    assert hours["total_hours"] == 4 and [a["activity"] for a in hours["activities"]] == ["a1", "a2"]
    certificate = tmp_path / "certificate.html"
    issued = _json(home, "registry", "volunteer", "certificate", volunteer, "--by", MANAGER, "--out", str(certificate))
    html = certificate.read_text(encoding="utf-8")
    assert issued["hours"] == 4 and "刘志愿" in html and '<span class="total">4 小时</span>' in html

    # masking for an outsider, not for the team
    outside = _json(home, "registry", "person", "show", person, "--by", OUTSIDER)
    assert outside["masked"] and outside["data"]["name"] == MASK and outside["data"]["phone"] == MASK
    assert "王秀英" not in home.cli("registry", "person", "show", person, "--by", OUTSIDER).stdout
    inside = _json(home, "registry", "person", "show", person, "--by", SUPERVISOR)
    assert inside["data"]["name"] == "王秀英" and [a["activity"] for a in inside["activities"]] == ["a1"]
    listed = _json(home, "referral", "list", "--by", OUTSIDER)
    assert listed[0]["data"]["reason"] == MASK

    # the follow-up is late: the sweep escalates it once, through SWFLOW_NOW
    swept = _json(home, "sweep", SWFLOW_NOW=LATE)
    assert swept["escalated"] >= 1
    assert _json(home, "sweep", SWFLOW_NOW=LATE)["escalated"] == 0
    queued = [m for m in _json(home, "notifications", "list") if m["template"] == "referral_due"]
    assert sorted(m["recipient"] for m in queued) == [SUPERVISOR, WORKER]
    late = _json(home, "referral", "list", "--by", WORKER, "--status", "open", SWFLOW_NOW=LATE)
    assert late[0]["late"] is True
    home.cli(
        "referral",
        "update",
        referral_id := str(referral["id"]),
        "--by",
        WORKER,
        "--status",
        "accepted",
        "--note",
        "机构已接收",
        SWFLOW_NOW=LATE,
    )
    assert _json(home, "referral", "list", "--by", WORKER, SWFLOW_NOW=LATE)[0]["late"] is False

    # the person's data on request, then deletion: pseudonymised, every hash chain still valid
    export = tmp_path / "export.json"
    home.cli("registry", "person", "export", person, "--by", WORKER, "--out", str(export))
    exported = json.loads(export.read_text(encoding="utf-8"))
    assert exported["data"]["address"] == "幸福路 1 号" and exported["chain_intact"] is True
    home.cli("referral", "close", referral_id, "--by", WORKER, "--outcome", "withdrawn", "--note", "本人要求删除信息")
    forgotten = home.cli("registry", "person", "forget", person, "--by", WORKER)
    assert "假名化" in forgotten.stdout and "哈希链保持完整" in forgotten.stdout
    assert _json(home, "registry", "person", "show", person, "--by", DIRECTOR)["data"]["name"] == "（已匿名化）"
    assert all(row["intact"] for row in _json(home, "registry", "verify"))
    assert "哈希链完整" in home.cli("archive", "verify", project).stdout
    assert "王秀英" not in json.dumps(_json(home, "archive", "events", project), ensure_ascii=False)


def test_organisations_and_resource_links_through_the_cli(home: Home) -> None:
    project = _project_in_execution()
    org = _json(
        home,
        "registry",
        "org",
        "add",
        "--by",
        WORKER,
        "--name",
        "幸福物业服务有限公司",
        "--kind",
        "property_company",
        "--contact-name",
        "赵经理",
        "--contact-phone",
        "010-12345678",
        "--offers",
        "会所二楼活动场地",
    )["id"]
    link = _json(
        home,
        "registry",
        "org",
        "link",
        "--by",
        WORKER,
        "--project",
        project,
        "--org",
        str(org),
        "--need",
        "老人集中活动缺少场地",
        "--resource",
        "会所二楼每周二下午",
        "--method",
        "resource_integration",
    )["id"]
    home.cli("registry", "org", "result", str(link), "--by", WORKER, "--outcome", "achieved", "--result", "已每周使用")
    assert _json(home, "registry", "org", "list")[0]["links"] == 1
    assert _json(home, "registry", "org", "links", "--project", project)[0]["outcome"] == "achieved"
