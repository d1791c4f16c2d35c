"""What a form's pages refuse over HTTP: another worker's form, a post without the CSRF token, a forged
page (its problems said, never a crash), and a form fixed by an approved first step of its gate."""

# ruff: noqa: F811 - the tests' parameters name the fixture imported from test_forms
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from swflow import domain
from swflow.domain.projects.work_view import work_item_view

from ..unit._support import NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .conftest import PASSWORD
from .test_forms import _text, assessment_open  # noqa: F401  (a fixture)


def _signed_in_client(web: str, person_id: str, page: str) -> tuple[httpx.Client, str]:
    """A signed-in client and its session's CSRF token (every page's sign-out form carries it)."""
    client = httpx.Client(base_url=web)
    client.post("/login", data={"person_id": person_id, "password": PASSWORD})
    csrf = client.get(page).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client, csrf


def test_another_worker_cannot_open_or_submit_my_form(
    web: str, assessment_open: int, give_password: Callable[[str], str], sample_forms: dict[str, Any]
) -> None:
    give_password(SECOND_WORKER)
    client, csrf = _signed_in_client(web, SECOND_WORKER, f"/work/{assessment_open}")
    try:
        opened = client.get(f"/work/{assessment_open}")
        assert opened.status_code == 403 and "不是此表单的负责人" in opened.text
        assert 'name="f.' not in opened.text  # not a field of the form is shown
        typed = {"csrf": csrf, "f.community_profile": sample_forms["needs-assessment"]["community_profile"]}
        for path in (f"/work/{assessment_open}", f"/work/{assessment_open}/draft"):
            refused = client.post(path, data=typed)
            assert refused.status_code == 403 and "不是此表单的负责人" in refused.text
        assert client.get("/work/999999").status_code == 404
    finally:
        client.close()
    view = work_item_view(assessment_open, WORKER)
    assert view.status == "open" and view.draft is None and view.submitted is None


def test_a_form_post_without_the_csrf_token_is_refused(web: str, assessment_open: int) -> None:
    client, _csrf = _signed_in_client(web, WORKER, f"/work/{assessment_open}")
    try:
        for path in (f"/work/{assessment_open}", f"/work/{assessment_open}/draft"):
            refused = client.post(path, data={"f.target_count": "60"})
            assert refused.status_code == 403 and "安全令牌" in refused.text
    finally:
        client.close()
    view = work_item_view(assessment_open, WORKER)
    assert view.status == "open" and view.draft is None


def test_a_forged_page_gets_its_problems_said_never_a_crash(web: str, assessment_open: int) -> None:
    client, csrf = _signed_in_client(web, WORKER, f"/work/{assessment_open}")
    forged = [("csrf", csrf), ("f.baseline.", "x"), ("f.baseline.x.indicator", "x"), ("f.baseline.99999.unit", "%")]
    forged += [("f.baseline.0.value", "NaN"), ("f.target_count", "1" * 40), ("f.target_count", "2"), ("f.nope", "1")]
    forged += [("f.intervention_level", "<script>alert(1)</script>"), ("f.baseline.1._remove", "1")]
    try:
        body, form = urlencode(forged), {"content-type": "application/x-www-form-urlencoded"}
        answer = client.post(f"/work/{assessment_open}", content=body, headers=form)
        assert answer.status_code == 400 and "表单尚未提交" in answer.text
        assert "<script>alert(1)</script>" not in answer.text
        assert client.post(f"/work/{assessment_open}/draft", content=body, headers=form).status_code == 303
    finally:
        client.close()
    assert work_item_view(assessment_open, WORKER).submitted is None


def test_a_form_approved_by_step_one_is_fixed_on_the_web_too(
    web: str, launch: Callable[..., str], give_password: Callable[[str], str], sample_forms: dict[str, Any]
) -> None:
    """community-corrections plans are approved by the supervisor, then a director: after step one
    the worker's page refuses a change, saying why (the same rule as the CLI's, from the domain)."""

    def tasks(project: str) -> list[dict[str, Any]]:
        return [t for t in domain.inbox(WORKER)["tasks"] if t["project"] == project]

    project = launch(template_id="community-corrections")
    items: dict[str, int] = {}
    for stage in ("assessment", "planning"):
        domain.open_stage(project, stage, NOW)
        for task in tasks(project):
            items[task["form"]] = int(task["item_id"])
            domain.submit_form(project, task["form"], WORKER, sample_forms[task["form"]], NOW)
        if stage == "assessment":
            decided = domain.record_decision(project, stage, SUPERVISOR, "approve", "", NOW)
            domain.apply_gate_reply(project, stage, domain.read_gate(project, stage).attempt, decided.decision_id, NOW)
    with_plan = domain.record_decision(project, "planning", SUPERVISOR, "approve", "同意，请主任审核", NOW)
    assert not with_plan.final
    give_password(WORKER)
    item = items["goals-and-tasks"]
    client, csrf = _signed_in_client(web, WORKER, f"/work/{item}")
    try:
        typed = {f"f.{k}": _text(v) for k, v in sample_forms["goals-and-tasks"].items() if not isinstance(v, list)}
        refused = client.post(f"/work/{item}", data={"csrf": csrf, **typed})
        assert refused.status_code in (403, 409), refused.status_code
        assert "表单不能再改" in refused.text and "请当前审核人退回" in refused.text
    finally:
        client.close()
