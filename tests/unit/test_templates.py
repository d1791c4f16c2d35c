"""Service-project templates: the shipped one loads; a broken file says where and why."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from swflow.config.errors import DefinitionError, NotFoundError
from swflow.config.templates import Template, get_template, list_templates, load_template

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates" / "elderly-care-brief.yaml"


def _shipped() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _write(tmp_path: Path, raw: Any) -> Path:
    path = tmp_path / "broken-template.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_elderly_care_template_has_the_four_stages_of_the_guide() -> None:
    template = get_template("elderly-care-brief")

    assert template.clause == "5.1"
    assert [(s.key, s.clause, s.phase, s.duration_days) for s in template.stages] == [
        ("assessment", "6.1.1", "needs_assessment", 10),
        ("planning", "6.1.2", "planning", 5),
        ("execution", "6.1.3", "execution", 40),
        ("evaluation", "6.1.4", "evaluation", 10),
    ]
    assert all(stage.gate.steps == ("supervisor",) for stage in template.stages)
    assert not any(stage.gate.manager_may_decide for stage in template.stages)


def test_every_shipped_template_file_is_listed() -> None:
    files = sorted(p.stem for p in SHIPPED.parent.glob("*.yaml"))
    assert sorted(t.id for t in list_templates()) == files


def test_template_survives_a_save_and_load_round_trip() -> None:
    template = get_template("elderly-care-brief")
    assert Template.model_validate(template.model_dump(mode="json")) == template


def test_loaded_template_cannot_be_changed() -> None:
    template = get_template("elderly-care-brief")
    with pytest.raises(ValidationError):
        template.stages[0].duration_days = 99  # type: ignore[misc]


def _duplicate_first_stage(raw: dict[str, Any]) -> None:
    raw["stages"].append(copy.deepcopy(raw["stages"][0]))


def _drop_stages(raw: dict[str, Any]) -> None:
    del raw["stages"]


def _bad_clause(raw: dict[str, Any]) -> None:
    raw["stages"][1]["clause"] = "6.1.x"


def _words_for_days(raw: dict[str, Any]) -> None:
    raw["stages"][0]["duration_days"] = "ten"


def _zero_days(raw: dict[str, Any]) -> None:
    raw["stages"][2]["duration_days"] = 0


def _worker_approves(raw: dict[str, Any]) -> None:
    raw["stages"][0]["gate"] = {"steps": ["worker"]}


def _no_gate_steps(raw: dict[str, Any]) -> None:
    raw["stages"][1]["gate"] = {"steps": []}


def _same_step_twice(raw: dict[str, Any]) -> None:
    raw["stages"][1]["gate"] = {"steps": ["director", "director"]}


def _no_phase(raw: dict[str, Any]) -> None:
    del raw["stages"][2]["phase"]


def _misspelt_key(raw: dict[str, Any]) -> None:
    raw["stages"][3]["form"] = raw["stages"][3].pop("forms")


@pytest.mark.parametrize(
    ("breakage", "location", "rule"),
    [
        (_drop_stages, "stages", "必填"),
        (_bad_clause, "stages.1.clause", "格式不符"),
        (_words_for_days, "stages.0.duration_days", "必须是整数"),
        (_zero_days, "stages.2.duration_days", "不能小于 1"),
        (_worker_approves, "stages.0.gate.steps.0", "必须是以下之一：'supervisor'、'supervisors' 或 'director'"),
        (_no_gate_steps, "stages.1.gate.steps", "至少 1 项"),
        (_same_step_twice, "stages.1.gate.steps", "同一审核人不能出现在两个审核步骤中"),
        (_no_phase, "stages.2.phase", "必填"),
        (_misspelt_key, "stages.3.form", "不认识此字段"),
    ],
    ids=[
        "missing-stages",
        "bad-clause",
        "wrong-type",
        "out-of-range",
        "unknown-approver",
        "no-steps",
        "repeated-step",
        "missing-phase",
        "unknown-key",
    ],
)
def test_broken_template_names_file_path_and_rule(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], location: str, rule: str
) -> None:
    raw = _shipped()
    breakage(raw)
    path = _write(tmp_path, raw)

    with pytest.raises(DefinitionError) as caught:
        load_template(path)

    message = str(caught.value)
    assert str(path) in message
    assert f": {location}: " in message
    assert rule in message


def test_duplicate_stage_keys_are_refused_naming_the_file_and_key(tmp_path: Path) -> None:
    raw = _shipped()
    _duplicate_first_stage(raw)
    path = _write(tmp_path, raw)

    with pytest.raises(DefinitionError, match="阶段 key 重复：assessment") as caught:
        load_template(path)
    assert str(path) in str(caught.value)


def test_duplicate_stage_keys_error_points_at_the_stages_list(tmp_path: Path) -> None:
    raw = _shipped()
    _duplicate_first_stage(raw)
    path = _write(tmp_path, raw)

    with pytest.raises(DefinitionError, match=r": stages: .*阶段 key 重复"):
        load_template(path)


def _sensitive(raw: dict[str, Any]) -> dict[str, Any]:
    """The shipped template marked sensitive, with a director step on planning and evaluation."""
    raw["sensitivity"] = "sensitive"
    for stage in raw["stages"]:
        if stage["phase"] in ("planning", "evaluation"):
            stage["gate"] = {"steps": ["supervisor", "director"]}
    return raw


def test_sensitive_template_with_director_steps_loads(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, _sensitive(_shipped())))

    assert template.sensitivity == "sensitive"
    assert template.stage("planning").gate.steps == ("supervisor", "director")
    assert template.stage("assessment").gate.steps == ("supervisor",)


@pytest.mark.parametrize(("index", "phase"), [(1, "planning"), (3, "evaluation")])
def test_sensitive_template_without_a_director_step_is_refused_naming_the_stage(
    tmp_path: Path, index: int, phase: str
) -> None:
    raw = _sensitive(_shipped())
    assert raw["stages"][index]["phase"] == phase
    raw["stages"][index]["gate"] = {"steps": ["supervisor", "supervisors"]}
    path = _write(tmp_path, raw)

    with pytest.raises(DefinitionError) as caught:
        load_template(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"stages.{index}.gate.steps" in message
    assert "机构负责人" in message


def test_normal_template_needs_no_director_step(tmp_path: Path) -> None:
    raw = _shipped()
    raw["stages"][1]["gate"] = {"steps": ["supervisors"], "manager_may_decide": True}

    gate = load_template(_write(tmp_path, raw)).stage("planning").gate

    assert (gate.steps, gate.manager_may_decide) == (("supervisors",), True)


def test_template_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- assessment\n- planning\n", encoding="utf-8")

    with pytest.raises(DefinitionError, match="顶层必须是映射") as caught:
        load_template(path)
    assert str(path) in str(caught.value)


def test_template_file_with_broken_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [elderly-care-brief\n", encoding="utf-8")

    with pytest.raises(DefinitionError, match="不是有效的 YAML") as caught:
        load_template(path)
    assert str(path) in str(caught.value)


def test_missing_template_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="无法读取"):
        load_template(tmp_path / "absent.yaml")


def test_unknown_template_id_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="nope") as caught:
        get_template("nope")
    assert "elderly-care-brief" in str(caught.value)


def test_unknown_stage_of_a_template_lists_its_stages() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_template("elderly-care-brief").stage("closing")
    assert "assessment, planning, execution, evaluation" in str(caught.value)
