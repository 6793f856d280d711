"""Reads of the register, always scoped to the acting user's reach."""

import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from clinics.models import Facility, Role
from clinics.scoping import scope_facilities, scope_queryset, user_role
from staffing.models import Doctor, Posting

LICENCE_WARNING_DAYS = 90


def today() -> datetime.date:
    return timezone.localdate()


def _open_on(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": day})
    )


def active_postings_on(day: datetime.date) -> QuerySet:
    return Posting.objects.filter(_open_on(day), doctor__status=Doctor.Status.ACTIVE)


def clinic_coverage_list(*, user, day: datetime.date | None = None) -> QuerySet:
    """Facilities in reach with `active_doctors` (posted and active on `day`) and `shortfall`."""
    day = day or today()
    postings = Q(postings__start_date__lte=day) & (Q(postings__end_date__isnull=True) | Q(postings__end_date__gte=day))
    queryset = (
        Facility.objects.select_related("township")
        .annotate(
            active_doctors=Count(
                "postings", filter=postings & Q(postings__doctor__status=Doctor.Status.ACTIVE), distinct=True
            )
        )
        .annotate(shortfall=F("target_doctors") - F("active_doctors"))
    )
    return scope_facilities(queryset, user)


def doctor_list(*, user, day: datetime.date | None = None) -> QuerySet:
    """Doctors whose current posting is in the user's reach; a village doctor sees their clinic."""
    day = day or today()
    queryset = Doctor.objects.all()
    role = user_role(user)
    if role is None:
        return queryset.none()
    if role not in (Role.COUNTY_ADMIN, Role.PAYROLL_OFFICER, Role.INSURANCE_CLERK):
        in_reach = scope_queryset(Posting.objects.filter(doctor=OuterRef("pk")), user)
        queryset = queryset.filter(Exists(in_reach))
    current = Posting.objects.filter(_open_on(day), doctor=OuterRef("pk")).order_by("-start_date")
    return queryset.annotate(
        current_facility_id=current.values("facility_id")[:1],
    )


def doctor_current_posting(*, doctor: Doctor, day: datetime.date | None = None) -> Posting | None:
    day = day or today()
    return doctor.postings.filter(_open_on(day)).select_related("facility").first()


def doctors_posted(*, facility_ids, start: datetime.date, end: datetime.date) -> QuerySet:
    """Postings at the given facilities overlapping [start, end], with doctor and facility."""
    return (
        Posting.objects.filter(facility_id__in=facility_ids, start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        .select_related("doctor", "facility")
        .order_by("facility_id", "doctor_id", "start_date")
    )


def licence_expiring(*, within_days: int = LICENCE_WARNING_DAYS, day: datetime.date | None = None) -> QuerySet:
    day = day or today()
    return Doctor.objects.filter(
        status=Doctor.Status.ACTIVE,
        licence_expiry__isnull=False,
        licence_expiry__lte=day + datetime.timedelta(days=within_days),
    )
