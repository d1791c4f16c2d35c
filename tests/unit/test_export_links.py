"""A dossier never carries a live one-tap link: it would decide as the supervisor until it expires."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swflow import domain
from swflow.archive.export import project_data
from swflow.config.settings import get_settings

from ._support import NOW, SUPERVISOR, WORKER


def test_the_exported_approval_request_has_its_decide_link_blanked(
    launch: Callable[..., str], sample_forms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive_home: Path
) -> None:
    monkeypatch.setenv("SWFLOW_WEB_SECRET", "export-test-secret-" + "z" * 24)
    get_settings.cache_clear()
    project = launch()
    domain.open_stage(project, "assessment", NOW)
    domain.submit_form(project, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)
    queued = [m for m in domain.due_messages(NOW, limit=100) if m.template == "approval_requested"]
    assert queued and "/l/" in queued[0].context["decide_link"]  # the request really carries one

    exported = project_data(project, SUPERVISOR)
    requests = [m for m in exported["outbox"] if m["template"] == "approval_requested"]
    assert requests and all(m["context"]["decide_link"] == "…" for m in requests)
    assert "/l/" not in json.dumps(exported, ensure_ascii=False)
