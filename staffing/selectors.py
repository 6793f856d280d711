"""Reads of the register, always scoped to the acting user's reach."""

import datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet
from django.utils import timezone

from clinics.models import Facility
from clinics.scoping import scope_facilities, scope_queryset, user_role
from staffing.models import Doctor, Posting
from staffing.reach import in_force_on, scope_doctors


def today() -> datetime.date:
    return timezone.localdate()


def clinic_coverage_list(*, user, day: datetime.date | None = None) -> QuerySet:
    """Facilities in reach with `active_doctors` (posted and active on `day`) and `shortfall`."""
    day = day or today()
    postings = Q(postings__start_date__lte=day) & (Q(postings__end_date__isnull=True) | Q(postings__end_date__gte=day))
    queryset = (
        Facility.objects.select_related("township")
        .annotate(
            # Each posting joins once (its doctor is a foreign key): no DISTINCT, which sorted
            # every clinic's postings at province scale.
            active_doctors=Count("postings", filter=postings & Q(postings__doctor__status=Doctor.Status.ACTIVE))
        )
        .annotate(shortfall=F("target_doctors") - F("active_doctors"))
    )
    return scope_facilities(queryset, user)


def clinic_doctors_context(*, user, facility: Facility, recent_days: int = 90, day: datetime.date | None = None) -> dict:
    """For the clinic's page: the postings in force at `facility` on `day` (its current doctors),
    the postings ended within `recent_days`, and coverage (active doctors against the target).
    Empty when the clinic is outside the user's reach."""
    day = day or today()
    if not scope_facilities(Facility.objects.filter(pk=facility.pk), user).exists():
        return {}
    postings = Posting.objects.filter(facility_id=facility.pk).select_related("doctor").order_by("-start_date", "doctor__name")
    current = list(postings.filter(in_force_on(day)))
    upcoming = list(postings.filter(start_date__gt=day))
    recent = list(
        postings.filter(end_date__lt=day, end_date__gte=day - datetime.timedelta(days=recent_days))
    )
    active = sum(1 for posting in current if posting.doctor.status == Doctor.Status.ACTIVE)
    return {
        "clinic_current_postings": current,
        "clinic_upcoming_postings": upcoming,
        "clinic_recent_postings": recent,
        "clinic_active_doctors": active,
        "clinic_target_doctors": facility.target_doctors,
        "clinic_understaffed": active < facility.target_doctors,
        "clinic_overstaffed": active > facility.target_doctors,
        "clinic_doctors_shown": True,
    }


def doctor_list(*, user, day: datetime.date | None = None) -> QuerySet:
    """Doctors whose posting in force on `day` is in the user's reach (or, for a doctor with none
    in force yet, the upcoming one); a village doctor sees their clinic's doctors."""
    day = day or today()
    if user_role(user) is None:
        return Doctor.objects.none()
    queryset = scope_doctors(Doctor.objects.all(), user, day=day)
    current = Posting.objects.filter(in_force_on(day), doctor=OuterRef("pk")).order_by("-start_date")
    return queryset.annotate(
        current_facility_id=current.values("facility_id")[:1],
    )


def _postings_in_force(day: datetime.date | None) -> QuerySet:
    """Postings in force on `day` (today by default), the one of a doctor first: the rule of
    "the posting in force" both look-ups below follow."""
    return Posting.objects.filter(in_force_on(day or today()))


def doctor_current_posting(*, doctor: Doctor, day: datetime.date | None = None) -> Posting | None:
    return _postings_in_force(day).filter(doctor=doctor).select_related("facility").first()


def login_current_postings(*, user, day: datetime.date | None = None) -> QuerySet:
    """`doctor_current_posting` found from the login `user` (a user or its id): the posting in
    force of the doctor linked to it, with the doctor and the clinic, as one SELECT to read with
    `.first()`."""
    return _postings_in_force(day).filter(doctor__user=user).select_related("doctor", "facility")


def doctors_posted(*, facility_ids, start: datetime.date, end: datetime.date) -> QuerySet:
    """Postings at the given facilities overlapping [start, end], with doctor and facility."""
    return (
        Posting.objects.filter(facility_id__in=facility_ids, start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        .select_related("doctor", "facility")
        .order_by("facility_id", "doctor_id", "start_date")
    )


# --- For the dashboard ----------------------------------------------------------------------


def understaffed_clinic_list(*, user, day: datetime.date) -> list[dict]:
    """Village clinics in reach with fewer active doctors on `day` than their target, by township
    and code: code, name, township__name, active_doctors, target_doctors."""
    return list(
        clinic_coverage_list(user=user, day=day)
        .filter(kind=Facility.Kind.VILLAGE_CLINIC)
        .filter(active_doctors__lt=F("target_doctors"))
        .order_by("township__code", "code")
        .values("code", "name", "township__name", "active_doctors", "target_doctors")
    )


def licences_expiring_by_township(*, user, day: datetime.date, within_days: int) -> list[dict]:
    """Active doctors posted in reach on `day` whose licence expires within `within_days`, counted
    per township of their clinic: [{"township": name or None, "n": doctors}], by township name."""
    postings = Posting.objects.filter(in_force_on(day)).filter(
        doctor__status=Doctor.Status.ACTIVE,
        doctor__licence_expiry__gte=day,
        doctor__licence_expiry__lte=day + datetime.timedelta(days=within_days),
    )
    rows = (
        scope_queryset(postings, user)
        .values("facility__township__name")
        .annotate(n=Count("doctor", distinct=True))
        .order_by("facility__township__name")
    )
    return [{"township": row["facility__township__name"], "n": row["n"]} for row in rows]
