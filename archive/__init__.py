"""The record itself: checking the hash chains, copies of Prefect's run history, the dossier
(export and import), reports and retention (§8.3.4). It reads every room; no room reads it."""

from .export import FORMAT, export_project, import_project, project_data
from .history import copy_run_history, note_run_state, runs_to_finish, stage_summary_markdown

__all__ = [
    "FORMAT",
    "copy_run_history",
    "export_project",
    "import_project",
    "note_run_state",
    "project_data",
    "runs_to_finish",
    "stage_summary_markdown",
]
