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


def posted_q(condition: Q | None = None, *, day: datetime.date | None = None, doctor_ref: str = "pk") -> Q:
    """Doctors (or `doctor_ref` of another model) whose governing posting on `day` satisfies
    `condition` (a condition on Posting rows): the posting in force that day, or, for a doctor
    with none in force, an upcoming one. A doctor whose postings have all ended matches nothing."""
    day = day or timezone.localdate()
    postings = Posting.objects.filter(doctor=OuterRef(doctor_ref))
    matching = postings.filter(condition) if condition is not None else postings
    current = matching.filter(in_force_on(day))
    has_current = postings.filter(in_force_on(day))
    upcoming = matching.filter(start_date__gt=day)
    return Q(Exists(current)) | (~Q(Exists(has_current)) & Q(Exists(upcoming)))


def doctor_reach_q(user, *, day: datetime.date | None = None, doctor_ref: str = "pk") -> Q | None:
    """The condition on Doctor rows (or on `doctor_ref` of another model) that keeps doctors in
    the user's reach on `day`; None means every doctor (county-wide roles)."""
    role = user_role(user)
    if role is None:
        return Q(pk__in=[])
    if role in COUNTY_WIDE_ROLES:
        return None
    return posted_q(reach_filter(user, "facility"), day=day, doctor_ref=doctor_ref)


def scope_doctors(queryset: QuerySet, user, *, day: datetime.date | None = None, doctor_ref: str = "pk") -> QuerySet:
    condition = doctor_reach_q(user, day=day, doctor_ref=doctor_ref)
    return queryset if condition is None else queryset.filter(condition)


def governing_posting(doctor, *, day: datetime.date | None = None) -> Posting | None:
    """The posting that places `doctor` on `day`: the one in force, else the next one to start."""
    day = day or timezone.localdate()
    postings = Posting.objects.filter(doctor_id=getattr(doctor, "pk", doctor)).select_related("facility")
    return postings.filter(in_force_on(day)).first() or postings.filter(start_date__gt=day).order_by("start_date", "pk").first()


def doctor_in_reach(user, doctor, *, day: datetime.date | None = None) -> bool:
    if doctor is None or getattr(doctor, "pk", doctor) is None:
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
    # The doctor is not named: the refusal must not tell who works beyond the acting user's reach.
    message = _("This doctor works outside your reach; ask the county health bureau to make this change.")
    # The code goes on the message itself: Django drops a code given beside a dict of errors.
    error = ValidationError(message, code=OUT_OF_REACH)
    raise ValidationError({field: error}) if field else error
