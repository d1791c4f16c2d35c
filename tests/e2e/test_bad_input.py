"""Every command answers bad input in a sentence: a seeded generator runs every `swflow` subcommand
(walked from `app.cli.build_parser()`) with wrong types, huge and odd strings, NaN, bad files,
symlinks and directories, in-process against an initialised SWFLOW_HOME with sample people and a
project, and no orchestration server. No input may end in a traceback or "内部错误", or be answered
in English; an input that fails (any exit but 0) writes no row anywhere in the archive; and exit 1
(the machine's trouble, not the input's) is allowed only for the orchestration server this sandbox
does not run — a bad path is exit 2."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow.app.cli.main import build_parser, main
from swflow.app.samples import SAMPLES, form_samples
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings

SEED = 20261201
INPUTS = int(os.environ.get("SWFLOW_TEST_BAD_INPUTS", "9000"))  # ~100 per command; more by hand
SKIPPED = {("serve",), ("demo",)}  # they start the orchestration server and its runner: not in-process work
# the cluster's duties run until stopped (the worker even becomes Prefect's worker process): their bad
# input is tested in tests/unit/test_cluster_roles.py, their work in tests/cluster
SKIPPED |= {("worker",), ("dispatch",), ("web",)}
LOOPING_FLAGS = {"--watch"}  # `swflow reconcile --watch` is the reconciler machine's loop
NOW = "2026-03-02T09:00:00"
LIMITS = {"SWFLOW_MAX_INPUT_BYTES": "300000", "SWFLOW_MAX_LONGTEXT_CHARS": "20000", "SWFLOW_MAX_TEXT_CHARS": "500"}


@dataclass
class Stage:
    home: Path
    files: dict[str, list[str]]
    ids: dict[str, list[str]]


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def _bad_files(root: Path, project: dict[str, Any]) -> dict[str, list[str]]:
    """Files a person could hand a command by mistake, or on purpose."""
    d = root / "inputs"
    d.mkdir()
    samples = form_samples()

    def put(name: str, text: str | bytes) -> str:
        path = d / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return str(path)

    assessment = samples["needs-assessment"]
    deep = "[" * 5000 + "]" * 5000
    files = [
        put("malformed.yaml", "a: [1, 2\nb: : :\n"),
        put("truncated.json", json.dumps(assessment)[:40]),
        put("deep.json", deep),
        put("deep.yaml", "a:\n" + "".join(" " * i + "a:\n" for i in range(1, 120))),
        put("deep-flow.yaml", "x: " + "{a: " * 200 + "1" + "}" * 200),
        put("nan.json", '{"target_count": NaN, "x": Infinity}'),
        put("nan.yaml", "target_count: .nan\nscore: .inf\n"),
        put("huge-text.yaml", yaml.safe_dump({**assessment, "summary": "长" * 25_000}, allow_unicode=True)),
        put("too-big.yaml", "a: " + "x" * 400_000),
        put("binary.yaml", bytes(range(256)) * 4),
        put("empty.yaml", ""),
        put("list.json", "[1, 2, 3]"),
        put("scalar.yaml", "just words"),
        put("nul.json", '{"summary": "a\\u0000b"}'),
        put(
            "aliases.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
        ),
        put("sample.yaml", yaml.safe_dump(assessment, allow_unicode=True)),
        put("nan-number.yaml", yaml.safe_dump({**assessment, "target_count": "nan"}, allow_unicode=True)),
        put(
            "people-bad-url.yaml",
            yaml.safe_dump(
                {
                    "people": [
                        {"id": "x.y", "name": "某", "roles": ["worker"], "notify": ["http://169.254.169.254/latest"]}
                    ]
                }
            ),
        ),
        put("people-placeholder.yaml", (SAMPLES / "people.yaml").read_text(encoding="utf-8")),
        put("people-shape.yaml", "people: {a: 1}\n"),
        put("archive.json", json.dumps(project)),
        put("archive-truncated.json", json.dumps(project)[:500]),
        put("archive-shape.json", json.dumps({**project, "events": {"a": 1}, "people": [1]})),
        put("archive-rows.json", json.dumps({**project, "stages": [{"id": "x", "started_at": "garbage"}]})),
        put("supervision.yaml", "supervisees: [wang.worker]\nheld_on: 2026-02-30\nmode: 1\ntopics: {}\n"),
        put(
            "template.yaml", (Path(__file__).parents[2] / "config/templates/elderly-care-brief.yaml").read_text("utf-8")
        ),
    ]
    (d / "a-dir").mkdir()
    (d / "secret.txt").write_text("root:x:0:0", encoding="utf-8")  # never a real system file: tests run as root
    (d / "link-passwd").symlink_to(d / "secret.txt")
    (d / "loop").symlink_to(d / "loop")
    files += [str(d / "a-dir"), str(d / "link-passwd"), str(d / "loop"), str(d / "missing.yaml"), "/dev/null", "-"]
    out = root / "outputs"
    out.mkdir()
    (out / "file.txt").write_text("x")
    (out / "linked").symlink_to(out / "file.txt")
    (out / "dir-with-link").mkdir()
    (out / "dir-with-link" / "data.json").symlink_to(out / "file.txt")
    outs = [
        str(out / "file.txt"),
        str(out / "linked"),
        str(out / "dir-with-link"),
        str(out / "no" / "such" / "parent" / "x"),
        str(out / "fresh-dir"),
        str(out / "cert.html"),
        str(out),
        "/dev/full",
    ]
    return {"file": files, "out": outs}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("bad-input")
    # Relative paths (JUNK) land here, and "../../etc/passwd" on a decoy: the run runs as root in CI.
    cwd = root / "sandbox" / "a" / "b"
    cwd.mkdir(parents=True)
    (root / "sandbox" / "etc").mkdir()
    (root / "sandbox" / "etc" / "passwd").write_text("decoy", encoding="utf-8")
    saved, saved_cwd = dict(os.environ), os.getcwd()
    os.chdir(cwd)
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        del os.environ[name]
    os.environ.update(
        {"SWFLOW_HOME": str(root / "home"), "SWFLOW_NOW": NOW, "SWFLOW_PREFECT_API_URL": "http://127.0.0.1:9/api"}
    )
    os.environ.update(LIMITS)
    get_settings.cache_clear()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["init"]) == 0
            people = root / "people.yaml"
            text = (SAMPLES / "people.yaml").read_text(encoding="utf-8")
            people.write_text(text.replace("{receiver}", "json://127.0.0.1:9"), encoding="utf-8")
            assert main(["people", "import", str(people)]) == 0
        project = _launch()
        from swflow.archive.export import project_data

        yield Stage(root / "home", _bad_files(root, project_data(project, None)), {"project": [project]})
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def _launch() -> str:
    from swflow import domain

    now = datetime.fromisoformat(NOW).replace(tzinfo=SHANGHAI)
    request = domain.LaunchRequest(
        template_id="elderly-care-brief",
        name="幸福社区独居老人关爱",
        community="幸福社区",
        manager_id="zhou.pm",
        supervisor_id="li.supervisor",
        worker_ids=["wang.worker"],
    )
    plan = domain.prepare_launch(request, now.date())
    domain.record_launch(plan, "00000000-0000-4000-8000-0000000000b1", now)
    domain.open_stage(plan.project_id, "assessment", now)
    return plan.project_id


JUNK = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "9" * 25,
    "9" * 5000,
    "garbage",
    "2026-02-30",
    "2026-03-02T25:61:00",
    "../../etc/passwd",
    "--",
    "-x",
    "\x1b[31m红\x1b[0m",
    "\u202e倒\u200b",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢😀",
    "a\x00b",
    "\r\n\t",
    "'; DROP TABLE events; --",
    "{receiver}",
    "长" * 600,
    "x" * 30_000,
    "[[[[[[[[",
    "P-000000",
]


def _value(dest: str, rng: random.Random, stage: Stage, choices: Any) -> str:
    if rng.random() < 0.35:
        return rng.choice(JUNK)
    if choices and rng.random() < 0.7:
        return str(rng.choice(list(choices)))
    pools = {
        "project": stage.ids["project"],
        "person": ["wang.worker", "li.supervisor", "zhou.pm", "chen.director", "nobody"],
        "by": ["wang.worker", "li.supervisor", "zhou.pm", "chen.director", "qian.worker", "nobody"],
        "form": ["needs-assessment", "service-plan", "incident-report", "no-such-form"],
        "stage": ["assessment", "planning", "nowhere"],
        "template": ["elderly-care-brief", "community-participation", "nope"],
        "now": [NOW, "2030-01-01", "garbage", "2026-13-01T00:00"],
        "date": ["2026-03-02", "2026-02-30", "yesterday"],
        "file": stage.files["file"],
        "data": stage.files["file"],
        "out": stage.files["out"],
        "html": stage.files["out"],
    }
    for key, pool in pools.items():
        if key in dest:
            return rng.choice(pool)
    if dest in ("id", "ids", "keep", "other", "link", "org", "birth_year", "hours", "person"):
        return rng.choice(["1", "2", "3", "0", "-5", "99999999999999999999", "1.5"])
    return rng.choice(["幸福社区", "测试", "living_alone", "referral", "accident", "high", "2026-03-02"])


def _argv(path: tuple[str, ...], parser: argparse.ArgumentParser, rng: random.Random, stage: Stage) -> list[str]:
    argv = list(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            count = 1 if action.nargs in (None, "?") else rng.randint(0, 3)
            if action.nargs == "?" and rng.random() < 0.4:
                count = 0
            argv += [_value(action.dest, rng, stage, action.choices) for _ in range(count)]
            continue
        wanted = action.required or rng.random() < 0.35
        if not wanted or (action.required and rng.random() < 0.03):
            continue
        flag = action.option_strings[-1]
        if flag in LOOPING_FLAGS:
            continue
        if action.nargs == 0:
            argv.append(flag)
        else:
            argv += [flag, _value(action.dest, rng, stage, action.choices)]
    if rng.random() < 0.02:
        argv.append(rng.choice(["--bogus", "extra"]))
    return argv


def _rows(home: Path) -> int:
    with contextlib.closing(sqlite3.connect(home / "archive.db")) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        query = " + ".join(f'(SELECT count(*) FROM "{t}")' for t in tables if t != "alembic_version")
        return int(db.execute(f"SELECT {query}").fetchone()[0])


def run_cli(argv: list[str]) -> tuple[int | str | None, str, str, BaseException | None]:
    """One in-process `swflow` run: (exit code, stdout, stderr, exception that escaped main)."""
    out, err = io.StringIO(), io.StringIO()
    env = dict(os.environ)
    code: int | str | None = None
    escaped: BaseException | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 - this is what the test looks for
        escaped = exc
    finally:
        os.environ.clear()
        os.environ.update(env)
        get_settings.cache_clear()
    return code, out.getvalue(), err.getvalue(), escaped


ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")  # three English words in a row: a sentence
QUOTED = re.compile(r"`[^`]*`|'[^'\n]*'|\"[^\"\n]*\"|\S*/\S*")  # commands, values, ids and paths shown as such


def _english(err: str, argv: list[str]) -> str | None:
    """An English phrase in what a person reads: not what they typed, not a usage line, not a
    command, value or path shown in quotes."""
    text = err
    for value in sorted(argv, key=len, reverse=True):
        text = text.replace(repr(value), " ").replace(value, " ")
    lines, in_usage = [], False
    for line in text.splitlines():
        in_usage = line.startswith("用法：") or (in_usage and line.startswith(" "))
        if not in_usage:
            lines.append(QUOTED.sub(" ", line))
    found = ENGLISH.search("\n".join(lines))
    return found.group(0) if found else None


def test_every_command_answers_thousands_of_bad_inputs_in_a_sentence(stage: Stage) -> None:
    rng = random.Random(SEED)
    leaves = [(p, parser) for p, parser in _leaves(build_parser()) if p[:1] not in {s[:1] for s in SKIPPED}]
    assert len(leaves) > 60  # every subcommand: projects, archive, registry, quality, supervision, incident…
    crashes: list[str] = []
    wrote: list[str] = []
    spoke_english: list[str] = []
    failed: list[str] = []  # exit 1: the archive or the orchestration server could not be reached
    seen: set[tuple[str, ...]] = set()
    started = time.monotonic()
    for index in range(INPUTS):
        path, parser = leaves[index % len(leaves)] if index < 4 * len(leaves) else rng.choice(leaves)
        argv = _argv(path, parser, rng, stage)
        before = _rows(stage.home)
        code, _, err, escaped = run_cli(argv)
        seen.add(path)
        if escaped is not None or "Traceback" in err or "内部错误" in err:
            crashes.append(f"{argv!r:.300} → {escaped!r:.200} {err[-600:]}")
        elif code not in (0, None) and _rows(stage.home) != before:
            wrote.append(f"{argv!r:.300} exit {code}: {err[:200]}")
        if english := _english(err, argv):
            spoke_english.append(f"{argv!r:.200} → {english!r}")
        if code == 1:
            said = err.strip().splitlines()[-1] if err.strip() else "exit 1 without a word"
            if "编排服务未运行" not in said:  # this sandbox runs no orchestration server: that one is expected
                failed.append(f"{argv!r:.300} → {said}")
    elapsed = time.monotonic() - started
    print(f"{INPUTS} inputs over {len(seen)} commands in {elapsed:.0f} s; {len(crashes)} crashes")
    assert seen == {p for p, _ in leaves}
    assert Path(os.getcwd()).is_relative_to(stage.home.parent)  # nothing was written outside the sandbox
    kinds: dict[str, str] = {}
    for crash in crashes:  # one example per command and last line of the trace
        lines = crash.strip().splitlines()
        kinds.setdefault(crash.split("]", 1)[0][:40] + lines[max(0, len(lines) - 2)][-120:], crash)
    assert not crashes, f"{len(crashes)} of {INPUTS} inputs crashed:\n" + "\n\n".join(list(kinds.values())[:25])
    assert not wrote, f"{len(wrote)} refused inputs wrote rows:\n" + "\n".join(wrote[:15])
    assert not spoke_english, f"{len(spoke_english)} answers in English:\n" + "\n".join(spoke_english[:15])
    assert not failed, f"{len(failed)} inputs ended in exit 1 (bad input is exit 2):\n" + "\n".join(failed[:15])
