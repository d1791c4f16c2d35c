"""People served: registration, the duplicate caught and offered as a merge, consent, who sees what,
the export on request, and forgetting that leaves every hash chain valid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swflow.config.errors import FormError, NotFoundError, RefusedError
from swflow.domain import registry
from swflow.forms_spec import MASK

from ._registry import (
    OTHER_SUPERVISOR,
    OUTSIDER,
    all_streams_intact,
    event_payloads,
    execution_project,
    person,
    record_activity,
)
from ._support import DIRECTOR, NOW, SECOND_WORKER, SUPERVISOR, WORKER

pytestmark = pytest.mark.usefixtures("people")


def _register(by: str = WORKER, **changes: Any) -> dict[str, Any]:
    fields = {"name": "王 秀英", "gender": "female", "birth_year": 1944, "phone": "+86 138-0013-8000"}
    request = registry.Registration.model_validate({"data": fields, **changes})
    return registry.register_person(request, by, NOW)


def test_registering_the_same_person_twice_is_caught_and_offered_as_a_merge() -> None:
    first = person(address="幸福路 1 号")

    with pytest.raises(RefusedError) as caught:
        _register()

    message = str(caught.value)
    assert f"#{first}" in message and f"--merge-into {first}" in message and "--not-duplicate" in message
    with pytest.raises(RefusedError) as hidden:  # someone outside the circle learns no id
        _register(by=OUTSIDER)
    assert f"#{first}" not in str(hidden.value) and "知悉范围" in str(hidden.value)
    with pytest.raises(RefusedError, match="知悉范围"):  # nor can they merge their way in
        _register(by=OUTSIDER, merge_into=first)
    assert registry.find_people(DIRECTOR, name="秀英") == [
        {"id": first, "name": "王秀英", "gender": "female", "birth_year": 1944, "community": None}
    ]  # nothing was written


def test_taking_the_offered_merge_fills_gaps_without_overwriting() -> None:
    first = person(address="幸福路 1 号")

    merged = _register(
        merge_into=first,
        data={
            "name": "王秀英",
            "gender": "female",
            "birth_year": 1944,
            "phone": "13800138000",
            "address": "另一个地址",
            "tags": ["living_alone"],
        },
    )

    assert merged["id"] == first and merged["merged"] is True
    assert merged["fields_added"] == ["tags"] and merged["fields_differing"] == ["address"]
    card = registry.show_person(first, WORKER, NOW)
    assert card["data"]["address"] == "幸福路 1 号" and card["data"]["tags"] == ["living_alone"]


def test_a_merge_into_someone_else_is_refused() -> None:
    person()
    other = person(name="李桂兰", phone="13700000000")
    with pytest.raises(RefusedError, match="不能合并"):
        _register(merge_into=other)


def test_twins_sharing_a_phone_can_be_registered_apart() -> None:
    first = person()
    second = _register(not_duplicate=True)
    assert second["id"] != first and second["distinct_from"] == [first]


def test_two_records_of_one_person_merge_and_the_old_id_leads_to_the_kept_one(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    keep = person(project=project)
    other = person(phone="13800000001", project=project, consents=("referral",), tags=["disability"])
    record_activity(project, "a1", sample_forms, served=[other])

    result = registry.merge_people(keep, other, WORKER, NOW)

    assert result["moved"] == {"consents": 1, "projects": 0, "referrals": 0}
    card = registry.show_person(other, SUPERVISOR, NOW)
    assert card["id"] == keep and card["asked_for"] == other
    assert card["data"]["tags"] == ["disability"] and [c["purpose"] for c in card["consents"]] == ["referral"]
    assert [a["activity"] for a in card["activities"]] == ["a1"]  # the record named the old id
    with pytest.raises(RefusedError, match="已合并"):
        registry.merge_people(keep, other, WORKER, NOW)


def test_an_outsider_sees_the_person_masked(launch: Callable[..., str], sample_forms: dict[str, Any]) -> None:
    project = execution_project(launch, sample_forms)
    served = person(project=project, address="幸福路 1 号", tags=["living_alone"], notes="演示敏感信息：独居，行动不便")

    for viewer in (OUTSIDER, OTHER_SUPERVISOR):
        card = registry.show_person(served, viewer, NOW)
        assert card["masked"] is True
        assert card["data"] == {
            "name": MASK,
            "gender": "female",
            "birth_year": 1944,
            "phone": MASK,
            "address": MASK,
            "tags": MASK,
            "notes": MASK,
        }
        assert card["projects"] == card["activities"] == card["referrals"] == MASK
    for viewer in (WORKER, SECOND_WORKER, SUPERVISOR, DIRECTOR):  # the team, its supervisor, the director
        assert registry.show_person(served, viewer, NOW)["data"]["name"] == "王秀英"
    assert registry.find_people(OUTSIDER, name="秀英") == []
    assert [p["id"] for p in registry.find_people(SECOND_WORKER, project=project)] == [served]


def test_naming_an_id_is_not_enough_to_open_a_file(launch: Callable[..., str]) -> None:
    stranger = person(by=DIRECTOR)
    project = launch()
    with pytest.raises(RefusedError, match="知悉范围"):
        registry.join_project(stranger, project, WORKER, NOW)
    with pytest.raises(RefusedError, match="知悉范围"):
        registry.export_person(stranger, WORKER, NOW)
    # nor is registering the same identity and taking a merge: someone who sees the file decides
    request = registry.Registration(
        data={"name": "王秀英", "gender": "female", "birth_year": 1944, "phone": "13800138000"},
        project=project,
        merge_into=stranger,
    )
    with pytest.raises(RefusedError, match="知悉范围"):
        registry.register_person(request, WORKER, NOW)
    registry.join_project(stranger, project, DIRECTOR, NOW)  # the director enrols them in the project
    assert registry.show_person(stranger, SECOND_WORKER, NOW)["masked"] is False


def test_an_activity_record_naming_someone_lists_the_project_but_opens_no_file(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    stranger = person(by=DIRECTOR)
    record_activity(project, "a1", sample_forms, served=[stranger])

    assert registry.show_person(stranger, WORKER, NOW)["masked"] is True
    card = registry.show_person(stranger, DIRECTOR, NOW)
    assert [(p["id"], p["enrolled"]) for p in card["projects"]] == [(project, False)]
    assert [a["activity"] for a in card["activities"]] == ["a1"]


def test_views_are_recorded_without_personal_data() -> None:
    served = person(address="幸福路 1 号")
    registry.show_person(served, OUTSIDER, NOW)
    payloads = event_payloads()
    assert '"masked": true' in payloads
    for secret in ("王秀英", "13800138000", "幸福路"):
        assert secret not in payloads


def test_consent_is_recorded_and_withdrawn() -> None:
    served = person(consents=("registration",))
    consent = registry.record_consent(
        served, registry.ConsentGiven(purpose="referral", given_on=NOW.date()), WORKER, NOW
    )
    assert registry.withdraw_consent(served, "referral", NOW.date(), WORKER, NOW) == [consent]
    consents = registry.show_person(served, WORKER, NOW)["consents"]
    assert [(c["purpose"], c["withdrawn_on"]) for c in consents] == [("registration", None), ("referral", "2026-03-02")]
    with pytest.raises(RefusedError, match="没有仍然有效"):
        registry.withdraw_consent(served, "referral", NOW.date(), WORKER, NOW)
    with pytest.raises(FormError, match="没有同意用途"):
        registry.record_consent(served, registry.ConsentGiven(purpose="marketing", given_on=NOW.date()), WORKER, NOW)


def test_a_birth_year_after_this_year_names_the_field() -> None:
    with pytest.raises(FormError) as caught:
        person(birth_year=2030)
    assert caught.value.problems == [("出生年份（birth_year）", "不能晚于 2026")]


def test_a_persons_data_is_exported_on_request(launch: Callable[..., str], sample_forms: dict[str, Any]) -> None:
    project = execution_project(launch, sample_forms)
    served = person(project=project, consents=("referral",), address="幸福路 1 号")
    record_activity(project, "a2", sample_forms, served=[served])
    registry.open_referral(
        served,
        {"service": "心理咨询", "agency": "区心理健康中心", "urgency": "normal", "reason": "演示敏感信息：情绪低落"},
        WORKER,
        NOW,
    )

    data = registry.export_person(served, SUPERVISOR, NOW)

    assert data["data"]["address"] == "幸福路 1 号" and data["chain_intact"] is True
    assert [a["activity"] for a in data["activities"]] == ["a2"]
    assert data["referrals"][0]["data"]["reason"] == "演示敏感信息：情绪低落"
    assert [e["kind"] for e in data["events"]][:3] == ["person.registered", "consent.given", "person.joined"]
    assert data["staff"][WORKER] == "王社工"


def test_forgetting_pseudonymises_where_records_must_be_kept_and_every_chain_stays_valid(
    launch: Callable[..., str], sample_forms: dict[str, Any]
) -> None:
    project = execution_project(launch, sample_forms)
    served = person(project=project, consents=("referral",), address="幸福路 1 号", tags=["living_alone"])
    record_activity(project, "a1", sample_forms, served=[served])
    referral = registry.open_referral(
        served,
        {"service": "居家养老上门服务", "agency": "颐养服务中心", "urgency": "normal", "reason": "独居需要上门照料"},
        WORKER,
        NOW,
    )
    with pytest.raises(RefusedError, match="未结案的转介"):
        registry.forget_person(served, WORKER, NOW)
    registry.close_referral(referral["id"], WORKER, "withdrawn", "本人要求删除信息", NOW)

    result = registry.forget_person(served, WORKER, NOW)

    assert result["mode"] == "pseudonymised"
    assert result["kept"]["activities"] == 1 and result["kept"]["referrals"] == 1
    card = registry.show_person(served, DIRECTOR, NOW)
    assert card["status"] == "forgotten"
    assert card["data"] == {"name": "（已匿名化）", "gender": "female", "birth_year": 1944}
    assert all(all_streams_intact().values())  # person, referral and project streams alike
    assert registry.find_people(DIRECTOR, name="秀英") == []
    assert person(address="新地址") != served  # registering again is not a duplicate of the forgotten record


def test_forgetting_someone_with_no_records_to_keep_erases_them() -> None:
    served = person(tags=["disability"])
    result = registry.forget_person(served, WORKER, NOW)
    assert result["mode"] == "erased" and result["fields_kept"] == []
    assert registry.show_person(served, WORKER, NOW)["data"] == {"name": "（已匿名化）"}
    with pytest.raises(RefusedError, match="已匿名化"):
        registry.forget_person(served, WORKER, NOW)


def test_an_unknown_person_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="#99"):
        registry.show_person(99, WORKER, NOW)
