"""Who may write what in rosters: the checks every roster service makes before it changes a row."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from clinics.models import Facility, Role, Township
from clinics.scoping import user_role
from staffing.models import Doctor
from staffing.reach import require_doctor_reach

DECIDING_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN)


def check_can_decide(user, facility: Facility) -> None:
    """Only a county admin, or the admin of the clinic's township, decides about its roster.
    `user` None is the system (management commands, seeds)."""
    if user is None:
        return
    role = user_role(user)
    if role == Role.COUNTY_ADMIN:
        return
    if role == Role.TOWNSHIP_ADMIN and user.scope.township_id == facility.township_id:
        return
    raise PermissionDenied(_("Only the county health bureau or this clinic's township admin can do this."))


def acts_for_self(user, doctor: Doctor) -> bool:
    return user is not None and doctor is not None and getattr(user, "doctor", None) == doctor


def check_doctor_reach(user, doctor: Doctor, *, field: str = "doctor") -> None:
    """A doctor a roster write is about must be in the acting user's reach by the posting in force
    today (a township admin no longer changes the leave or duties of a doctor who moved away). A
    doctor acting on their own record is always in reach."""
    if not acts_for_self(user, doctor):
        require_doctor_reach(user, doctor, field=field)


def check_can_plan(acting_user, *, township: Township | None, facility: Facility | None, facility_ids) -> None:
    """The county plans any clinics; a township admin only its own township's (named, or as one
    clinic or a list of clinics); nobody else plans."""
    role = user_role(acting_user) if acting_user is not None else Role.COUNTY_ADMIN
    if role == Role.COUNTY_ADMIN:
        return
    if role != Role.TOWNSHIP_ADMIN:
        raise PermissionDenied(_("Only the county health bureau or a township admin can plan rosters."))
    own = acting_user.scope.township_id
    if facility is not None:
        check_can_decide(acting_user, facility)
    elif township is not None and township.pk != own:
        raise PermissionDenied(_("Only the county health bureau or this township's admin can do this."))
    elif facility_ids is not None:
        if Facility.objects.filter(pk__in=list(facility_ids)).exclude(township_id=own).exists():
            raise PermissionDenied(_("Some of these clinics are outside your township."))
    elif township is None:
        raise PermissionDenied(_("Only the county health bureau can plan every clinic at once; choose your township."))


def check_can_publish(acting_user, *, township: Township | None) -> None:
    role = user_role(acting_user) if acting_user is not None else Role.COUNTY_ADMIN
    if township is None and role != Role.COUNTY_ADMIN:
        raise PermissionDenied(_("Only the county health bureau can publish the whole county; choose your township."))
    if township is not None and role != Role.COUNTY_ADMIN:
        if role != Role.TOWNSHIP_ADMIN or acting_user.scope.township_id != township.pk:
            raise PermissionDenied(_("Only the county health bureau or this township's admin can do this."))


def acting_user_or_none(acting_user):
    """The user to store as requester, publisher or author: None for the system."""
    return acting_user if acting_user is not None and acting_user.is_authenticated else None
