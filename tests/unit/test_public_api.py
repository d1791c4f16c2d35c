"""The public API is what each package's `__all__` says, and every name in it exists."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

PACKAGES = [
    "swflow.config",
    "swflow.forms_spec",
    "swflow.db",
    "swflow.domain",
    "swflow.domain.people",
    "swflow.domain.outbox",
    "swflow.domain.deadlines",
    "swflow.domain.quality",
    "swflow.domain.registry",
    "swflow.domain.projects",
    "swflow.domain.agency",
    "swflow.archive",
    "swflow.notifications",
    "swflow.tasks",
]


@pytest.fixture(autouse=True)
def _prefect_home_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tasks` imports prefect, which would otherwise touch ~/.prefect."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))


def _modules() -> list[str]:
    names = list(PACKAGES)
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations is not None
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(spec.submodule_search_locations) if not m.ispkg]
    return names


def _public(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module.__name__} has no __all__"
    return list(names)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_every_name_in_all(name: str) -> None:
    module = importlib.import_module(name)
    names = _public(module)

    assert names, f"{name}.__all__ is empty"
    assert len(names) == len(set(names)), f"{name}.__all__ repeats a name"
    assert [n for n in names if not hasattr(module, n)] == []


@pytest.mark.parametrize("name", _modules())
def test_module_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert [n for n in _public(module) if not hasattr(module, n)] == []


def test_errors_form_one_tree_with_exit_codes() -> None:
    from swflow import config

    errors = [getattr(config, n) for n in config.__all__ if n.endswith("Error")]
    assert all(issubclass(e, config.SwflowError) for e in errors)
    assert {e.__name__: e.exit_code for e in errors} == {
        "SwflowError": 1,
        "DefinitionError": 2,
        "FormError": 2,
        "NotFoundError": 2,
        "RefusedError": 3,
        "AlreadyDecidedError": 3,
        "ServerNotRunningError": 1,
        "ArchiveNotInitialisedError": 1,
    }
