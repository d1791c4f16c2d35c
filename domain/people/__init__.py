"""People of the agency: their records (roles, qualifications, notification addresses), the rules a
project asks of them (§8.1.1), and who may see sensitive fields."""

from .records import (
    NOTIFY_SCHEMES,
    PeopleFile,
    PersonRecord,
    Qualification,
    address_problem,
    get_person,
    person_name,
    write_people,
)
from .rules import ROLE_TITLES, qualification_problem, role_problems
from .visibility import may_see_sensitive

__all__ = [
    "NOTIFY_SCHEMES",
    "PeopleFile",
    "PersonRecord",
    "Qualification",
    "ROLE_TITLES",
    "address_problem",
    "get_person",
    "may_see_sensitive",
    "person_name",
    "qualification_problem",
    "role_problems",
    "write_people",
]
