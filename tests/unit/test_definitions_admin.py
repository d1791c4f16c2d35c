"""The agency's definitions through a door (issue 17, web part 2), against the real SQLite archive: a
check names every problem at its place; a director's save writes the file and one `definition.saved`
event carrying the text and the door; one version holds one text; a save that would break the whole
catalogue is taken back; anyone else is refused; a refusal writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from swflow.config.errors import FormError, RefusedError
from swflow.config.templates import list_templates
from swflow.db import acting_through
from swflow.domain.agency.definitions_admin import (
    check_definition,
    definition_text,
    definitions_catalogue,
    draft_copy,
    save_definition,
    template_page,
)
from swflow.forms_spec import list_forms

from ._support import DIRECTOR, MANAGER, NOW, WORKER

pytestmark = pytest.mark.usefixtures("people")


def _events() -> list[dict[str, Any]]:
    from swflow.db import read_session
    from swflow.db.tables import Event

    with read_session() as session:
        rows = session.query(Event).filter_by(kind="definition.saved").order_by(Event.id)
        return [{"actor": e.actor, "payload": e.payload, "via": e.via, "stream": e.stream} for e in rows]


def _agency_files(home: Path, kind: str) -> list[str]:
    folder = home / "definitions" / kind
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _copy(new_id: str = "our-elderly") -> str:
    return draft_copy(DIRECTOR, "templates", "elderly-care-brief", new_id)


def test_check_names_each_problem_at_its_place() -> None:
    text = (
        _copy()
        .replace("forms: [service-plan]", "forms: [no-such-form]")
        .replace("duration_days: 10", "duration_days: x")
    )
    checked = check_definition("templates", text)
    assert not checked.ok and checked.id is None
    places = dict(checked.problems)
    assert "必须是整数" in places["stages.0.duration_days"]
    unnamed = check_definition("templates", _copy().replace("title: 社区老年人照顾服务（简版）\n", "", 1))
    assert unnamed.problems == [("title", "必填")]
    assert check_definition("templates", "stages: [1").problems[0][0] == ""  # not YAML: no place to name
    assert check_definition("templates", _copy()).ok


def test_new_is_not_an_id_the_editor_could_open() -> None:
    with pytest.raises(FormError, match="new 是保留字"):
        _copy("new")
    assert check_definition("templates", _copy().replace("id: our-elderly", "id: new", 1)).problems == [
        ("id", "new 是保留字，请换一个 id")
    ]


def test_missing_form_is_named_at_the_stage() -> None:
    checked = check_definition("templates", _copy().replace("forms: [service-plan]", "forms: [no-such-form]"))
    assert [where for where, _ in checked.problems] == ["stages.1.forms"]
    assert "没有表单 no-such-form" in checked.problems[0][1]


def test_director_saves_a_copy_and_the_event_carries_text_and_door(archive_home: Path) -> None:
    text = _copy()
    assert "id: our-elderly" in text and "version: 1" in text
    assert _agency_files(archive_home, "templates") == []  # a copy is only a draft
    with acting_through("web", session="s-1"):
        saved = save_definition(DIRECTOR, "templates", text.replace("\n", "\r\n"), NOW)
    assert (saved.id, saved.version, saved.file, saved.added) == ("our-elderly", 1, "our-elderly.yaml", True)
    assert (archive_home / "definitions" / "templates" / "our-elderly.yaml").read_text(encoding="utf-8") == text
    [event] = _events()
    assert (event["actor"], event["stream"], event["via"]["door"]) == (DIRECTOR, "definitions", "web")
    assert event["payload"]["text"] == text
    assert event["payload"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert event["payload"]["before"] is None
    assert "our-elderly" in {t.id for t in list_templates()}
    row = next(r for r in definitions_catalogue(MANAGER).rows["templates"] if r.id == "our-elderly")
    assert (row.agency, row.file) == (True, "our-elderly.yaml")
    page = template_page(MANAGER, "our-elderly", NOW)
    assert page.template.stages[0].gate_steps and not page.may_define
    assert definition_text(MANAGER, "templates", "our-elderly") == text


def test_same_version_with_other_text_is_refused_naming_the_version(archive_home: Path) -> None:
    text = _copy()
    save_definition(DIRECTOR, "templates", text, NOW)
    changed = text.replace("duration_days: 10", "duration_days: 12", 1)
    with pytest.raises(FormError) as refused:
        save_definition(DIRECTOR, "templates", changed, NOW)
    assert [where for where, _ in refused.value.problems] == ["version"] and "改为 2" in str(refused.value)
    assert "duration_days: 10" in (archive_home / "definitions" / "templates" / "our-elderly.yaml").read_text()
    with pytest.raises(RefusedError, match="没有改动"):
        save_definition(DIRECTOR, "templates", text, NOW)
    later = save_definition(DIRECTOR, "templates", changed.replace("version: 1", "version: 2", 1), NOW)
    assert (later.version, later.added) == (2, False) and len(_events()) == 2
    assert _events()[1]["payload"]["before"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_a_save_that_breaks_the_catalogue_is_taken_back(archive_home: Path) -> None:
    """A form alone is valid, but under the id of swflow's own at the same version the catalogue no longer
    loads (an agency file must carry a higher version): refused, no file left, no event."""
    text = definition_text(DIRECTOR, "forms", "needs-assessment")
    assert check_definition("forms", text).ok
    with pytest.raises(FormError, match="不再成立") as refused:
        save_definition(DIRECTOR, "forms", text.replace("title:", "title: 本机构", 1), NOW)
    assert any("版本须高于" in rule for _, rule in refused.value.problems)
    assert _agency_files(archive_home, "forms") == [] and _events() == []
    assert "needs-assessment" in {form.id for form in list_forms()}


def test_a_worker_and_a_manager_are_refused_and_nothing_is_written(archive_home: Path) -> None:
    with pytest.raises(RefusedError, match="查看机构的模板"):
        definitions_catalogue(WORKER)
    for who in (WORKER, MANAGER):
        with pytest.raises(RefusedError, match="只有机构负责人可以"):
            save_definition(who, "templates", _copy(), NOW)
        with pytest.raises(RefusedError):
            draft_copy(who, "templates", "elderly-care-brief", "x-copy")
    assert _agency_files(archive_home, "templates") == [] and _events() == []


def test_an_invalid_text_is_refused_with_its_problems_and_writes_nothing(archive_home: Path) -> None:
    with pytest.raises(FormError) as refused:
        save_definition(DIRECTOR, "templates", _copy().replace("forms: [service-plan]", "forms: []"), NOW)
    assert refused.value.problems and all(where.startswith("stages.1") for where, _ in refused.value.problems)
    assert _agency_files(archive_home, "templates") == [] and _events() == []


def test_a_broken_agency_file_is_a_problem_of_its_kind_not_an_error(archive_home: Path) -> None:
    folder = archive_home / "definitions" / "scorecards"
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    catalogue = definitions_catalogue(MANAGER)
    assert catalogue.problems["scorecards"] and catalogue.rows["scorecards"] == []
    assert catalogue.rows["templates"] and "templates" not in catalogue.problems
