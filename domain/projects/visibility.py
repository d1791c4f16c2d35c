"""Who may open a project's page and its dossier: a pure rule, no SQLAlchemy.

Seeing a project is wider than seeing its sensitive fields (`swflow.domain.people.visibility`:
the team and directors). The page is also open to whoever decides or decided one of its gates, and
to the agency's project managers (the manager role), who oversee service delivery across projects;
for them sensitive fields stay masked (the dossier's rule). A project's evaluator (评估方) is one of
its members and opens the page to do their part; for them too sensitive fields stay masked."""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["ROLES_SEEING_EVERY_PROJECT", "why_not_see_project"]

ROLES_SEEING_EVERY_PROJECT = frozenset({"director", "manager"})


def why_not_see_project(
    project_id: str,
    viewer: str,
    viewer_roles: Collection[str],
    viewer_active: bool,
    team: Collection[str],
    deciders: Collection[str],
) -> str | None:
    """The reason `viewer` may not see the project, or None. `team` is its members (manager,
    supervisor, workers, evaluator); `deciders` is who decided one of its gates or is waited on at one now."""
    if not viewer_active:
        return f"{viewer} 已停用，不能查看项目 {project_id}"
    if viewer in team or viewer in deciders or ROLES_SEEING_EVERY_PROJECT.intersection(viewer_roles):
        return None
    return (
        f"{viewer} 不是项目 {project_id} 的团队成员或审核人，不能查看这个项目"
        "（项目页仅限项目团队、审核人、项目主管和机构负责人）"
    )
