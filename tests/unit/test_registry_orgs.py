"""Organisations and units of the community, and §6.2.2 resource links with their results."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain import registry

from ._registry import OUTSIDER, all_streams_intact
from ._support import NOW, WORKER

pytestmark = pytest.mark.usefixtures("people")

PROPERTY = {
    "name": "幸福物业服务有限公司",
    "kind": "property_company",
    "community": "幸福社区",
    "contact_name": "赵经理",
    "contact_phone": "010-12345678",
    "offers": "活动场地（会所二楼）、电梯维修优先",
}


def test_an_organisation_is_registered_with_what_it_offers() -> None:
    org = registry.add_organisation(PROPERTY, WORKER, NOW)
    assert registry.list_organisations() == [{"id": org, **PROPERTY, "kind_title": "物业服务企业", "links": 0}]
    assert registry.list_organisations("owners_committee") == []


def test_a_bad_organisation_names_its_fields() -> None:
    with pytest.raises(FormError) as caught:
        registry.add_organisation({"name": "x", "kind": "club"}, WORKER, NOW)
    assert {w.split("（")[1].rstrip("）") for w, _ in caught.value.problems} == {"name", "kind"}


def test_a_resource_is_linked_to_a_need_of_a_project_and_its_result_recorded(launch: Callable[..., str]) -> None:
    project = launch()
    org = registry.add_organisation(PROPERTY, WORKER, NOW)
    link = registry.link_resource(
        org,
        project,
        {"need": "独居老人集中活动缺少场地", "resource": "物业会所二楼每周二下午", "method": "resource_integration"},
        WORKER,
        NOW,
    )
    with pytest.raises(RefusedError, match="团队成员"):
        registry.record_link_result(link, "achieved", "已使用", OUTSIDER, NOW)

    registry.record_link_result(link, "achieved", "3 月起每周二在会所开展小组活动", WORKER, NOW)

    [row] = registry.list_links(project_id=project)
    assert (row["organisation"], row["method"], row["outcome"]) == (org, "resource_integration", "achieved")
    assert registry.list_organisations()[0]["links"] == 1
    with pytest.raises(RefusedError, match="已记录结果"):
        registry.record_link_result(link, "partly", "再记一次", WORKER, NOW)
    assert all(all_streams_intact().values())


def test_only_the_team_links_resources_for_its_project(launch: Callable[..., str]) -> None:
    project = launch()
    data = {"need": "场地", "resource": "会所", "method": "resource_sharing"}
    with pytest.raises(RefusedError, match="团队成员"):
        registry.link_resource(None, project, data, OUTSIDER, NOW)
    with pytest.raises(NotFoundError, match="#42"):
        registry.link_resource(42, project, data, WORKER, NOW)
