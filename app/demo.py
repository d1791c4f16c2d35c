"""`swflow demo`: the whole lifecycle of a sample elderly-care-brief project, scripted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml

from swflow.app.demo_web import DEMO_PASSWORD, WebVisitor
from swflow.app.receiver import Receiver
from swflow.app.samples import form_samples, people_yaml
from swflow.config.clock import SHANGHAI, system_clock
from swflow.config.errors import FormError, SwflowError

__all__ = ["run_demo", "free_port", "wait_until"]

MANAGER, SUPERVISOR, WORKER = "zhou.pm", "li.supervisor", "wang.worker"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], Any], timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SwflowError(f"演示超时：{timeout:.0f} 秒内未等到「{what}」")


def _prepare_home() -> Path:
    given = os.environ.get("SWFLOW_HOME")
    home = Path(given) if given else Path(tempfile.mkdtemp(prefix="swflow-demo-"))
    if (home / "archive.db").exists():
        raise FormError(f"SWFLOW_HOME={home} 已有档案；演示需要一个新的目录", [("SWFLOW_HOME", "必须是新目录")])
    os.environ["SWFLOW_HOME"] = str(home)
    os.environ.setdefault("SWFLOW_PREFECT_PORT", str(free_port()))
    os.environ.setdefault("SWFLOW_WEB_PORT", str(free_port()))
    # the demo runs at any hour: its messages go out at once instead of waiting for a working morning
    os.environ.setdefault("SWFLOW_HOLD_OUTSIDE_WORKING_HOURS", "false")
    from swflow.config.settings import ensure_api_secret, get_settings

    get_settings.cache_clear()
    ensure_api_secret(get_settings())  # the secrets serve and this process share (swflow.env)
    return home


def _open_items(project_id: str, stage_key: str) -> list[dict[str, Any]]:
    stage = _stage(project_id, stage_key)
    return [i for i in stage["work_items"] if i["round"] == stage["round"] and i["status"] == "open"]


def _deployment_ready() -> bool:
    import httpx

    from swflow.config.settings import api_headers, get_settings
    from swflow.flows.control import DEPLOYMENT

    settings = get_settings()
    try:
        response = httpx.get(
            f"{settings.api_url}/deployments/name/{DEPLOYMENT}", timeout=1, headers=api_headers(settings)
        )
        web = httpx.get(f"{settings.web_url}/login", timeout=1)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and web.status_code == 200


NAMES = {"zhou.pm": "周主管", "li.supervisor": "李督导", "wang.worker": "王社工", "chen.director": "陈主任"}


def run_demo(keep: bool = False, template_id: str = "elderly-care-brief") -> int:
    home = _prepare_home()
    started = time.monotonic()
    with Receiver() as receiver:
        from swflow import db, domain

        db.migrate()
        people = domain.PeopleFile.model_validate(yaml.safe_load(people_yaml(receiver.url))).people
        domain.import_people(people, "demo", system_clock())
        _give_passwords([p.id for p in people])
        print(f"演示目录：{home}")
        serve = subprocess.Popen(
            [sys.executable, "-m", "swflow.app.cli", "serve"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until("编排服务就绪", _deployment_ready, timeout=180)
            print(f"编排服务已就绪（{time.monotonic() - started:.1f} 秒）")
            from swflow.flows.launching import launch_project

            plan = domain.prepare_launch(
                domain.LaunchRequest(
                    template_id=template_id,
                    name="幸福社区邻里守望计划（演示）",
                    community="幸福社区",
                    manager_id=MANAGER,
                    supervisor_id=SUPERVISOR,
                    worker_ids=[WORKER],
                ),
                system_clock().astimezone(SHANGHAI).date(),
            )
            launch_project(plan)
            project_id = plan.project_id
            print(f"已启动项目 {project_id}（模板 {template_id}）")
            print(f"网页：{get_web_url()}（社工、督导在网页上填写和审核）")
            visitors: dict[str, WebVisitor] = {}
            for index, stage in enumerate(domain.project_status(project_id)["stages"]):
                _play_stage(project_id, stage, form_samples(), index == 0, visitors)
            wait_until("项目结项", lambda: domain.project_status(project_id)["status"] == "completed")
            wait_until("通知发送完毕", lambda: domain.project_status(project_id)["messages"]["pending"] == 0)
            _summary(project_id, home, receiver, time.monotonic() - started)
            if keep:
                _print_sign_ins(people)
        finally:
            if not keep:
                serve.send_signal(signal.SIGTERM)
                serve.wait(timeout=60)
    return 0


def _stage(project_id: str, key: str) -> dict[str, Any]:
    from swflow import domain

    return next(s for s in domain.project_status(project_id)["stages"] if s["key"] == key)


def _give_passwords(person_ids: list[str]) -> None:
    """What the operator and each person do: `swflow people invite`, then the person's own password."""
    from swflow.domain.agency import invite_person
    from swflow.domain.people.accounts import set_password_by_link

    for person_id in person_ids:
        url = invite_person(person_id, "invite", "demo", system_clock())
        set_password_by_link(url.rsplit("/", 1)[1], DEMO_PASSWORD, system_clock())


def get_web_url() -> str:
    from swflow.config.settings import get_settings

    return get_settings().web_url


def _visitor(visitors: dict[str, WebVisitor], person_id: str) -> WebVisitor:
    if person_id not in visitors:
        visitors[person_id] = WebVisitor(get_web_url(), person_id)
    return visitors[person_id]


def _play_stage(
    project_id: str,
    stage: dict[str, Any],
    samples: dict[str, Any],
    give_back_once: bool,
    visitors: dict[str, WebVisitor],
) -> None:
    """Through the web pages: the worker fills every open item on its form page; each gate step's
    decider approves on the gate page (the first stage is returned once, then approved after the revision)."""
    from swflow.app.web.forms import from_data
    from swflow.domain.projects.queries import pinned_forms
    from swflow.forms_spec import FormSpec

    snapshot = pinned_forms(project_id)
    revised = False
    while True:
        items = wait_until(f"阶段 {stage['key']} 开放", lambda: _open_items(project_id, stage["key"]))
        for item in items:
            key = f"{item['form']}-revised" if revised and f"{item['form']}-revised" in samples else item["form"]
            form = FormSpec.model_validate(snapshot[item["form"]])
            _visitor(visitors, item["assignee"]).submit(int(item["id"]), from_data(form, samples[key]))
            which = f"{item['form']}（{item['activity']}）" if item["activity"] else item["form"]
            who = NAMES.get(item["assignee"], item["assignee"])
            print(f"  {who} 在网页上提交 {which}（{stage['title']} 第 {item['round']} 轮）")
        while (current := _stage(project_id, stage["key"]))["status"] == "awaiting_decision":
            decider = current["waiting_on"][0]
            give_back = give_back_once and not revised
            outcome: Literal["approve", "return"] = "return" if give_back else "approve"
            comment = "请补充社区资源和骨干的情况。" if give_back else "同意"
            _visitor(visitors, decider).decide(project_id, stage["key"], outcome, comment)  # recorded when it returns
            done = "退回修改" if give_back else "审核通过"
            print(f"  {NAMES.get(decider, decider)} 在网页上{done}：{stage['title']}")
        if not (give_back_once and not revised):
            return
        revised = True
        wait_until("修改轮次开放", lambda: _stage(project_id, stage["key"])["round"] == 2)


def _print_sign_ins(people: list[Any]) -> None:
    print(f"\n服务保持运行（--keep）。网页：{get_web_url()}")
    print(f"演示人员的登录（人员编号 / 密码 {DEMO_PASSWORD}）：")
    for person in people:
        print(f"  {person.id:<16} {person.name}（{'、'.join(person.roles)}）")
    print("停止：结束 swflow serve 进程（Ctrl-C 或 kill）")


def _summary(project_id: str, home: Path, receiver: Receiver, seconds: float) -> None:
    from swflow import domain

    status = domain.project_status(project_id)
    print("\n== 演示完成 ==")
    print(f"项目 {project_id}：{status['name']}，状态 {status['status']}")
    for stage in status["stages"]:
        words = {"approve": "通过", "return": "退回", "reject": "否决"}
        decisions = "，".join(
            f"第{d['round']}轮第{d['step']}步 {NAMES.get(d['by'], d['by'])}{words[d['outcome']]}"
            for d in stage["decisions"]
        )
        print(f"  {stage['title']:<10} {stage['status']:<9} 共 {stage['round']} 轮  {decisions}")
    print(f"通知：已发送 {status['messages']['sent']} 条（本机接收端收到 {len(receiver.messages)} 条）")
    print(f"档案事件 {status['events']} 条；档案库 {home / 'archive.db'}")
    print(f"用时 {seconds:.1f} 秒")
