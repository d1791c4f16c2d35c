"""A project's page (team, stages planned and actual, the gate and who it waits on, decisions with
their comments, messages sent, indicators) and its dossier rendered for the signed-in viewer —
masked unless they may see sensitive fields, and recorded as the CLI export is."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from swflow.archive.dossier import MESSAGE_STATUS, MESSAGE_TEMPLATES, OUTCOMES, PROJECT_STATUS, STAGE_STATUS
from swflow.archive.export import project_data, record_export
from swflow.archive.reports import indicator_report
from swflow.config.clock import system_clock
from swflow.config.errors import NotFoundError, RefusedError
from swflow.domain.projects.project_view import project_view, why_not_see

from .door import act, require
from .pages import render, sentence_page

__all__ = ["ROUTES"]

LABELS = {
    "stage": STAGE_STATUS,
    "outcome": OUTCOMES,
    "project": PROJECT_STATUS,
    "message": MESSAGE_TEMPLATES,
    "message_status": MESSAGE_STATUS,
}


LAUNCHED = {  # after the launch page: what became of the run
    "run": "项目已启动，第一阶段随即开放。",
    "waiting": "项目已启动并记入档案；编排服务暂时不可用，`swflow serve` 接手后会为它创建流程运行，第一阶段随即开放。",
}


def _page_data(project_id: str, viewer: str, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    view = project_view(project_id, viewer, now)  # refuses first, so no report is read for a stranger
    return view, indicator_report(project_id)


def _dossier(project_id: str, viewer: str, now: datetime) -> str:
    """The dossier page as `swflow export --as viewer` writes it, and its record (archive.exported)."""
    from swflow.archive.dossier import render_dossier

    if (refused := why_not_see(project_id, viewer)) is not None:
        raise RefusedError(refused)
    data = project_data(project_id, viewer)
    data["exported_at"] = now.isoformat()
    page = render_dossier(data)
    record_export(project_id, data, viewer, now)  # no copy leaves without its record
    return page


def _dossier_zip(project_id: str, viewer: str, now: datetime) -> bytes:
    """The whole dossier as `swflow archive export --as viewer` writes it (data.json signed, index.html,
    tables.xlsx), zipped for a download; recorded as the CLI's export is."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    from swflow.archive.export import DOSSIER_FILES, export_project

    if (refused := why_not_see(project_id, viewer)) is not None:
        raise RefusedError(refused)
    with tempfile.TemporaryDirectory(prefix="swflow-dossier-") as folder:
        out = Path(folder) / "dossier"
        paths = export_project(project_id, out, viewer, now)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for kind in DOSSIER_FILES:
                archive.write(paths[kind], f"{project_id}/{paths[kind].name}")
        return buffer.getvalue()


def _not_found(request: Request, project_id: str) -> Response:
    return sentence_page(request, "找不到项目", f"没有项目 {project_id}。", status_code=404)


async def project_page(request: Request) -> Response:
    me = await require(request)
    project_id = request.path_params["project_id"]
    try:
        view, indicators = await act(me, _page_data, project_id, me.person_id, system_clock())
    except NotFoundError:
        return _not_found(request, project_id)
    launched = request.query_params.get("launched")
    notice = LAUNCHED.get(launched or "", "")
    return render(request, "project.html", me, p=view, indicators=indicators, labels=LABELS, notice=notice)


def _file_headers(project_id: str, ending: str, disposition: str) -> dict[str, str]:
    """A dossier file's headers: never cached, named by the project (safe characters only)."""
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", project_id) + f"-dossier.{ending}"
    return {"Cache-Control": "no-store", "Content-Disposition": f'{disposition}; filename="{filename}"'}


async def dossier(request: Request) -> Response:
    me = await require(request)
    project_id = request.path_params["project_id"]
    try:
        page = await act(me, _dossier, project_id, me.person_id, system_clock())
    except NotFoundError:
        return _not_found(request, project_id)
    return HTMLResponse(page, headers=_file_headers(project_id, "html", "inline"))


async def dossier_zip(request: Request) -> Response:
    me = await require(request)
    project_id = request.path_params["project_id"]
    try:
        body = await act(me, _dossier_zip, project_id, me.person_id, system_clock())
    except NotFoundError:
        return _not_found(request, project_id)
    return Response(body, media_type="application/zip", headers=_file_headers(project_id, "zip", "attachment"))


ROUTES = [
    Route("/projects/{project_id}", project_page, methods=["GET"]),
    Route("/projects/{project_id}/dossier", dossier, methods=["GET"]),
    Route("/projects/{project_id}/dossier.zip", dossier_zip, methods=["GET"]),
]
