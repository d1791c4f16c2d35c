"""The registry's pure rules: one person, one identity; which consent covers a referral; how a
referral may move; hours that add up on a certificate. No database here."""

from __future__ import annotations

from datetime import date

import pytest

from swflow.config.errors import FormError
from swflow.domain.registry.rules import (
    Audience,
    ConsentView,
    HoursRow,
    active_consent,
    hours_text,
    identity_key,
    may_see,
    normalise_name,
    normalise_phone,
    salted_digest,
    total_hours,
    why_not_close_referral,
    why_not_update_referral,
)
from swflow.domain.registry.specs import checked, masked, record_spec
from swflow.forms_spec import MASK


def test_the_same_person_written_differently_has_one_identity() -> None:
    assert normalise_name("王 秀英") == normalise_name("王秀英") == normalise_name("王\u3000秀英")
    assert normalise_phone("+86 138-0013-8000") == normalise_phone("0086 13800138000") == "13800138000"
    assert identity_key("王 秀英", 1944, "138 0013 8000") == identity_key("王秀英", 1944, "+8613800138000")


@pytest.mark.parametrize(
    ("name", "year", "phone"), [("王秀兰", 1944, "13800138000"), ("王秀英", 1945, "13800138000"), ("王秀英", 1944, "")]
)
def test_a_different_name_year_or_phone_is_a_different_identity(name: str, year: int, phone: str) -> None:
    assert identity_key(name, year, phone) != identity_key("王秀英", 1944, "13800138000")


def test_a_digest_cannot_be_matched_once_its_salt_is_gone() -> None:
    data = {"name": "王秀英", "phone": "13800138000"}
    assert salted_digest("a" * 32, data) == salted_digest("a" * 32, data)
    assert salted_digest("a" * 32, data) != salted_digest("b" * 32, data)


def test_only_the_circle_and_directors_see_a_person() -> None:
    audience = Audience(frozenset({"wang.worker", "li.supervisor"}))
    assert may_see(audience, "wang.worker", ["worker"])
    assert may_see(audience, "chen.director", ["director"])
    assert not may_see(audience, "qian.worker", ["worker"])
    assert not may_see(audience, "sun.supervisor", ["supervisor"])  # a supervisor of another team
    assert not may_see(audience, "wang.worker", ["worker"], viewer_active=False)


def test_a_referral_needs_a_consent_given_and_not_withdrawn_on_the_day() -> None:
    consents = [
        ConsentView(1, "registration", date(2026, 3, 1), None),
        ConsentView(2, "referral", date(2026, 3, 2), date(2026, 3, 10)),
        ConsentView(3, "referral", date(2026, 3, 20), None),
    ]
    assert active_consent(consents, "referral", date(2026, 3, 1)) is None  # not yet given
    assert active_consent(consents, "referral", date(2026, 3, 5)) == consents[1]
    assert active_consent(consents, "referral", date(2026, 3, 10)) is None  # withdrawn that day
    assert active_consent(consents, "referral", date(2026, 3, 21)) == consents[2]  # given again


def test_a_referral_moves_forward_and_a_closed_one_stays_closed() -> None:
    assert why_not_update_referral("sent", "accepted", 1) is None
    assert why_not_update_referral("accepted", "accepted", 1) is None  # a follow-up with no change
    assert "不能退回" in (why_not_update_referral("accepted", "sent", 1) or "")
    assert "已结案" in (why_not_update_referral("closed", "accepted", 1) or "")
    assert "结案结果只能是" in (why_not_close_referral("sent", "fine", 1) or "")
    assert "已结案" in (why_not_close_referral("closed", "resolved", 1) or "")


def test_hours_add_up_as_decimals() -> None:
    rows = [HoursRow("P-1", "幸福社区", f"a{i}", "2027-03-18", "探访", 0.1) for i in range(3)]
    assert str(total_hours(rows)) == "0.3"
    assert hours_text(total_hours(rows)) == "0.3"
    assert hours_text(2.50) == "2.5" and hours_text(3.0) == "3" and hours_text(10) == "10"


def test_person_record_fields_come_from_the_spec_and_errors_name_them() -> None:
    spec = record_spec("person")
    assert {"name", "phone", "address", "tags", "notes"} <= spec.sensitive_fields()
    assert "gender" not in spec.sensitive_fields() and "birth_year" not in spec.sensitive_fields()
    with pytest.raises(FormError) as caught:
        checked("person", {"name": "王秀英", "gender": "woman", "birth_year": 1800, "tags": ["rich"]})
    where = [field for field, _ in caught.value.problems]
    assert any("（gender）" in w for w in where) and any("（birth_year）" in w for w in where)
    assert any("（tags）" in w for w in where)


def test_masking_hides_every_sensitive_field_of_a_person() -> None:
    data = {"name": "王秀英", "gender": "female", "birth_year": 1944, "phone": "13800138000", "tags": ["disability"]}
    hidden = masked("person", data, clear=False)
    assert hidden == {"name": MASK, "gender": "female", "birth_year": 1944, "phone": MASK, "tags": MASK}
    assert masked("person", data, clear=True) == data
