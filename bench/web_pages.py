"""Web pages under load: 我的待办, a form page, a gate page and a project page, with PROJECTS projects
(about 10 work items each) in the archive and USERS signed-in people at once from 127.0.0.1. The load
is bounded: every user makes ROUNDS passes over its pages, then the bench stops by itself.

Run by hand:  .venv/bin/python bench/web_pages.py [PROJECTS=1000] [USERS=50] [ROUNDS=10] [THINK_MS=1000]
A user reads each page for a random 0.5–1.5 × THINK_MS before opening the next (people do); THINK_MS=0
is a saturation run (every user clicks again the moment a page arrives) that measures throughput.
The web app runs as `swflow serve` runs it (`python -m swflow.app.web`, SWFLOW_WEB_WORKERS processes)
on a temporary SWFLOW_HOME. Two times per page: server time (the app's `Server-Timing` header, from
the request reaching the app to its answer) and what the client on the same machine waits (loopback).
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from swflow.app.local import free_port, wait_for

PASSWORD = "基准测试-长密码-2026"
FULL_TEMPLATE = "community-development"  # 6 assessment forms, 5 planning forms


def _people(workers: int, supervisors: int) -> list[dict[str, Any]]:
    cert = [{"kind": "certificate", "level": "社会工作师", "number": "SW-2019-0001"}]
    rows = [{"id": "bench.pm", "name": "主管", "roles": ["manager"], "qualifications": cert, "notify": []}]
    rows += [
        {"id": f"w{i:02d}", "name": f"社工{i}", "roles": ["worker"], "qualifications": cert, "notify": []}
        for i in range(workers)
    ]
    rows += [
        {"id": f"s{i:02d}", "name": f"督导{i}", "roles": ["supervisor"], "qualifications": cert, "notify": []}
        for i in range(supervisors)
    ]
    return rows


def build_archive(projects: int, workers: int, supervisors: int) -> dict[str, Any]:
    """Projects through the domain acts: all open their assessment (6 forms); 80 % are approved into
    planning (5 more); 10 % wait at their assessment gate — about 10 work items a project. Returns what
    each user will look at."""
    from swflow import domain
    from swflow.app.samples import form_samples
    from swflow.config.clock import system_clock
    from swflow.domain.agency import invite_person
    from swflow.domain.people.accounts import set_password_by_link

    now = system_clock()
    people = domain.PeopleFile.model_validate({"people": _people(workers, supervisors)}).people
    domain.import_people(people, "bench", now)
    samples = form_samples()
    seen: dict[str, dict[str, Any]] = {p.id: {"projects": [], "gates": []} for p in people}
    for n in range(projects):
        worker, supervisor = f"w{n % workers:02d}", f"s{n % supervisors:02d}"
        request = domain.LaunchRequest(
            template_id=FULL_TEMPLATE,
            name=f"基准项目{n}",
            community=f"社区{n % 20}",
            manager_id="bench.pm",
            supervisor_id=supervisor,
            worker_ids=[worker],
        )
        plan = domain.prepare_launch(request, now.date())
        domain.record_launch(plan, f"00000000-0000-4000-8000-{n:012d}", now)
        project = plan.project_id
        domain.open_stage(project, "assessment", now)
        seen[worker]["projects"].append(project)
        seen[supervisor]["projects"].append(project)
        if n % 10 < 8 or n % 10 == 9:  # submit the assessment
            for form in _open_forms(project, "assessment"):
                domain.submit_form(project, form, worker, samples[form], now)
        if n % 10 < 8:  # … and approve it: planning opens
            decided = domain.record_decision(project, "assessment", supervisor, "approve", "同意", now)
            gate = domain.read_gate(project, "assessment")
            domain.apply_gate_reply(project, "assessment", gate.attempt, decided.decision_id, now)
            domain.open_stage(project, "planning", now + timedelta(seconds=1))
        elif n % 10 == 9:
            seen[supervisor]["gates"].append((project, "assessment"))
    for person in people:
        url = invite_person(person.id, "invite", "bench", now)
        set_password_by_link(url.rsplit("/", 1)[1], PASSWORD, now)
    return seen


def _open_forms(project: str, stage: str) -> list[str]:
    from swflow import domain

    status = domain.project_status(project)
    current = next(s for s in status["stages"] if s["key"] == stage)
    return [i["form"] for i in current["work_items"] if i["status"] == "open" and i["round"] == current["round"]]


def _count_items() -> int:
    from sqlalchemy import func, select

    from swflow.db import read_session
    from swflow.db.tables import WorkItem

    with read_session() as session:
        return int(session.execute(select(func.count()).select_from(WorkItem)).scalar_one())


def _server_ms(answer: httpx.Response) -> float:
    timing = answer.headers.get("server-timing", "")
    found = re.search(r"dur=([0-9.]+)", timing)
    return float(found.group(1)) / 1000 if found else float("nan")


def visit(
    base: str,
    person: str,
    look: dict[str, Any],
    rounds: int,
    times: dict[str, list[float]],
    think: float = 0.0,
    server: dict[str, list[float]] | None = None,
) -> None:
    """One person: sign in, then `rounds` passes over their inbox, a form, a project and a gate page,
    reading each for a random 0.5–1.5 × `think` seconds."""
    server = {k: [] for k in times} if server is None else server
    pace = random.Random(person)
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        started = time.perf_counter()
        signed = client.post("/login", data={"person_id": person, "password": PASSWORD})
        times["sign-in"].append(time.perf_counter() - started)
        server["sign-in"].append(_server_ms(signed))
        assert signed.status_code == 303, signed.text[:200]
        inbox = client.get("/").text
        items = [int(i) for i in re.findall(r'href="/work/(\d+)"', inbox)]
        for r in range(rounds):
            pages = [("inbox", "/")]
            if items:
                pages.append(("form", f"/work/{items[r % len(items)]}"))
            if look["projects"]:
                pages.append(("project", f"/projects/{look['projects'][r % len(look['projects'])]}"))
            if look["gates"]:
                project, stage = look["gates"][r % len(look["gates"])]
                pages.append(("gate", f"/gates/{project}/{stage}"))
            for kind, path in pages:
                if think:
                    time.sleep(think * pace.uniform(0.5, 1.5))  # a person reading the page
                started = time.perf_counter()
                answer = client.get(path)
                times[kind].append(time.perf_counter() - started)
                server[kind].append(_server_ms(answer))
                assert answer.status_code == 200, (path, answer.status_code)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(projects: int, users: int, rounds: int, think_ms: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="swflow-bench-web-"))
    port = free_port()
    env = {
        "SWFLOW_HOME": str(home),
        "SWFLOW_WEB_PORT": str(port),
        "SWFLOW_WEB_SECRET": "bench-secret-" + "w" * 32,
        "SWFLOW_HOLD_OUTSIDE_WORKING_HOURS": "false",
    }
    os.environ.update(env)
    from swflow import db

    db.migrate()
    supervisors = max(1, users // 5)
    t0 = time.monotonic()
    seen = build_archive(projects, users - supervisors, supervisors)
    print(f"archive: {projects} projects, {_count_items()} work items, built in {time.monotonic() - t0:.0f} s")
    web = subprocess.Popen([sys.executable, "-m", "swflow.app.web"], env={**os.environ, **env})
    try:
        wait_for("the web app", lambda: _up(f"http://127.0.0.1:{port}"), timeout=60)
        times: dict[str, list[float]] = {k: [] for k in ("sign-in", "inbox", "form", "project", "gate")}
        server: dict[str, list[float]] = {k: [] for k in times}
        people = [p for p in seen if p != "bench.pm"][:users]
        base = f"http://127.0.0.1:{port}"
        threads = [
            threading.Thread(target=visit, args=(base, p, seen[p], rounds, times, think_ms / 1000, server))
            for p in people
        ]
        t1 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t1
    finally:
        web.terminate()
        web.wait(timeout=30)
    served = sum(len(v) for v in times.values())
    workers = os.environ.get("SWFLOW_WEB_WORKERS", "2")
    print(f"{len(people)} users at once, {rounds} passes each, think {think_ms} ms, {workers} web processes")
    print(f"{served} requests in {wall:.1f} s = {served / wall:.1f} requests/s")
    heads = ("server p50", "server p95", "client p50", "client p95")
    print(f"{'page':<8} {'requests':>8} " + " ".join(f"{h:>10}" for h in heads) + " (ms)")
    for kind, values in times.items():
        if values:
            line = f"{kind:<8} {len(values):>8} {_ms(server[kind], 0.5):>10.1f} {_ms(server[kind], 0.95):>10.1f}"
            print(f"{line} {_ms(values, 0.5):>10.1f} {_ms(values, 0.95):>10.1f}")
    if times["sign-in"]:
        print(f"sign-in (argon2id verify + session) median {1000 * statistics.median(times['sign-in']):.0f} ms")
    print(f"reproduce: .venv/bin/python bench/web_pages.py {projects} {users} {rounds} {think_ms}")


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [1000, 50, 10, 1000][len(args) :]))
