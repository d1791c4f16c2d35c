"""The community registry (§5.2, §6.2.2, §8.3.2, §8.3.4): people served with their consent,
organisations and resource links, volunteers and their hours, referrals and their follow-ups."""

from swflow.db import registry_tables as models
from swflow.domain.registry.chains import verify_registry
from swflow.domain.registry.lifecycle import forget_person, merge_people
from swflow.domain.registry.orgs import (
    add_organisation,
    link_resource,
    list_links,
    list_organisations,
    record_link_result,
)
from swflow.domain.registry.people import (
    ConsentGiven,
    Registration,
    join_project,
    record_consent,
    register_person,
    withdraw_consent,
)
from swflow.domain.registry.people_queries import export_person, find_people, show_person
from swflow.domain.registry.referrals import (
    close_referral,
    list_referrals,
    open_referral,
    show_referral,
    update_referral,
)
from swflow.domain.registry.volunteers import (
    issue_certificate,
    list_volunteers,
    record_training,
    register_volunteer,
    volunteer_record,
)

__all__ = [
    "ConsentGiven",
    "Registration",
    "add_organisation",
    "close_referral",
    "export_person",
    "find_people",
    "forget_person",
    "issue_certificate",
    "join_project",
    "link_resource",
    "list_links",
    "list_organisations",
    "list_referrals",
    "list_volunteers",
    "merge_people",
    "models",
    "open_referral",
    "record_consent",
    "record_link_result",
    "record_training",
    "register_person",
    "register_volunteer",
    "show_person",
    "show_referral",
    "update_referral",
    "verify_registry",
    "volunteer_record",
    "withdraw_consent",
]
