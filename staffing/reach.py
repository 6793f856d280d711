"""Reach over doctors follows the posting in force: a posting grants reach from its start date and
ends with it. A doctor with no posting in force today (a new hire whose first posting starts later)
is reached through that upcoming posting. Reads and writes use the same condition."""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.scoping import COUNTY_WIDE_ROLES, OUT_OF_REACH, reach_filter, user_role
from staffing.models import Doctor, Posting


def in_force_on(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": day})
    )


def doctor_reach_q(user, *, day: datetime.date | None = None, doctor_ref: str = "pk") -> Q | None:
    """The condition on Doctor rows (or on `doctor_ref` of another model) that keeps doctors in
    the user's reach on `day`; None means every doctor (county-wide roles)."""
    role = user_role(user)
    if role is None:
        return Q(pk__in=[])
    if role in COUNTY_WIDE_ROLES:
        return None
    day = day or timezone.localdate()
    scope = reach_filter(user, "facility")
    postings = Posting.objects.filter(doctor=OuterRef(doctor_ref))
    current_in_reach = postings.filter(in_force_on(day)).filter(scope)
    has_current = postings.filter(in_force_on(day))
    upcoming_in_reach = postings.filter(start_date__gt=day).filter(scope)
    return Q(Exists(current_in_reach)) | (~Q(Exists(has_current)) & Q(Exists(upcoming_in_reach)))


def scope_doctors(queryset: QuerySet, user, *, day: datetime.date | None = None, doctor_ref: str = "pk") -> QuerySet:
    condition = doctor_reach_q(user, day=day, doctor_ref=doctor_ref)
    return queryset if condition is None else queryset.filter(condition)


def doctor_in_reach(user, doctor, *, day: datetime.date | None = None) -> bool:
    if doctor is None:
        return False
    condition = doctor_reach_q(user, day=day)
    if condition is None:
        return user_role(user) is not None
    return Doctor.objects.filter(pk=getattr(doctor, "pk", doctor)).filter(condition).exists()


def require_doctor_reach(user, doctor, *, field: str | None = "doctor", day: datetime.date | None = None) -> None:
    """Refuse a write about `doctor` when the acting user does not reach the doctor's posting in
    force (None as the acting user is the system itself: seeds, commands, beat)."""
    if user is None or doctor_in_reach(user, doctor, day=day):
        return
    message = _("%(doctor)s works outside your reach; ask the county health bureau to make this change.") % {
        "doctor": getattr(doctor, "name", doctor)
    }
    raise ValidationError({field: [message]} if field else message, code=OUT_OF_REACH)
