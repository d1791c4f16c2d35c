"""A form's page drawn and read back without a browser: every shipped form's inputs give back its
sample, an upload is kept under its sha256, and each problem is placed at its input."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.datastructures import FormData, UploadFile

from swflow.app.web.forms import from_data, normalise, place_problems, read_inputs, to_data
from swflow.config.errors import FormError
from swflow.domain.projects.work_view import WorkItemView
from swflow.forms_spec import FormSpec, get_form, list_forms, validate_submission

from ..unit._support import NOW, WORKER
from .test_forms import as_stored

T = TypeVar("T")


@pytest.mark.parametrize("form_id", [f.id for f in list_forms()])
def test_every_shipped_form_is_drawn_and_read_back_as_its_sample(
    form_id: str, sample_forms: dict[str, Any], web_home: Path
) -> None:
    """Each field type of forms_spec gets an input on the page, and a sample put into the page's
    inputs comes back as the same submission (numbers, dates, lists, rows, attachments)."""
    form, sample = get_form(form_id), sample_forms[form_id]
    inputs = normalise(form, from_data(form, as_stored(sample)))
    assert validate_submission(form, to_data(form, inputs)) == validate_submission(form, sample)
    page = page_of(form, inputs)
    for spec in form.fields:
        if spec.type == "table":
            for column in spec.columns or ():
                assert f'name="f.{spec.name}.0.{column.name}' in page, (spec.name, column.name)
        else:
            assert f'name="f.{spec.name}{".file" if spec.type == "attachment" else ""}"' in page, spec.name
        if spec.sensitive:
            assert f'for="f.{spec.name}" class="sensitive"' in page or spec.type == "table"
        if spec.show_if:
            assert f'data-show-if="{spec.show_if.field}"' in page


def page_of(form: FormSpec, inputs: dict[str, list[str]]) -> str:
    """The form page as the route renders it, for a work item of this form."""
    from swflow.app.web.forms import FormState
    from swflow.app.web.pages import _environment
    from swflow.domain.people.accounts import SignedIn

    view = WorkItemView(
        item_id=1,
        project_id="P-1",
        project_name="测试项目",
        stage_key="assessment",
        stage_title="需求评估",
        stage_status="open",
        round=1,
        form_id=form.id,
        form=form.model_dump(mode="json"),
        activity="",
        title=form.title,
        status="open",
        due_at=NOW,
        return_comment=None,
        returned_by=None,
        previous=None,
        submitted=None,
        draft=None,
        draft_saved_at=None,
        team=[(WORKER, "王社工")],
    )
    me = SignedIn(person_id=WORKER, name="王社工", roles=("worker",), session_id="s", csrf="c")
    return (
        _environment()
        .get_template("work.html")
        .render(
            request=None,
            me=me,
            view=view,
            form=form,
            st=FormState(inputs),
            problems=[],
            unplaced=[],
            notice="",
            has_files=True,
        )
    )


def test_an_upload_is_kept_under_its_sha256_and_becomes_the_attachment(
    web_home: Path, sample_forms: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    form = get_form("service-activity-record")
    content = "签到表：18 人到场".encode() * 200
    posted = FormData([("csrf", "x"), ("f.title", "启动会"), ("f.attachment.file", upload(content, "签到表.pdf"))])
    data = to_data(form, normalise(form, in_own_loop(read_inputs(posted))))
    sha256 = hashlib.sha256(content).hexdigest()
    assert data == {"title": "启动会", "attachment": {"path": f"attachments/{sha256}", "sha256": sha256}}
    assert (web_home / "attachments" / sha256).read_bytes() == content
    sample = {**sample_forms["service-activity-record"], "attachment": data["attachment"]}
    assert validate_submission(form, sample)["attachment"] == data["attachment"]

    monkeypatch.setenv("SWFLOW_MAX_INPUT_BYTES", "1000")
    with pytest.raises(FormError) as refused:
        in_own_loop(read_inputs(FormData([("f.attachment.file", upload(content, "大文件.pdf"))])))
    assert refused.value.problems == [("attachment", "文件不超过 1000 字节")]
    assert sorted(p.name for p in (web_home / "attachments").iterdir()) == [sha256]  # nothing half-written left


def in_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own (the browser tests' Playwright holds this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def upload(content: bytes, filename: str) -> UploadFile:
    return UploadFile(io.BytesIO(content), filename=filename)


def test_each_problem_is_placed_at_its_input() -> None:
    form = get_form("needs-assessment")
    with pytest.raises(FormError) as refused:
        validate_submission(form, {"target_count": "x", "baseline": [{"indicator": "a", "unit": "%"}], "extra": 1})
    placed, unplaced = place_problems(refused.value.problems)
    assert placed["f.target_count"] == ["必须是整数"]
    assert placed["f.baseline.0.value"] == ["必填"]
    assert placed["f.community_profile"] == ["必填"]
    assert placed["f.extra"] == ["表单中没有此字段"]
    assert unplaced == []
    assert place_problems([("(表单)", "必须是映射")]) == ({}, ["(表单)：必须是映射"])
