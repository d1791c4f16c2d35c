"""The catalogue of the standard: a template per service area of §5, forms for §6.1 and §6.2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swflow.app.samples import form_samples
from swflow.config.errors import DefinitionError, FormError
from swflow.config.scorecards import get_scorecard, weighted_score
from swflow.config.templates import get_template, list_templates, load_template
from swflow.domain.projects.surveys import Answered, record_responses, survey_report
from swflow.forms_spec import check_template_forms, get_form, list_forms, mask_sensitive, validate_submission
from swflow.forms_spec.instrument import Instrument, get_instrument

AREAS = {
    "5.1": {
        "social-assistance",
        "elderly-care",
        "elderly-care-brief",
        "children-youth",
        "rural-women",
        "disability",
        "domestic-violence",
        "health-rehabilitation",
        "emergency-bereavement",
    },
    "5.2": {"community-participation"},
    "5.3": {"community-integration"},
    "5.4": {"community-development"},
    "5.5": {"community-corrections"},
    "5.6": {"drug-rehabilitation"},
    "5.7": {"other-services"},
}
SENSITIVE = {"children-youth", "domestic-violence", "community-corrections", "drug-rehabilitation"}


def test_every_service_area_of_clause_5_has_its_template() -> None:
    by_clause: dict[str, set[str]] = {}
    for template in list_templates():
        by_clause.setdefault(template.clause, set()).add(template.id)
    assert by_clause == AREAS


@pytest.mark.parametrize("template", list_templates(), ids=lambda t: t.id)
def test_template_names_only_forms_that_exist_and_fit(template: Any) -> None:
    forms = check_template_forms(template, template.id)
    assert {f.clause.split(".")[0] for f in forms.values()} == {"6"}
    assert [s.phase for s in template.stages] == ["needs_assessment", "planning", "execution", "evaluation"]
    assert template.service_items, "each template lists the service items of its clause"


@pytest.mark.parametrize("template", [t for t in list_templates() if t.id in SENSITIVE], ids=lambda t: t.id)
def test_sensitive_area_needs_the_director_on_plan_and_closure(template: Any) -> None:
    assert template.sensitivity == "sensitive"
    gates = {s.phase: s.gate.steps for s in template.stages}
    assert gates["planning"] == ("supervisor", "director")
    assert gates["evaluation"] == ("supervisor", "director")


def test_a_template_naming_a_missing_optional_form_is_refused_with_its_path(tmp_path: Path) -> None:
    source = Path("config/templates/other-services.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        source.replace("optional_forms: [incident-report]", "optional_forms: [no-such-form]"), encoding="utf-8"
    )
    template = load_template(broken)
    with pytest.raises(DefinitionError, match=r"broken.yaml: stages\.2\.optional_forms: 没有表单 no-such-form"):
        check_template_forms(template, str(broken))


def test_a_form_in_two_stages_is_refused(tmp_path: Path) -> None:
    source = Path("config/templates/other-services.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "twice.yaml"
    broken.write_text(
        source.replace("optional_forms: [data-collection-log]", "optional_forms: [scorecard]"), encoding="utf-8"
    )
    with pytest.raises(DefinitionError, match="只能属于一个阶段"):
        check_template_forms(load_template(broken), str(broken))


@pytest.mark.parametrize("form", list_forms(), ids=lambda f: f.id)
def test_every_form_accepts_its_realistic_sample(form: Any) -> None:
    clean = validate_submission(form, form_samples()[form.id])
    masked = str(mask_sensitive(form, clean))
    assert "演示敏感信息" not in masked and "赵某某" not in masked


@pytest.mark.parametrize("form", list_forms(), ids=lambda f: f.id)
def test_every_sensitive_sample_value_is_marked(form: Any) -> None:
    """The samples mark their sensitive values so that leak tests can look for the marker."""
    sample = form_samples()[form.id]
    for field in form.fields:
        if field.sensitive and isinstance(sample.get(field.name), str):
            assert "演示敏感信息" in sample[field.name], field.name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("form", list_forms(), ids=lambda f: f.id)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_data_gets_only_form_errors_never_a_crash(form: Any, data: st.DataObject) -> None:
    names = [f.name for f in form.fields]
    keys = st.sampled_from(names) | st.text(max_size=10)
    submission = data.draw(st.dictionaries(keys, json_values, max_size=len(names) + 2))
    try:
        validate_submission(form, submission)
    except FormError as exc:
        assert exc.problems and all(field and rule for field, rule in exc.problems)


@pytest.mark.parametrize("form", list_forms(), ids=lambda f: f.id)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_sample_with_one_field_broken_names_that_field(form: Any, data: st.DataObject) -> None:
    sample = dict(form_samples()[form.id])
    field = data.draw(st.sampled_from([f for f in form.fields if f.name in sample]))
    sample[field.name] = {"不是": "这种值"}
    with pytest.raises(FormError) as caught:
        validate_submission(form, sample)
    assert any(f"（{field.name}）" in where for where, _ in caught.value.problems)


def test_scorecard_form_scores_exactly_the_indicators_of_the_default_card() -> None:
    card = get_scorecard("default")
    column = next(c for c in get_form("scorecard").fields[0].columns or () if c.name == "indicator")
    assert list(column.choices or {}) == card.indicator_keys()


def test_weighted_score_averages_by_weight_and_reports_unscored_dimensions_as_none() -> None:
    card = get_scorecard("default")
    all_fives = dict.fromkeys(card.indicator_keys(), 5)
    assert weighted_score(card, all_fives)[0] == pytest.approx(5)
    first = card.dimensions[0]
    only_first = {i.key: 3 for i in first.indicators}
    total, per_dimension = weighted_score(card, only_first)
    assert total == pytest.approx(3)
    assert per_dimension[first.key] == pytest.approx(3)
    assert all(v is None for k, v in per_dimension.items() if k != first.key)
    mixed = {first.indicators[0].key: 5, first.indicators[1].key: 1}
    expected = (first.indicators[0].weight * 5 + first.indicators[1].weight * 1) / (
        first.indicators[0].weight + first.indicators[1].weight
    )
    assert weighted_score(card, mixed)[1][first.key] == pytest.approx(expected)


@pytest.mark.parametrize("template_id", [t.id for t in list_templates()])
def test_every_template_runs_from_launch_to_closure(template_id: str, people: Any) -> None:
    """Every template, through the domain acts the CLI calls (two also run through the CLI and a real
    Prefect server: tests/e2e/test_lifecycle.py and tests/e2e/test_sensitive_project.py)."""
    from swflow import db, domain
    from tests.unit._support import FLOW_RUN_ID, MANAGER, NOW, SUPERVISOR, WORKER

    plan = domain.prepare_launch(
        domain.LaunchRequest(
            template_id=template_id,
            name="目录测试",
            community="幸福社区",
            manager_id=MANAGER,
            supervisor_id=SUPERVISOR,
            worker_ids=[WORKER],
        ),
        NOW.date(),
    )
    domain.record_launch(plan, FLOW_RUN_ID, NOW)
    project, samples = plan.project_id, form_samples()
    template = get_template(template_id)
    for stage in [s["key"] for s in domain.project_status(project)["stages"]]:
        domain.open_stage(project, stage, NOW)
        for survey in template.stage(stage).surveys:
            answers = _plain_answers(get_instrument(survey.instrument))
            given = [Answered(f"R{n}", NOW.date(), answers, "样例") for n in range(3)]
            assert record_responses(project, survey.key, WORKER, given, NOW) == 3
        current = next(s for s in domain.project_status(project)["stages"] if s["key"] == stage)
        assert current["work_items"], f"{template_id}/{stage} opened no work"
        for item in current["work_items"]:
            data = samples[item["form"]] | _computed_fields(project, item["form"])
            domain.submit_form(project, item["form"], item["assignee"], data, NOW, item["activity"] or None)
        decided = None
        while (current := next(s for s in domain.project_status(project)["stages"] if s["key"] == stage))[
            "status"
        ] == "awaiting_decision":
            decided = domain.record_decision(project, stage, current["waiting_on"][0], "approve", "", NOW)
        assert decided is not None and decided.final
        assert domain.apply_gate_reply(project, stage, 1, decided.decision_id, NOW).kind == "approved"
    assert domain.close_project(project, NOW) == "completed"
    with db.read_session() as session:
        assert db.verify_stream(session, db.project_stream(project)) is None


def _plain_answers(instrument: Instrument) -> dict[str, Any]:
    """An answer to every shown required item: a scale's highest point, yes, the first option, a number."""
    answers: dict[str, Any] = {}
    for key, (item, _) in instrument.answer_items.items():
        if not item.required or item.show_if is not None:
            continue
        if item.scale:
            answers[key] = instrument.scales[item.scale].high
        elif item.kind == "yes_no":
            answers[key] = True
        elif item.kind in ("choice", "multichoice"):
            first = next(k for k in (item.options or {}) if k != item.other)
            answers[key] = first if item.kind == "choice" else [first]
        elif item.kind == "number":
            answers[key] = item.min or 0
        else:
            answers[key] = "无"
    return answers


def _computed_fields(project: str, form_id: str) -> dict[str, Any]:
    """The values the project's surveys compute for the number fields of this form (as a worker types them)."""
    found = {}
    for survey in survey_report(project):
        for computed in survey["indicators"]:
            if (computed.get("field") or "").startswith(f"{form_id}."):
                found[computed["field"].split(".", 1)[1]] = computed["value"]
    return found
