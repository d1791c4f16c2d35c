"""Sample people and form submissions (fictional) for the demo and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["SAMPLES", "form_samples", "people_yaml"]

SAMPLES = Path(__file__).parent


def form_samples() -> dict[str, Any]:
    """Sample data per form id (`<id>-revised` for a second version), from samples/forms/*.yaml."""
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((SAMPLES / "forms").glob("*.yaml"))
    }


def people_yaml(receiver_url: str) -> str:
    """The sample people file with every notification address pointing at `receiver_url`."""
    return (SAMPLES / "people.yaml").read_text(encoding="utf-8").replace("{receiver}", receiver_url)
