"""Issue 17, part 7: the whole dossier (data.json signed, index.html, tables.xlsx) downloaded from the
project page as the signed-in viewer — masked for one outside the team — each download recorded."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow import domain

from ..unit._support import NOW, SUPERVISOR
from .conftest import DESKTOP, sign_in


def _exports(project: str) -> list[dict[str, Any]]:
    return [e for e in domain.project_events(project) if e["kind"] == "archive.exported"]


@pytest.mark.browser
def test_the_project_page_downloads_the_whole_dossier_as_the_viewer(
    web: str, awaiting_assessment: str, give_password: Callable[[str], str], browser: Any, tmp_path: Path
) -> None:
    project = awaiting_assessment
    other = {"id": "wu.pm", "name": "吴主管", "roles": ["manager"], "notify": ["json://127.0.0.1:9/wu.pm"]}
    domain.import_people([domain.PersonRecord.model_validate(other)], actor="test", now=NOW)
    for person, masked in ((SUPERVISOR, False), ("wu.pm", True), ("qian.worker", True)):
        give_password(person)
        page = browser.new_context(viewport=DESKTOP, accept_downloads=True).new_page()
        sign_in(page, web, person)
        page.goto(f"{web}/projects/{project}")
        if person == "qian.worker":  # neither on the team nor a manager or director: refused, nothing recorded
            assert "不能查看这个项目" in page.inner_text("body")
            before = len(_exports(project))
            answer = page.request.get(f"{web}/projects/{project}/dossier.zip")
            assert answer.status == 403 and "不能查看这个项目" in answer.text()
            assert len(_exports(project)) == before
            continue
        before = len(_exports(project))
        with page.expect_download() as waiting:
            page.click("a.download")
        page.wait_for_function("document.querySelector('.busy-note').textContent.includes('档案已生成')")
        path = tmp_path / f"{person}.zip"
        waiting.value.save_as(path)
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            names = sorted(archive.namelist())
            data = json.loads(archive.read(f"{project}/data.json"))
        assert names == [f"{project}/data.json", f"{project}/index.html", f"{project}/tables.xlsx"]
        assert data["viewer"] == person and data["masked"] is masked and data["signature"]
        exports = _exports(project)
        assert len(exports) == before + 1 and exports[-1]["actor"] == person
