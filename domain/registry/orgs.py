"""Organisations and units of the community (§8.3.2), and the resources linked from them to the
needs of a project (§6.2.2) with the result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.db.engine import read_session, unit_of_work
from swflow.db.registry_tables import Organisation, ResourceLink
from swflow.domain.registry.common import get_project, iso, on_team, organisation, record, staff
from swflow.domain.registry.rules import salted_digest
from swflow.domain.registry.specs import checked, record_spec

__all__ = [
    "LINK_OUTCOMES",
    "add_organisation",
    "list_organisations",
    "link_resource",
    "record_link_result",
    "list_links",
]

LINK_OUTCOMES = {"achieved": "已满足需求", "partly": "部分满足", "not_achieved": "未能满足"}


def add_organisation(data: dict[str, Any], by: str, now: datetime) -> int:
    clean = checked("organisation", data)
    with unit_of_work() as session:
        staff(session, by)
        row = Organisation(data=clean, kind=clean["kind"], registered_by=by, registered_at=now)
        session.add(row)
        session.flush()
        record(
            session,
            "organisation",
            row.id,
            "organisation.registered",
            by,
            now,
            org_kind=row.kind,
            data_sha256=salted_digest("", clean),
        )
        return row.id


def _kind_title(kind: str) -> str:
    field = next(f for f in record_spec("organisation").fields if f.name == "kind")
    return (field.choices or {}).get(kind, kind)


def list_organisations(kind: str | None = None) -> list[dict[str, Any]]:
    """Organisations (none of their fields is sensitive), with how many resource links each made."""
    with read_session() as session:
        counts = dict(
            session.execute(select(ResourceLink.organisation_id, func.count()).group_by(ResourceLink.organisation_id))
            .tuples()
            .all()
        )
        query = select(Organisation).order_by(Organisation.id)
        if kind:
            query = query.where(Organisation.kind == kind)
        return [
            {"id": o.id, **o.data, "kind_title": _kind_title(o.kind), "links": counts.get(o.id, 0)}
            for o in session.execute(query).scalars()
        ]


def link_resource(organisation_id: int | None, project_id: str, data: dict[str, Any], by: str, now: datetime) -> int:
    """Record which resource (from which organisation, if it is registered) meets which need of
    which project, by which §6.2.2 method. The linker must be on the project's team."""
    clean = checked("resource-link", data)
    with unit_of_work() as session:
        person = staff(session, by)
        project = get_project(session, project_id)
        assert project is not None
        if not on_team(session, project, person):
            raise RefusedError(f"{by} 不是项目 {project.id} 的团队成员，不能为其记录资源链接")
        if organisation_id is not None:
            organisation(session, organisation_id)
        row = ResourceLink(
            project_id=project.id,
            organisation_id=organisation_id,
            data=clean,
            status="open",
            linked_by=by,
            linked_at=now,
        )
        session.add(row)
        session.flush()
        facts = {"link": row.id, "organisation": organisation_id, "method": clean["method"]}
        record(session, "resource_link", row.id, "resource.linked", by, now, project_id=project.id, **facts)
        return row.id


def record_link_result(
    link_id: int, outcome: Literal["achieved", "partly", "not_achieved"], result: str, by: str, now: datetime
) -> None:
    if outcome not in LINK_OUTCOMES:
        raise FormError(f"--outcome：只能是 {'、'.join(LINK_OUTCOMES)}", [("--outcome", "选项")])
    if not result.strip():
        raise FormError("--result：须写明链接的结果", [("--result", "必填")])
    with unit_of_work() as session:
        row = session.get(ResourceLink, link_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"没有资源链接 #{link_id}")
        project = get_project(session, row.project_id)
        assert project is not None
        if not on_team(session, project, staff(session, by)):
            raise RefusedError(f"{by} 不是项目 {project.id} 的团队成员，不能记录资源链接的结果")
        if row.status == "done":
            raise RefusedError(f"资源链接 #{link_id} 已记录结果")
        row.status, row.outcome, row.result, row.result_by, row.result_at = "done", outcome, result, by, now
        record(session, "resource_link", row.id, "resource.result", by, now, project_id=project.id, outcome=outcome)


def list_links(project_id: str | None = None, organisation_id: int | None = None) -> list[dict[str, Any]]:
    with read_session() as session:
        query = select(ResourceLink).order_by(ResourceLink.id)
        if project_id:
            query = query.where(ResourceLink.project_id == project_id)
        if organisation_id:
            query = query.where(ResourceLink.organisation_id == organisation_id)
        return [
            {
                "id": r.id,
                "project": r.project_id,
                "organisation": r.organisation_id,
                **r.data,
                "status": r.status,
                "outcome": r.outcome,
                "result": r.result,
                "linked_by": r.linked_by,
                "linked_at": iso(r.linked_at),
                "result_at": iso(r.result_at),
            }
            for r in session.execute(query).scalars()
        ]
