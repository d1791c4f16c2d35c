"""`swflow demo`: the whole lifecycle of a sample elderly-care project, scripted."""

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
from typing import Any

import yaml

from config.clock import system_clock
from config.errors import FormError, SwflowError

from .receiver import Receiver
from .samples import form_samples

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


def _sample(name: str) -> Any:
    return yaml.safe_load((Path(__file__).parent / "samples" / name).read_text(encoding="utf-8"))


def _prepare_home() -> Path:
    given = os.environ.get("SWFLOW_HOME")
    home = Path(given) if given else Path(tempfile.mkdtemp(prefix="swflow-demo-"))
    if (home / "archive.db").exists():
        raise FormError(f"SWFLOW_HOME={home} 已有档案；演示需要一个新的目录", [("SWFLOW_HOME", "必须是新目录")])
    os.environ["SWFLOW_HOME"] = str(home)
    os.environ.setdefault("SWFLOW_PREFECT_PORT", str(free_port()))
    from config.settings import get_settings

    get_settings.cache_clear()
    return home


def _open_items(project_id: str, stage_key: str) -> list[dict[str, Any]]:
    import archive

    stage = next(s for s in archive.project_status(project_id)["stages"] if s["key"] == stage_key)
    return [i for i in stage["work_items"] if i["round"] == stage["round"] and i["status"] == "open"]


def _deployment_ready() -> bool:
    import httpx

    from config.settings import get_settings
    from flows.control import DEPLOYMENT

    try:
        response = httpx.get(f"{get_settings().api_url}/deployments/name/{DEPLOYMENT}", timeout=1)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def run_demo(keep: bool = False) -> int:
    home = _prepare_home()
    started = time.monotonic()
    with Receiver() as receiver:
        import archive

        archive.migrate()
        people = yaml.safe_load(
            yaml.safe_dump(_sample("people.yaml"), allow_unicode=True).replace("{receiver}", receiver.url)
        )
        archive.import_people(archive.PeopleFile.model_validate(people).people, "demo", system_clock())
        print(f"演示目录：{home}")
        serve = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until("编排服务就绪", _deployment_ready, timeout=180)
            print(f"编排服务已就绪（{time.monotonic() - started:.1f} 秒）")
            from flows.control import start_project_run

            plan = archive.prepare_launch(
                archive.LaunchRequest(
                    template_id="elderly-care",
                    name="幸福社区独居老人邻里守望计划",
                    community="幸福社区",
                    manager_id=MANAGER,
                    supervisor_id=SUPERVISOR,
                    worker_ids=[WORKER],
                ),
                system_clock().date(),
            )
            archive.record_launch(plan, start_project_run(plan.project_id), system_clock())
            project_id = plan.project_id
            print(f"已启动项目 {project_id}")
            samples = form_samples()
            stages = archive.project_status(project_id)["stages"]
            for index, stage in enumerate(stages):
                stage["seq_index"] = index
            _play_stages(project_id, stages, samples)
            wait_until("项目结项", lambda: archive.project_status(project_id)["status"] == "completed")
            wait_until(
                "通知发送完毕",
                lambda: archive.project_status(project_id)["messages"]["pending"] == 0,
            )
            _summary(project_id, home, receiver, time.monotonic() - started)
        finally:
            if not keep:
                serve.send_signal(signal.SIGTERM)
                serve.wait(timeout=60)
    return 0


def _play_stages(project_id: str, stages: list[dict[str, Any]], samples: dict[str, Any]) -> None:
    import archive
    from flows.control import resume_gate

    for stage in stages:
        revised = False
        while True:
            items = wait_until(f"阶段 {stage['key']} 开放", lambda s=stage: _open_items(project_id, s["key"]))
            for item in items:
                key = f"{item['form']}-revised" if revised and f"{item['form']}-revised" in samples else item["form"]
                archive.submit_form(project_id, item["form"], WORKER, samples[key], system_clock())
                print(f"  王社工 提交 {item['form']}（{stage['title']} 第 {item['round']} 轮）")
            give_back = stage["seq_index"] == 0 and not revised
            outcome = "return" if give_back else "approve"
            comment = "请补充独居、空巢老人的具体人数和社区资源。" if give_back else "同意"
            decided = archive.record_decision(project_id, stage["key"], SUPERVISOR, outcome, comment, system_clock())
            resume_gate(str(decided.flow_run_id), decided.decision_id)
            print(f"  李督导 {'退回修改' if give_back else '审核通过'}：{stage['title']}")
            if not give_back:
                break
            revised = True


def _summary(project_id: str, home: Path, receiver: Receiver, seconds: float) -> None:
    import archive

    status = archive.project_status(project_id)
    print("\n== 演示完成 ==")
    print(f"项目 {project_id}：{status['name']}，状态 {status['status']}")
    for stage in status["stages"]:
        decisions = "，".join(f"第{d['round']}轮{d['outcome']}" for d in stage["decisions"])
        print(f"  {stage['title']:<10} {stage['status']:<9} 共 {stage['round']} 轮  {decisions}")
    print(f"通知：已发送 {status['messages']['sent']} 条（本机接收端收到 {len(receiver.messages)} 条）")
    print(f"档案事件 {status['events']} 条；档案库 {home / 'archive.db'}")
    print(f"用时 {seconds:.1f} 秒")
