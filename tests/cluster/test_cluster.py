"""Past one machine (issue 18): the cluster of the README's "Past one machine", on this machine — a
Prefect API on PostgreSQL with its services apart (events through Redis), two workers in one pool,
two dispatchers, two reconcilers, the web app, the archive on PostgreSQL — started with exactly the
README's role commands. Twenty projects go through all four gates: forms submitted with the CLI, each
gate approved with the one-tap link the supervisor was sent (the web door). On the way one worker
machine dies (`kill -9` of its process group) while its runs are opening stages, one dispatcher dies
while a receiver holds its request, and resumes land on both workers. Then, from the archive and from
the HTTP receiver: every project completed, no decision lost, no stage round opened twice, every
message delivered, a repeat only for the message whose dispatcher died mid-send, `archive verify`
intact, and each crashed run's recovery recorded as an event."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from swflow.app.local import form_data, wait_for
from swflow.app.local_cluster import ROLE_COMMANDS, LocalCluster, backing_services_problem

pytestmark = [pytest.mark.cluster, pytest.mark.prefect]

ROOT = Path(__file__).resolve().parents[2]
WORKER, SUPERVISOR, MANAGER, DIRECTOR = "wang.worker", "li.supervisor", "zhou.pm", "chen.director"
PROJECTS = 20
STAGE_FORMS = {
    "assessment": ["needs-assessment"],
    "planning": ["service-plan"],
    "execution": ["activity-record", "process-evaluation"],
    "evaluation": ["outcome-evaluation"],
}


class HoldingReceiver:
    """A real HTTP receiver on 127.0.0.1 keeping (path, headers, body) of every POST. The first request
    to a path in `hold` is kept open (no answer) until `release`, as a stalled webhook would; the rest
    pass (holding a second would make it a send slower than the lease, which another dispatcher would
    rightly send again)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message's arrival
        self.hold: set[str] = set()
        self.held: dict[str, str] | None = None  # the headers of the held request
        self.arrived, self.release = threading.Event(), threading.Event()
        lock, receiver = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                headers = dict(self.headers.items())
                with lock:
                    receiver.messages.append((self.path, headers, body))
                    receiver.arrivals.append(time.monotonic())
                    first = self.path in receiver.hold and receiver.held is None
                    if first:
                        receiver.held = headers
                if first:
                    receiver.arrived.set()
                    receiver.release.wait(timeout=120)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:  # the sender was killed while we held its request
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_readme_gives_every_role_command_the_cluster_tier_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Past one machine", 1)[1].split("\n## ", 1)[0]
    missing = [command for command in ROLE_COMMANDS.values() if command not in section]
    assert missing == []


class DispatcherKiller(threading.Thread):
    """When the receiver holds a send, kill -9 the dispatcher machine making it (the outbox row names
    host:pid:… of its claim), let the held request go, and start that machine again."""

    def __init__(self, cluster: LocalCluster, receiver: HoldingReceiver) -> None:
        super().__init__(daemon=True)
        self.cluster, self.receiver = cluster, receiver
        self.victim: tuple[str, int] | None = None  # machine, pid

    def run(self) -> None:
        if not self.receiver.arrived.wait(timeout=600):
            return
        machine, pid = _held_dispatcher(self.cluster, self.receiver)
        self.cluster.kill_machine(machine)
        self.victim = machine, pid
        self.receiver.release.set()
        self.cluster.start("dispatcher", machine)


@pytest.fixture
def cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalCluster, HoldingReceiver, DispatcherKiller]]:
    problem = backing_services_problem()
    if problem is not None:
        pytest.skip(f"{problem}；集群测试跳过")
    receiver = HoldingReceiver()
    # the directors' first message — the day's checkpoint digest, queued as the checkpoint keeper
    # starts — is held: its dispatcher dies mid-send
    receiver.hold = {f"/{DIRECTOR}"}
    running = LocalCluster(tmp_path, receiver.url)
    _archive(running, monkeypatch)
    killer = DispatcherKiller(running, receiver)
    killer.start()
    try:
        running.up()
        yield running, receiver, killer
    finally:
        from swflow.db.engine import engine_for

        for writer in (True, False):  # this process's reads, before the database goes
            engine_for(running.archive_url, writer=writer).dispose()
        receiver.release.set()
        running.down()
        receiver.server.shutdown()
        receiver.server.server_close()
        from swflow.config.settings import get_settings

        get_settings.cache_clear()  # the next test's settings are its own


def _archive(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process reads the cluster's archive (as the test's eyes, never its hands), until the end
    of the test (monkeypatch puts the environment back)."""
    from swflow.config.settings import get_settings

    monkeypatch.setenv("SWFLOW_DATABASE_URL", cluster.archive_url)
    get_settings.cache_clear()


def _rows(sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    from swflow.db import read_session

    with read_session() as session:
        return list(session.execute(text(sql), params))


def _open_forms(project: str) -> list[tuple[str, str]]:
    return [
        (stage, form)
        for stage, form in _rows(
            "SELECT s.key, w.form_id FROM work_items w JOIN stages s ON s.id = w.stage_id "
            "WHERE s.project_id = :p AND w.status = 'open' AND w.round = s.round AND s.status = 'open'",
            p=project,
        )
    ]


def _decide_link(project: str, stage: str, round_: int) -> str | None:
    rows = _rows(
        "SELECT context FROM outbox WHERE project_id = :p AND template = 'approval_requested' "
        "AND recipient_id = :s ORDER BY id",
        p=project,
        s=SUPERVISOR,
    )
    for (context,) in rows:
        if context.get("stage_key") == stage and context.get("round") == round_:
            return str(context["decide_link"])
    links = [str(c["decide_link"]) for (c,) in rows]
    return links[-1] if links and stage_awaiting(project) == stage else None


def stage_awaiting(project: str) -> str | None:
    rows = _rows("SELECT key FROM stages WHERE project_id = :p AND status = 'awaiting_decision'", p=project)
    return str(rows[0][0]) if rows else None


def _approve(web: str, link: str) -> bool:
    token = link.rsplit("/", 1)[1]
    with httpx.Client(base_url=web, timeout=30) as client:
        page = client.get(f"/l/{token}")
        if page.status_code != 200 or 'name="page" value="' not in page.text:
            return False
        marker = page.text.split('name="page" value="', 1)[1].split('"', 1)[0]
        done = client.post(f"/l/{token}", data={"page": marker, "outcome": "approve", "comment": "同意"})
        return done.status_code == 200


class Driver:
    """Moves each project on by what it waits for: the worker's forms (CLI), the supervisor's tap."""

    def __init__(self, cluster: LocalCluster, data: dict[str, Path]) -> None:
        self.cluster, self.data = cluster, data
        self.acted: set[tuple[str, str, int, str]] = set()
        self.lock = threading.Lock()

    def step(self, project: str) -> str:
        status = _rows("SELECT status FROM projects WHERE id = :p", p=project)[0][0]
        if status != "running":
            return str(status)
        for stage, form in _open_forms(project):
            if self._first(project, stage, form):
                self.cluster.cli("submit", project, form, "--by", WORKER, "--data", str(self.data[form]))
        awaiting = stage_awaiting(project)
        if awaiting is not None:
            round_ = _rows("SELECT round FROM stages WHERE project_id = :p AND key = :k", p=project, k=awaiting)[0][0]
            link = _decide_link(project, awaiting, round_)
            if link is not None and self._first(project, awaiting, "approve", round_):
                if not _approve(self.cluster.web, link):
                    self.acted.discard((project, awaiting, round_, "approve"))  # tried again next pass
        return "running"

    def _first(self, project: str, stage: str, what: str, round_: int = 0) -> bool:
        with self.lock:
            key = (project, stage, round_, what)
            if key in self.acted:
                return False
            self.acted.add(key)
            return True


def _running_on(cluster: LocalCluster, machine: str) -> list[str]:
    """Flow runs executing on the machine, inside their stage work: each says its process in the
    machine's home (`runs/<run id>.pid`, flows/alive.py) once it has read its plan."""
    mine = set(cluster.processes(machine))
    runs = []
    for path in (cluster.root / machine / "runs").glob("*.pid"):
        try:
            if int(path.read_text()) in mine:
                runs.append(path.stem)
        except (OSError, ValueError):
            continue
    return runs


def _held_dispatcher(cluster: LocalCluster, receiver: HoldingReceiver) -> tuple[str, int]:
    """The dispatcher machine (and pid) whose send the receiver holds, by the outbox row's claim."""
    assert receiver.held is not None
    row = int(receiver.held["X-Swflow-Message-Id"].split("-")[1])  # swflow-<outbox id>-<hash>
    [(claimed_by,)] = _rows("SELECT claimed_by FROM outbox WHERE id = :id", id=row)
    pid = int(claimed_by.split(":")[1])
    return cluster.history[pid], pid


def _kill_a_worker_mid_stage(cluster: LocalCluster, machine: str) -> list[str]:
    """kill -9 of the machine while runs are in their stage work there; returns those runs."""
    while True:
        wait_for(f"a run on {machine}", lambda: _running_on(cluster, machine), timeout=180, every=0.05)
        frozen = cluster.freeze(machine)
        doomed = _running_on(cluster, machine)  # frozen: exactly what the kill ends
        if doomed:
            cluster.kill_machine(machine)
            return doomed
        cluster.thaw(frozen)  # it reached its gate meanwhile: wait for the next one


def test_twenty_projects_through_every_gate_on_a_cluster_that_loses_a_worker_and_a_dispatcher(
    cluster: tuple[LocalCluster, HoldingReceiver, DispatcherKiller], tmp_path: Path
) -> None:
    running, receiver, killer = cluster
    data = {form: form_data(tmp_path, form) for forms in STAGE_FORMS.values() for form in forms}
    driver = Driver(running, data)
    watcher = SegmentWatcher(running, ["worker-1", "worker-2"])
    watcher.start()

    def launch(n: int) -> str:
        out = running.cli("launch", "elderly-care-brief", "--name", f"集群项目 {n}", "--community", "幸福社区",
                          "--manager", MANAGER, "--supervisor", SUPERVISOR, "--worker", WORKER)  # fmt: skip
        return out.stdout.strip()

    with ThreadPoolExecutor(max_workers=3) as pool:
        launched = pool.map(launch, range(PROJECTS))
        # worker-1 dies while runs are opening stages there (the launches' first segments)
        doomed = _kill_a_worker_mid_stage(running, "worker-1")
        projects = list(launched)
        running.start("worker", "worker-1")  # the machine comes back

        def all_done() -> bool:
            return all(s != "running" for s in pool.map(driver.step, projects))

        wait_for("every project through its gates", all_done, timeout=900, every=1.0)
    print(_cpu_by_machine(running))  # the tier's cost, by role (shown with -s, or when it fails)
    print("segments by worker:", Counter(m for machines in watcher.seen.values() for m in machines))

    statuses = dict(_rows("SELECT id, status FROM projects"))
    assert {statuses[p] for p in projects} == {"completed"}
    # no decision lost: each stage approved once, by a decision recorded through the web door
    decisions = _rows("SELECT project_id, outcome FROM gate_decisions")
    assert Counter(p for p, o in decisions if o == "approve") == Counter({p: 4 for p in projects})
    doors = {e[0]["door"] for e in _rows("SELECT via FROM events WHERE kind = 'gate.decided'")}
    assert doors == {"link"}
    # no stage round opened twice, though worker-1 died opening some
    opened = Counter(
        (stream, payload["stage"], payload["round"])
        for stream, payload in _rows("SELECT stream, payload FROM events WHERE kind = 'stage.opened'")
    )
    assert len(opened) == PROJECTS * 4 and set(opened.values()) == {1}
    # the runs worker-1 was executing were recovered from the archive, each recovery an event
    recoveries = Counter(
        p["old_flow_run_id"] for (p,) in _rows("SELECT payload FROM events WHERE kind = 'run.recovered'")
    )
    assert {run: recoveries[run] for run in doomed} == {run: 1 for run in doomed}, running.log_tail("reconciler-1")
    # both workers carried segments, and some run was suspended on one and resumed on the other
    watcher.stop.set()
    assert {m for machines in watcher.seen.values() for m in machines} == {"worker-1", "worker-2"}, watcher.seen
    assert any(len(machines) > 1 for machines in watcher.seen.values()), watcher.seen

    # every message delivered; a repeat only for the one whose dispatcher died mid-send
    # (a reminder whose work was done before it went out is superseded, never sent)
    from swflow.domain.outbox.records import message_id

    rows = _rows("SELECT id, key, status, project_id FROM outbox")
    assert {status for _, _, status, _ in rows} <= {"sent", "superseded"}
    sent = {message_id(id_, key) for id_, key, status, _ in rows if status == "sent"}
    assert len(sent) > PROJECTS * 8
    # each project's message is a `message.sent` event of its stream (the agency's own, such as the
    # directors' checkpoint digest, are rows of the outbox only)
    of_projects = {message_id(id_, key) for id_, key, status, project in rows if status == "sent" and project}
    assert of_projects == {m for (m,) in _rows("SELECT payload->>'message_id' FROM events WHERE kind = 'message.sent'")}
    delivered = Counter(headers["X-Swflow-Message-Id"] for _, headers, _ in receiver.messages)
    assert sent == set(delivered)
    # the held message: delivered once by the dispatcher that died, again by another after the lease
    assert receiver.held is not None and killer.victim is not None
    held = receiver.held["X-Swflow-Message-Id"]
    assert {mid: n for mid, n in delivered.items() if n > 1} == {held: 2}
    arrivals = zip(receiver.messages, receiver.arrivals, strict=True)
    first, again = (t for (_, h, _), t in arrivals if h["X-Swflow-Message-Id"] == held)
    assert again - first >= float(running.pace["SWFLOW_OUTBOX_LEASE_SECONDS"]) - 1
    [(claimed_by,)] = _rows("SELECT claimed_by FROM outbox WHERE id = :id", id=int(held.split("-")[1]))
    assert int(claimed_by.split(":")[1]) != killer.victim[1]

    running.cli("archive", "verify")  # exits non-zero (and the helper raises) on any break


def _cpu_by_machine(cluster: LocalCluster) -> str:
    """CPU seconds each machine has used so far (its processes, and the children they reaped), and
    this test process's own and its CLI children's."""
    import resource

    tick = os.sysconf("SC_CLK_TCK")
    spent = {}
    for machine in cluster.machines:
        total = 0
        for pid in cluster.processes(machine):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(f) for f in fields[11:15])
        spent[machine] = total / tick
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    spent["test process"] = me.ru_utime + me.ru_stime
    spent["CLI acts (children)"] = kids.ru_utime + kids.ru_stime
    return "CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))


class SegmentWatcher(threading.Thread):
    """Which worker machine executes each run's segments: a run in its stage work says its process in
    the machine's home (`runs/<run id>.pid`, flows/alive.py); looked at every 50 ms."""

    def __init__(self, cluster: LocalCluster, machines: list[str]) -> None:
        super().__init__(daemon=True)
        self.cluster, self.machines = cluster, machines
        self.seen: dict[str, set[str]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            for machine in self.machines:
                for path in (self.cluster.root / machine / "runs").glob("*.pid"):
                    self.seen.setdefault(path.stem, set()).add(machine)
