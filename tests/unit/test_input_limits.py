"""Input limits: a file is measured before it is parsed, deep nesting, long texts and NaN are
refused naming the field and the rule (exit 2), and nothing is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import FormError
from swflow.config.limits import check_value, get_limits, read_input_file
from swflow.forms_spec import get_form, validate_submission

from ._support import NOW, WORKER


def _events(project_id: str) -> int:
    return len(domain.project_events(project_id))


def _submit(project_id: str, path: Path) -> int:
    return main(["submit", project_id, "needs-assessment", "--by", WORKER, "--data", str(path)])


@pytest.fixture
def assessment_open(project_id: str) -> str:
    domain.open_stage(project_id, "assessment", NOW)
    return project_id


def test_deeply_nested_form_data_is_refused_naming_the_rule(
    assessment_open: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"summary": ' + "[" * 50_000 + "]" * 50_000 + "}", encoding="utf-8")
    before = _events(assessment_open)

    assert _submit(assessment_open, path) == 2

    err = capsys.readouterr().err
    assert "嵌套" in err and str(path) in err and "Traceback" not in err
    assert _events(assessment_open) == before


def test_yaml_nested_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 40 + "]" * 40, encoding="utf-8")
    with pytest.raises(FormError, match="嵌套超过 32 层"):
        read_input_file(path, "--data")


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(
    assessment_open: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWFLOW_MAX_INPUT_BYTES", "1000")
    path = tmp_path / "big.yaml"
    path.write_text("summary: " + "x" * 2000, encoding="utf-8")

    assert _submit(assessment_open, path) == 2
    assert "文件超过 1000 字节" in capsys.readouterr().err


def test_ten_million_characters_in_a_long_text_is_refused_not_stored(
    assessment_open: str, sample_forms: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    form = get_form("needs-assessment")
    longtext = next(f.name for f in form.fields if f.type == "textarea")
    path = tmp_path / "long.json"
    path.write_text(json.dumps({**sample_forms["needs-assessment"], longtext: "长" * 10_000_000}), encoding="utf-8")
    before = _events(assessment_open)

    assert _submit(assessment_open, path) == 2

    assert "超过" in capsys.readouterr().err
    assert _events(assessment_open) == before


def _form_with(*types: str) -> Any:
    from swflow.forms_spec import list_forms

    def free(form: Any, kind: str) -> bool:
        return any(f.type == kind and f.max_length is None and f.show_if is None for f in form.fields)

    return next(f for f in list_forms() if all(free(f, kind) for kind in types))


def _field(form: Any, kind: str) -> Any:
    return next(f for f in form.fields if f.type == kind and f.max_length is None and f.show_if is None)


def test_text_and_long_text_have_their_own_limits(
    sample_forms: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    form = _form_with("text", "textarea")
    data = sample_forms[form.id]

    def longest(kind: str) -> int:
        return max([len(str(data.get(f.name, ""))) for f in form.fields if f.type == kind] + [10])

    short, long_ = longest("text"), max(longest("textarea"), longest("text") + 1)
    monkeypatch.setenv("SWFLOW_MAX_TEXT_CHARS", str(short))
    monkeypatch.setenv("SWFLOW_MAX_LONGTEXT_CHARS", str(long_))
    text, longtext = _field(form, "text"), _field(form, "textarea")

    with pytest.raises(FormError) as caught:
        validate_submission(form, {**data, text.name: "字" * (short + 1), longtext.name: "字" * (long_ + 1)})
    assert dict(caught.value.problems) == {
        f"{text.label}（{text.name}）": f"最多 {short} 个字",
        f"{longtext.label}（{longtext.name}）": f"最多 {long_} 个字",
    }
    validate_submission(form, {**data, text.name: "字" * short, longtext.name: "字" * long_})


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", math.nan, math.inf])
def test_nan_and_infinity_are_refused_in_a_number_field(value: Any, sample_forms: dict[str, Any]) -> None:
    form = _form_with("number")
    field = _field(form, "number")
    with pytest.raises(FormError) as caught:
        validate_submission(form, {**sample_forms[form.id], field.name: value})
    assert caught.value.problems == [(f"{field.label}（{field.name}）", "必须是有限的数字（不能是 NaN 或无穷大）")]


def test_nan_in_a_json_file_is_refused_before_the_form_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text('{"hours": NaN}', encoding="utf-8")
    with pytest.raises(FormError, match="NaN"):
        read_input_file(path, "--data")


def test_nan_in_a_yaml_file_is_refused_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "nan.yaml"
    path.write_text("rows:\n  - hours: .nan\n", encoding="utf-8")
    with pytest.raises(FormError, match=r"rows\[0\]\.hours"):
        read_input_file(path, "--data")


def test_yaml_aliases_that_multiply_the_data_are_refused(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefg", "bcdefgh", strict=True)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FormError, match="别名"):
        read_input_file(path, "--data")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("a-dir", None, "是目录"),
        ("missing.yaml", "", "不存在"),
        ("latin1.yaml", b"name: \xe9\xff", "UTF-8"),
        ("broken.yaml", "a: [1, 2\nb: : :", "不是有效的 YAML"),
        ("truncated.json", '{"a": [1, 2', "不是有效的 JSON"),
    ],
)
def test_bad_files_are_named_with_the_reason(
    tmp_path: Path, name: str, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif content:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(FormError, match=words) as caught:
        read_input_file(path, "--data")
    assert str(path) in str(caught.value)


def test_a_device_is_not_an_input_file() -> None:
    with pytest.raises(FormError, match="不是普通文件"):
        read_input_file("/dev/zero", "--data")


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWFLOW_MAX_NESTING", "3")
    assert get_limits().nesting == 3
    with pytest.raises(FormError, match="嵌套超过 3 层"):
        check_value({"a": [[{"b": 1}]]}, "x")
    monkeypatch.setenv("SWFLOW_MAX_NESTING", "three")
    with pytest.raises(FormError, match="SWFLOW_MAX_NESTING"):
        get_limits()


def test_a_nul_in_an_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "needs\x00assessment"]) == 2
    assert "NUL" in capsys.readouterr().err


def test_template_validate_measures_the_file_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"id": "x", "stages": [[[[[[[[]]]]]]]]}), encoding="utf-8")
    monkeypatch.setenv("SWFLOW_MAX_NESTING", "4")
    assert main(["templates", "validate", str(path)]) == 2
    assert "嵌套超过 4 层" in capsys.readouterr().err
