"""Gate acts on a throw-away SQLite archive: claiming a role group's step and delegating a gate to a
colleague, and the command line's refusals of both (exit 3, the reason on stderr)."""

# ruff: noqa: F811 - the tests' parameters name the fixtures imported from test_gate_acts
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow import domain
from swflow.app.cli.main import main
from swflow.config.errors import RefusedError

from ._support import DIRECTOR, MANAGER, NOW, SECOND_WORKER, SUPERVISOR, WORKER
from .test_gate_acts import (  # noqa: F401  (fixtures)
    CERTIFICATE,
    OTHER_SUPERVISOR,
    _add_person,
    _asked,
    _assessment_gate,
    _decide,
    _events,
    _stage,
    group_gate,
    submit_assessment,
    template_like,
    two_step,
)

# claiming a group step


def test_step_of_the_projects_supervisor_cannot_be_claimed(awaiting_assessment: str) -> None:
    with pytest.raises(RefusedError, match="无需认领"):
        domain.claim_gate(awaiting_assessment, "assessment", SUPERVISOR, NOW)
    assert _events(awaiting_assessment, "gate.claimed") == []


def test_person_outside_the_group_cannot_claim(group_gate: str) -> None:
    with pytest.raises(RefusedError, match="chen.director 不是本阶段的审核人"):
        domain.claim_gate(group_gate, "assessment", DIRECTOR, NOW)
    assert _stage(group_gate)["gate"]["assignee"] is None


def test_gate_with_open_forms_cannot_be_claimed(launch: Callable[..., str], template_like: Callable[..., str]) -> None:
    project_id = launch(template_id=template_like("group-care", _assessment_gate(steps=["supervisors"])))
    domain.open_stage(project_id, "assessment", NOW)

    with pytest.raises(RefusedError, match="还有表单未提交"):
        domain.claim_gate(project_id, "assessment", OTHER_SUPERVISOR, NOW)


def test_after_a_claim_only_the_claimer_may_decide(group_gate: str) -> None:
    assert domain.claim_gate(group_gate, "assessment", OTHER_SUPERVISOR, NOW) == 1

    assert _stage(group_gate)["gate"] == {"step": 1, "assignee": OTHER_SUPERVISOR}
    assert _stage(group_gate)["waiting_on"] == [OTHER_SUPERVISOR]
    [claimed] = _events(group_gate, "gate.claimed")
    assert (claimed["actor"], claimed["payload"]) == (OTHER_SUPERVISOR, {"stage": "assessment", "round": 1, "step": 1})
    with pytest.raises(RefusedError, match="已由 sun.supervisor 认领"):
        domain.claim_gate(group_gate, "assessment", SUPERVISOR, NOW)
    with pytest.raises(RefusedError, match="li.supervisor 不是本阶段的审核人"):
        _decide(group_gate, SUPERVISOR)
    with pytest.raises(RefusedError, match="已认领"):
        domain.claim_gate(group_gate, "assessment", OTHER_SUPERVISOR, NOW)

    assert _decide(group_gate, OTHER_SUPERVISOR).final


def test_claimed_director_step_is_decided_by_the_claimer(two_step: str) -> None:
    _add_person("he.director", ["director"], [CERTIFICATE])
    _decide(two_step, SUPERVISOR)
    assert sorted(_asked(two_step)[1:]) == [DIRECTOR, "he.director"]

    assert domain.claim_gate(two_step, "assessment", "he.director", NOW) == 2

    with pytest.raises(RefusedError, match="已由 he.director 认领"):
        _decide(two_step, DIRECTOR)
    assert _decide(two_step, "he.director").step == 2


# delegating


def test_delegated_gate_is_decided_by_the_delegate_only(awaiting_assessment: str) -> None:
    assert domain.delegate_gate(awaiting_assessment, "assessment", SUPERVISOR, OTHER_SUPERVISOR, NOW) == 1

    [delegated] = _events(awaiting_assessment, "gate.delegated")
    assert delegated["actor"] == SUPERVISOR
    assert (delegated["payload"]["from"], delegated["payload"]["to"]) == (SUPERVISOR, OTHER_SUPERVISOR)
    assert _stage(awaiting_assessment)["waiting_on"] == [OTHER_SUPERVISOR]
    assert _asked(awaiting_assessment) == [SUPERVISOR, OTHER_SUPERVISOR]
    with pytest.raises(RefusedError, match="li.supervisor 不是本阶段的审核人"):
        _decide(awaiting_assessment, SUPERVISOR)

    decided = _decide(awaiting_assessment, OTHER_SUPERVISOR)

    assert decided.final
    [event] = _events(awaiting_assessment, "gate.decided")
    assert (event["actor"], event["payload"]["on_behalf_of"]) == (OTHER_SUPERVISOR, SUPERVISOR)


def test_supervisor_may_delegate_before_the_forms_are_in(project_id: str, sample_forms: dict[str, Any]) -> None:
    domain.open_stage(project_id, "assessment", NOW)
    domain.delegate_gate(project_id, "assessment", SUPERVISOR, OTHER_SUPERVISOR, NOW)
    assert _asked(project_id) == []

    domain.submit_form(project_id, "needs-assessment", WORKER, sample_forms["needs-assessment"], NOW)

    assert _asked(project_id) == [OTHER_SUPERVISOR]


@pytest.mark.parametrize(
    ("by", "to", "reason"),
    [
        (SUPERVISOR, WORKER, "受托人 wang.worker 没有「督导」角色"),
        (SUPERVISOR, "wu.expired", "wu.expired 的资格证书已过期"),
        (SUPERVISOR, "xu.unqualified", "xu.unqualified 没有登记社会工作职业资格证书或学历（§8.1.1）"),
        (SUPERVISOR, "he.retired", "受托人 he.retired 已停用"),
        (SUPERVISOR, SUPERVISOR, "不能委托给自己"),
        (OTHER_SUPERVISOR, "wu.expired", "sun.supervisor 不是本阶段的审核人"),
        (MANAGER, OTHER_SUPERVISOR, "zhou.pm 不是本阶段的审核人"),
    ],
    ids=["no-role", "expired", "unqualified", "inactive", "oneself", "not-the-decider", "manager"],
)
def test_delegation_is_refused(awaiting_assessment: str, by: str, to: str, reason: str) -> None:
    _add_person("wu.expired", ["supervisor"], [{**CERTIFICATE, "valid_until": "2025-06-30"}])
    _add_person("xu.unqualified", ["supervisor"], [])
    _add_person("he.retired", ["supervisor"], [CERTIFICATE], active=False)

    with pytest.raises(RefusedError) as caught:
        domain.delegate_gate(awaiting_assessment, "assessment", by, to, NOW)

    assert reason in str(caught.value)
    assert _events(awaiting_assessment, "gate.delegated") == []
    assert _stage(awaiting_assessment)["gate"]["assignee"] is None


def test_supervisor_who_delegated_cannot_delegate_again(awaiting_assessment: str) -> None:
    domain.delegate_gate(awaiting_assessment, "assessment", SUPERVISOR, OTHER_SUPERVISOR, NOW)

    with pytest.raises(RefusedError, match="li.supervisor 不是本阶段的审核人"):
        domain.delegate_gate(awaiting_assessment, "assessment", SUPERVISOR, "sun.supervisor", NOW)


def test_unclaimed_group_step_cannot_be_delegated(group_gate: str) -> None:
    with pytest.raises(RefusedError, match="须先认领"):
        domain.delegate_gate(group_gate, "assessment", OTHER_SUPERVISOR, SUPERVISOR, NOW)


def test_decided_gate_cannot_be_delegated(awaiting_assessment: str) -> None:
    _decide(awaiting_assessment, SUPERVISOR)

    with pytest.raises(RefusedError, match="already decided"):
        domain.delegate_gate(awaiting_assessment, "assessment", SUPERVISOR, OTHER_SUPERVISOR, NOW)


# the command line (exit 2 bad input, 3 refused; the reason on stderr)


def test_cli_claim_of_a_supervisor_step_exits_3(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claim", awaiting_assessment, "assessment", "--by", SUPERVISOR]) == 3
    assert "无需认领" in capsys.readouterr().err


def test_cli_claim_by_someone_outside_the_group_exits_3(group_gate: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claim", group_gate, "assessment", "--by", SECOND_WORKER]) == 3
    assert "zhao.worker 不是本阶段的审核人" in capsys.readouterr().err


def test_cli_delegate_to_a_worker_exits_3(awaiting_assessment: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["delegate", awaiting_assessment, "assessment", "--by", SUPERVISOR, "--to", WORKER])
    assert code == 3
    assert "受托人 wang.worker 没有「督导」角色" in capsys.readouterr().err


def test_cli_delegate_by_someone_not_the_decider_exits_3(
    awaiting_assessment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["delegate", awaiting_assessment, "assessment", "--by", OTHER_SUPERVISOR, "--to", SUPERVISOR])
    assert code == 3
    assert "sun.supervisor 不是本阶段的审核人" in capsys.readouterr().err
