"""`people import` sends only to the channels swflow knows, never to a link-local or metadata host or
a file, and names the person and the address that is wrong; nothing of the file is imported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from swflow.app.cli.main import main
from swflow.domain.people.records import NOTIFY_SCHEMES, address_problem

PERSON = {"id": "sun.worker", "name": "孙社工", "roles": ["worker"]}


def _import(tmp_path: Path, *notify: str) -> int:
    people = {"people": [{"id": "ok.worker", "name": "甲", "roles": ["worker"]}, {**PERSON, "notify": list(notify)}]}
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump(people, allow_unicode=True), encoding="utf-8")
    return main(["people", "import", str(path)])


def _ids() -> list[str]:
    from swflow.domain.people.records import list_people

    return [p["id"] for p in list_people()]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "json://169.254.169.254/latest",
        "jsons://[fe80::1]/hook",
        "json://[::ffff:169.254.169.254]/x",
        "json://2852039166/x",
        "form://metadata.google.internal/computeMetadata/v1/",
        "file:///etc/passwd",
        "not a url",
        "{receiver}/sun.worker",
        "json://[::1",
        "gopher://example.org/",
    ],
)
def test_an_address_swflow_must_not_send_to_is_refused_naming_person_and_index(
    archive_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    assert _import(tmp_path, "json://127.0.0.1:9/sun", url) == 2

    err = capsys.readouterr().err
    assert "第 2 位人员 sun.worker 的第 2 个通知地址（notify[1]）" in err
    assert "Value error" not in err and "Traceback" not in err
    assert _ids() == []  # the good person in the same file is not imported either


@pytest.mark.parametrize(
    "url",
    [
        "mailto://smtp.example.org:587?from=swflow@example.org&to=sun@example.org",
        "mailtos://user:pass@smtp.example.org",
        "wecombot://KEY123",
        "dingtalk://SECRET@TOKEN/13800000000",
        "feishu://SECRET@HOOK",
        "lark://HOOK",
        "json://127.0.0.1:9/sun",
        "jsons://hooks.example.org/sun",
        "form://10.0.0.5/hook",
        "forms://hooks.example.org/hook",
    ],
)
def test_the_channels_swflow_sends_to_are_imported(archive_home: Path, tmp_path: Path, url: str) -> None:
    assert _import(tmp_path, url) == 0
    assert "sun.worker" in _ids()


def test_the_schemes_are_those_of_the_readme_and_the_robots() -> None:
    from swflow.notifications.robots import ROBOT_SCHEMES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Notification channels**", 1)[1].split("\n\n", 1)[0]
    assert ROBOT_SCHEMES <= NOTIFY_SCHEMES
    assert all(f"`{scheme}://" in section for scheme in NOTIFY_SCHEMES - {"jsons", "forms"})


def test_a_robot_address_needs_its_token() -> None:
    assert address_problem("wecombot://") is not None
    assert address_problem("wecombot://?key=abc") is None


def test_a_person_file_with_a_bad_field_names_the_person(
    archive_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump({"people": [{**PERSON, "roles": ["boss"]}]}), encoding="utf-8")

    assert main(["people", "import", str(path)]) == 2

    err = capsys.readouterr().err
    assert "第 1 位人员 sun.worker（roles.0）：必须是以下之一" in err
    assert "Input should be" not in err


def test_the_sample_people_file_with_its_placeholder_is_refused(
    archive_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = Path(__file__).resolve().parents[2] / "app" / "samples" / "people.yaml"
    assert main(["people", "import", str(sample)]) == 2
    assert "占位符" in capsys.readouterr().err
