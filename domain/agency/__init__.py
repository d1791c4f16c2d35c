"""Acts that span the agency's rooms: the deadline sweep over every kind, and importing people
(which re-checks supervision and staffing). Above the rooms they compose; none of those knows it."""

from .invites import invite_person
from .staff import import_people
from .sweep import SweepReport, sweep

__all__ = ["SweepReport", "import_people", "invite_person", "sweep"]
