"""The `swflow` command: exit codes 0 ok, 2 bad input, 1 not initialised; messages say what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.clock import SHANGHAI
from swflow.config.settings import get_settings

from ._support import NOW, WORKER


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in [n for n in os.environ if n.startswith("SWFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWFLOW_HOME", str(tmp_path / "swflow-home"))
    get_settings.cache_clear()
    yield tmp_path / "swflow-home"
    get_settings.cache_clear()


def _exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    return caught.value.code


def test_return_without_comment_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["return", "P-1A2B3C", "assessment", "--by", "li.supervisor"]) == 2
    assert "--comment" in capsys.readouterr().err


def test_reject_without_comment_is_a_usage_error() -> None:
    assert _exit_code(["reject", "P-1A2B3C", "assessment", "--by", "li.supervisor"]) == 2


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["frobnicate"]) == 2
    assert "frobnicate" in capsys.readouterr().err


def test_launch_without_a_worker_is_a_usage_error() -> None:
    argv = [
        "launch",
        "elderly-care-brief",
        "--name",
        "关爱",
        "--community",
        "幸福社区",
        "--manager",
        "zhou.pm",
        "--supervisor",
        "li.supervisor",
    ]
    assert _exit_code(argv) == 2


def test_templates_list_shows_every_shipped_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "list", "--json"]) == 0

    rows = json.loads(capsys.readouterr().out)
    shipped = Path(__file__).resolve().parents[2] / "config" / "templates"
    assert sorted(r["id"] for r in rows) == sorted(p.stem for p in shipped.glob("*.yaml"))
    elderly = next(r for r in rows if r["id"] == "elderly-care-brief")
    assert elderly["stages"] == ["assessment", "planning", "execution", "evaluation"]


def test_templates_list_for_people_reads_as_a_line_per_template(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["templates", "list"]) == 0
    assert "assessment → planning → execution → evaluation" in capsys.readouterr().out


def test_forms_show_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "needs-assessment", "--schema"]) == 0

    schema = json.loads(capsys.readouterr().out)
    assert schema["x-form-id"] == "needs-assessment"
    assert schema["properties"]["key_cases"]["x-sensitive"] is True


def test_forms_show_marks_required_and_sensitive_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "needs-assessment"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if "key_cases" in line).split()[2] == "选填，敏感"
    assert next(line for line in lines if "target_count" in line).split()[2] == "必填"


def test_unknown_form_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "intake"]) == 2
    assert "needs-assessment" in capsys.readouterr().err


def test_template_naming_a_missing_form_fails_validation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
    raw = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    raw["stages"][1]["forms"] = ["service-plan", "budget-sheet"]
    path = tmp_path / "elderly-care-v2.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    assert main(["templates", "validate", str(path)]) == 2

    err = capsys.readouterr().err
    assert str(path) in err
    assert "budget-sheet" in err


def test_shipped_template_passes_validation(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"
    assert main(["templates", "validate", str(shipped)]) == 0
    assert "有效" in capsys.readouterr().out


def test_status_before_init_says_to_run_init(empty_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 1
    assert "swflow init" in capsys.readouterr().err


def test_init_then_status_shows_no_projects(empty_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert (empty_home / "swflow.env").is_file()
    assert "已初始化" in capsys.readouterr().out

    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def _write_data(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "assessment.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_submit_with_a_bad_field_exits_2_naming_the_field(
    project_id: str,
    sample_forms: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    data = _write_data(tmp_path, {**sample_forms["needs-assessment"], "target_count": 0})

    code = main(["submit", project_id, "needs-assessment", "--by", WORKER, "--data", str(data)])

    assert code == 2
    err = capsys.readouterr().err
    assert "拟服务老年人数（target_count）：不能小于 1" in err
    stage = domain.project_status(project_id)["stages"][0]
    assert [i["status"] for i in stage["work_items"]] == ["open"]


def test_submit_of_valid_data_reports_the_stage_complete(
    project_id: str,
    sample_forms: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWFLOW_PREFECT_API_URL", "http://127.0.0.1:9/api")  # no Prefect: nothing answers
    get_settings.cache_clear()
    domain.open_stage(project_id, "assessment", NOW)
    data = _write_data(tmp_path, sample_forms["needs-assessment"])

    assert main(["submit", project_id, "needs-assessment", "--by", WORKER, "--data", str(data)]) == 0

    out = capsys.readouterr().out
    assert "已提交 needs-assessment（阶段 assessment 第 1 轮" in out
    assert "已请审核人审核" in out


def test_submit_by_someone_else_is_refused_with_exit_3(
    project_id: str,
    sample_forms: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    data = _write_data(tmp_path, sample_forms["needs-assessment"])

    code = main(["submit", project_id, "needs-assessment", "--by", "zhao.worker", "--data", str(data)])

    assert code == 3
    assert "不是此表单的负责人" in capsys.readouterr().err


def test_submit_with_a_missing_data_file_names_the_file(
    project_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert main(["submit", project_id, "needs-assessment", "--by", WORKER, "--data", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_status_shows_deadlines_in_beijing_time_and_json_in_utc(
    project_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The archive keeps UTC; people read Beijing time (a stage due at 18:00 is not shown as 10:00)."""
    domain.open_stage(project_id, "assessment", NOW)
    assert main(["status", project_id, "--json"]) == 0
    due = next(s for s in json.loads(capsys.readouterr().out)["stages"] if s["key"] == "assessment")["due_at"]
    assert due.endswith("+00:00")
    beijing = datetime.fromisoformat(due).astimezone(SHANGHAI)
    assert beijing.hour == 18  # the end of the working day

    assert main(["status", project_id]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "（assessment）" in line)
    assert f"期限 {beijing:%Y-%m-%d %H:%M}" in line


def test_archive_events_for_people_lists_each_event_in_beijing_time(
    project_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "events", project_id]) == 0
    [launched] = capsys.readouterr().out.splitlines()[:1]
    assert f"{NOW.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}" in launched and "project.launched" in launched


def test_forms_show_lists_a_choice_fields_options_by_key_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "needs-assessment"]) == 0
    out = capsys.readouterr().out
    assert "individual=个人" in out and "community=社区" in out


def test_text_output_says_stages_outcomes_and_roles_in_chinese(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: `--json` keeps the keys; what a person reads at a terminal is in Chinese."""
    domain.record_decision(awaiting_assessment, "assessment", "li.supervisor", "return", "请补充", NOW)
    capsys.readouterr()
    assert main(["status"]) == 0
    listed = capsys.readouterr().out
    assert "需求评估" in listed and "assessment" not in listed
    assert main(["status", awaiting_assessment]) == 0
    shown = capsys.readouterr().out
    assert "退回修改" in shown and " return " not in shown and "督导 li.supervisor" in shown


def test_the_inbox_shows_the_return_comment_of_a_revision_round(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    decided = domain.record_decision(
        awaiting_assessment, "assessment", "li.supervisor", "return", "请补充走访记录", NOW
    )
    gate = domain.read_gate(awaiting_assessment, "assessment")
    domain.apply_gate_reply(awaiting_assessment, "assessment", gate.attempt, decided.decision_id, NOW)
    capsys.readouterr()
    assert main(["inbox", WORKER]) == 0
    out = capsys.readouterr().out
    assert "第 2 轮" in out and "退回意见（li.supervisor" in out and "请补充走访记录" in out
