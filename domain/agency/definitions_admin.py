"""The agency's own definitions through a door (issue 17): the catalogue of templates, forms, instruments,
scorecards and escalation policies — swflow's and the agency's side by side, with what is wrong in the
agency's folder said rather than raised — a definition's text, a copy to start from, a check that says
every problem at its place, and saving: the act `swflow templates new` + an editor + `validate` are on
the CLI. Reading is for the people who design projects (项目主管、督导、机构负责人); saving is the
director's. A save is checked exactly as the CLI checks a file, then with the whole catalogue it joins
(every template's forms, policies and surveys still found); what does not hold is never left on disk.
Each save is an event of the `definitions` stream carrying the text itself, who and through which door.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from swflow.config.definitions import KINDS, agency_folder
from swflow.config.errors import DefinitionError, FormError, NotFoundError, RefusedError
from swflow.config.escalation import _load_policy, list_policies
from swflow.config.limits import parse_input_text
from swflow.config.scorecards import list_scorecards, load_scorecard
from swflow.config.templates import list_templates, load_template
from swflow.db import append_event, read_session, unit_of_work
from swflow.db.tables import Person
from swflow.domain.people.rules import ROLE_TITLES
from swflow.domain.projects.launch_view import TemplateChoice, template_choice
from swflow.forms_spec import check_template_forms, list_forms, load_form
from swflow.forms_spec.instrument import list_instruments, load_instrument

__all__ = [
    "DEFINITIONS_STREAM", "DEFINING_ROLE", "VIEWING_ROLES", "MOST_CHARS", "CatalogueRow", "Catalogue", "Checked",
    "SavedDefinition", "why_not_view_definitions", "why_not_define", "definitions_catalogue", "definition_text",
    "draft_copy", "check_definition", "save_definition", "TemplatePage", "definition_row", "template_page",
]  # fmt: skip

DEFINITIONS_STREAM = "definitions"
DEFINING_ROLE = "director"  # who saves the agency's definitions: 机构负责人
VIEWING_ROLES = ("manager", "supervisor", "director")  # who reads them: the people who design projects
MOST_CHARS = 200_000  # one definition's text (swflow's largest template is about 20,000)
ID_RULE = r"[a-z][a-z0-9-]*"

_LOADERS: dict[str, Callable[[Path], Any]] = {
    "templates": load_template,
    "forms": load_form,
    "instruments": load_instrument,
    "scorecards": load_scorecard,
    "escalation": _load_policy,
}
_LISTS: dict[str, Callable[[], tuple[Any, ...]]] = {
    "templates": list_templates,
    "forms": list_forms,
    "instruments": list_instruments,
    "scorecards": list_scorecards,
    "escalation": list_policies,
}


class CatalogueRow(BaseModel):
    kind: str
    id: str
    version: int
    title: str
    clause: str | None = None
    agency: bool  # the agency's own file (else swflow's)
    file: str | None = None  # the agency file's name
    outline: str = ""  # a line of what it holds: stages, fields, items


class Catalogue(BaseModel):
    rows: dict[str, list[CatalogueRow]]  # by kind, in KINDS order
    problems: dict[str, list[str]]  # kind → what is wrong in the agency's folder (nothing of that kind loads)
    folder: str  # where the agency's definitions live
    may_define: bool


class Checked(BaseModel):
    kind: str
    id: str | None = None
    version: int | None = None
    title: str | None = None
    problems: list[tuple[str, str]] = []  # (where: the path in the file, rule)

    @property
    def ok(self) -> bool:
        return not self.problems


class SavedDefinition(BaseModel):
    kind: str
    id: str
    version: int
    file: str
    added: bool  # a new file (else an agency file replaced)


def _refusal(viewer: str, roles: tuple[str, ...], what: str) -> str | None:
    with read_session() as session:
        person = session.get(Person, viewer)
        if person is None:
            return f"没有人员 {viewer}，不能{what}"
        if not person.active:
            return f"{viewer} 已停用，不能{what}"
        if not set(roles) & set(person.roles):
            held = "、".join(ROLE_TITLES.get(r, r) for r in person.roles) or "无"
            allowed = "、".join(ROLE_TITLES[r] for r in roles)
            return f"{viewer} 不能{what}：只有{allowed}可以（现有角色：{held}）"
        return None


def why_not_view_definitions(viewer: str) -> str | None:
    return _refusal(viewer, VIEWING_ROLES, "查看机构的模板、表单和量表")


def why_not_define(viewer: str) -> str | None:
    return _refusal(viewer, (DEFINING_ROLE,), "修改机构的模板、表单和量表")


def _refuse(why: str | None) -> None:
    if why is not None:
        raise RefusedError(why)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFoundError(f"没有这类定义：{kind}（可选：{'、'.join(KINDS)}）")
    return kind


def _outline(kind: str, item: Any) -> str:
    if kind == "templates":
        return " → ".join(s.title for s in item.stages)
    if kind == "forms":
        return f"{len(item.fields)} 个字段"
    if kind == "instruments":
        return f"{len(item.items)} 题，{len(item.scores)} 项计分"
    if kind == "scorecards":
        return f"{len(item.dimensions)} 个维度"
    return f"{len(item.steps)} 级升级"


def _agency_files(kind: str) -> dict[str, Path]:
    """id → the agency's file of that id (a file that does not load is left to the catalogue's problems)."""
    folder = agency_folder(kind)
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        try:
            found.setdefault(_LOADERS[kind](path).id, path)
        except DefinitionError:
            continue
    return found


def definitions_catalogue(viewer: str) -> Catalogue:
    _refuse(why_not_view_definitions(viewer))
    rows: dict[str, list[CatalogueRow]] = {}
    problems: dict[str, list[str]] = {}
    for kind in KINDS:
        files = _agency_files(kind)
        try:
            items = _LISTS[kind]()
        except DefinitionError as exc:
            problems[kind] = str(exc).splitlines()
            items = ()
        rows[kind] = []
        for item in items:
            path = files.get(item.id)
            mine = path is not None and _LOADERS[kind](path).version == item.version
            rows[kind].append(
                CatalogueRow(
                    kind=kind, id=item.id, version=item.version, title=getattr(item, "title", item.id),
                    clause=getattr(item, "clause", None), agency=mine, file=path.name if mine and path else None,
                    outline=_outline(kind, item),
                )
            )  # fmt: skip
    folder = str(agency_folder("templates").parent)
    return Catalogue(rows=rows, problems=problems, folder=folder, may_define=why_not_define(viewer) is None)


class TemplatePage(BaseModel):
    row: CatalogueRow  # where it comes from
    template: TemplateChoice  # what the launch page shows of it: stages, forms, gates, deadlines
    may_define: bool


def definition_row(viewer: str, kind: str, def_id: str) -> CatalogueRow:
    """The catalogue's line of one definition in use (NotFoundError when there is none of that id)."""
    catalogue = definitions_catalogue(viewer)
    if (row := next((r for r in catalogue.rows.get(_kind(kind), []) if r.id == def_id), None)) is None:
        raise NotFoundError(f"没有{KINDS[kind]} {def_id}")
    return row


def template_page(viewer: str, template_id: str, now: datetime) -> TemplatePage:
    """A template as the people who design projects read it: what the launch page would offer."""
    row = definition_row(viewer, "templates", template_id)
    template = next(t for t in list_templates() if t.id == template_id)
    return TemplatePage(row=row, template=template_choice(template, now), may_define=why_not_define(viewer) is None)


def _source_file(kind: str, def_id: str) -> Path:
    """The file the definition in use for `def_id` was loaded from: the agency's, else swflow's."""
    from swflow.config import escalation, scorecards, templates
    from swflow.forms_spec import instrument, spec

    if (path := _agency_files(kind).get(def_id)) is not None:
        return path
    shipped = {
        "templates": Path(templates.__file__).parent / "templates",
        "forms": Path(spec.__file__).parent / "forms",
        "instruments": Path(instrument.__file__).parent / "instruments",
        "scorecards": Path(scorecards.__file__).parent / "scorecards",
        "escalation": Path(escalation.__file__).parent / "escalation",
    }[kind]
    for path in sorted(shipped.glob("*.yaml")):
        if _LOADERS[kind](path).id == def_id:
            return path
    raise NotFoundError(f"没有{KINDS[kind]} {def_id}")


def definition_text(viewer: str, kind: str, def_id: str) -> str:
    """The YAML of the definition in use for `def_id`, comments kept (what the editor opens)."""
    _refuse(why_not_view_definitions(viewer))
    if not any(item.id == def_id for item in _LISTS[_kind(kind)]()):
        raise NotFoundError(f"没有{KINDS[kind]} {def_id}")
    return _source_file(kind, def_id).read_text(encoding="utf-8")


def draft_copy(viewer: str, kind: str, source_id: str, new_id: str) -> str:
    """`templates new` without writing anything: the source's text under `new_id` at version 1 (or under
    its own id at the next version), for the editor; saving it is `save_definition`."""
    _refuse(why_not_define(viewer))
    text = definition_text(viewer, kind, source_id)
    target = new_id.strip() or source_id
    if target == "new":
        raise FormError("new_id：new 是保留字，请换一个 id", [("new_id", "new 是保留字")])
    if not re.fullmatch(ID_RULE, target) or len(target) > 60:
        raise FormError(
            f"new_id：{target[:60]} 不是有效的 id（小写字母开头，只含小写字母、数字和 -，至多 60 个字符）",
            [("new_id", "小写字母开头，只含小写字母、数字和 -")],
        )
    items = {item.id: item for item in _LISTS[kind]()}
    if target != source_id and target in items:
        raise FormError(f"new_id：已有{KINDS[kind]} {target}：请换一个 id", [("new_id", "已有同 id 的定义")])
    version = 1 if target != source_id else items[source_id].version + 1
    text = re.sub(r"(?m)^id:.*$", f"id: {target}", text, count=1)
    return re.sub(r"(?m)^version:.*$", f"version: {version}", text, count=1)


def _where(line: str, path: Path) -> tuple[str, str]:
    """`/tmp/x.yaml: stages.0.forms: rule` → ("stages.0.forms", "rule"); a line without a place → ("", line)."""
    line = line.replace(f"{path}: ", "", 1).replace(str(path), "本定义")
    where, sep, rule = line.partition(": ")
    if sep and re.fullmatch(r"[\w.\-\[\]]+", where):
        return where, rule
    return "", line


def check_definition(kind: str, text: str) -> Checked:
    """Every problem of `text` as a definition of `kind`, as `swflow <kind> validate` finds them (size,
    nesting, YAML, the model's rules; a template's forms, policies and surveys), each at its place."""
    _kind(kind)
    checked = Checked(kind=kind)
    if len(text) > MOST_CHARS:
        checked.problems = [("", f"定义太长：{len(text)} 个字符，至多 {MOST_CHARS}")]
        return checked
    try:
        parse_input_text(text, "定义", as_json=False)
    except FormError as exc:
        checked.problems = [("", str(exc).removeprefix("定义：").removeprefix("定义: "))]
        return checked
    with tempfile.TemporaryDirectory(prefix="swflow-definition-") as folder:
        path = Path(folder) / "definition.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            item = _LOADERS[kind](path)
            if kind == "templates":
                check_template_forms(item, str(path))
        except DefinitionError as exc:
            checked.problems = [_where(line, path) for line in str(exc).splitlines() if line.strip()]
            return checked
    if item.id == "new":  # the address of the editor of a new definition: one so named could not be opened
        checked.problems = [("id", "new 是保留字，请换一个 id")]
        return checked
    checked.id, checked.version, checked.title = item.id, item.version, getattr(item, "title", item.id)
    return checked


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _whole_catalogue() -> list[tuple[str, str]]:
    """What no longer holds across the catalogue once a file changed: every kind loads, and every
    template still finds its forms, policies, scorecards and surveys."""
    problems: list[tuple[str, str]] = []
    for kind, listing in _LISTS.items():
        try:
            listing()
        except DefinitionError as exc:
            problems += [("", f"{KINDS[kind]}：{line}") for line in str(exc).splitlines()]
    if not problems:
        for template in list_templates():
            try:
                check_template_forms(template, f"模板 {template.id}")
            except DefinitionError as exc:
                problems += [("", line) for line in str(exc).splitlines()]
    return problems


def save_definition(viewer: str, kind: str, text: str, now: datetime) -> SavedDefinition:
    """Check `text`, then write it into the agency's folder as `<id>.yaml` (or over the agency's file of
    that id): one version holds one text, so changing a saved definition needs a higher version. The
    catalogue is checked with it in place and the file taken back if anything breaks; the event, with
    the text, is written in the same transaction as the file is kept."""
    _refuse(why_not_define(viewer))
    checked = check_definition(kind, text.replace("\r\n", "\n"))
    if not checked.ok:
        raise FormError(f"{KINDS[kind]}有 {len(checked.problems)} 处错误，没有保存", checked.problems)
    assert checked.id is not None and checked.version is not None
    text = text.replace("\r\n", "\n")
    path = _agency_files(kind).get(checked.id) or agency_folder(kind) / f"{checked.id}.yaml"
    before = path.read_text(encoding="utf-8") if path.exists() else None
    if before == text:
        raise RefusedError(f"{KINDS[kind]} {checked.id} v{checked.version} 没有改动：不必保存")
    if before is not None:
        old = _LOADERS[kind](path).version
        if checked.version <= old:
            raise FormError(
                f"version：本机构已保存 {checked.id} v{old}；同一版本只对应一份内容，修改后请把版本改为 {old + 1}",
                [("version", f"须高于 {old}")],
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with unit_of_work() as session:  # the file is kept only if the event commits
            _write(path, text)
            if problems := _whole_catalogue():
                raise FormError(f"保存后机构的定义不再成立（已撤回）：{len(problems)} 处", problems)
            append_event(
                session, DEFINITIONS_STREAM, "definition.saved", actor=viewer, at=now,
                payload={
                    "kind": kind, "id": checked.id, "version": checked.version, "file": path.name,
                    "sha256": _digest(text), "text": text,
                    "before": None if before is None else {"sha256": _digest(before)},
                },
            )  # fmt: skip
    except BaseException:
        _put_back(path, before)
        raise
    return SavedDefinition(kind=kind, id=checked.id, version=checked.version, file=path.name, added=before is None)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file beside it, then renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _put_back(path: Path, before: str | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        _write(path, before)
