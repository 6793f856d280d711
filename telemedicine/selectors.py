"""Reads of teleconsultation, scoped by the acting user: a village doctor sees the consults they
booked, a consultant their own consults, a township admin the consults of the township's clinics,
county-wide roles everything."""

import datetime
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from clinics.models import Department, Facility, Role
from clinics.scoping import is_county_wide, scope_queryset, user_role
from telemedicine import conf, video
from telemedicine.models import ConsultBooking, Slot
from telemedicine.services.calendar import local_day_bounds, require_calendar, years_without_calendar
from telemedicine.services.slots import slots_materialise

CONSULTING_KINDS = (Facility.Kind.COUNTY_HOSPITAL, Facility.Kind.TOWNSHIP_CENTRE)


def department_list() -> QuerySet:
    """Departments that take teleconsults: active, at a telemedicine-linked hospital or centre,
    with at least one active consultant."""
    return (
        Department.objects.filter(
            is_active=True,
            facility__kind__in=CONSULTING_KINDS,
            facility__telemedicine_enabled=True,
            facility__is_active=True,
        )
        .annotate(consultant_count=Count("consultants", filter=Q(consultants__is_active=True)))
        .filter(consultant_count__gt=0)
        .select_related("facility")
        .order_by("facility__kind", "facility__code", "code")
    )


def referral_departments() -> QuerySet:
    return Department.objects.filter(is_active=True, facility__kind=Facility.Kind.COUNTY_HOSPITAL).select_related("facility")


def bookable_day(day: datetime.date) -> bool:
    today = timezone.localdate()
    return today <= day <= today + datetime.timedelta(days=conf.slot_horizon_days())


def open_slot_list(*, department_id: int | None, day: datetime.date, materialise: bool = True) -> QuerySet:
    """Open slots of a department (None: of every department) on a day: in the future, not
    withdrawn, with a free place. Slots for a day inside the booking horizon are materialised on
    demand. A day whose year has no holiday calendar is refused (CalendarMissing, naming the year):
    its public holidays are unknown, so none of its slots is offered."""
    require_calendar(day)
    if materialise and bookable_day(day):
        slots_materialise(start=day, end=day, department_id=department_id)
    start, end = local_day_bounds(day)
    departments = {} if department_id is None else {"department_id": department_id}
    return (
        Slot.objects.filter(
            **departments,
            starts_at__gte=max(start, timezone.now()),
            starts_at__lt=end,
            is_withdrawn=False,
            consultant__is_active=True,
            booked__lt=F("places"),
        )
        .select_related("consultant", "department__facility")
        .order_by("starts_at", "consultant__name")
    )


@dataclass
class FirstOpenDay:
    day: datetime.date | None  # the first day from `start` with a free slot, None if none in the window
    missing_calendar_year: int | None = None  # the search stopped at this year: its holiday calendar is not loaded


def first_open_day(*, department_id: int | None = None, start: datetime.date | None = None, days: int | None = None) -> FirstOpenDay:
    """The first day from `start` (today) with a free slot in the department (or any department),
    searching forward at most `days` days (the booking horizon). Days are materialised one at a
    time, so the search stops at the first day found; it stops too at a year without a holiday
    calendar, and says which."""
    today = timezone.localdate()
    start = max(start or today, today)
    last = start + datetime.timedelta(days=conf.slot_horizon_days() if days is None else days)
    missing = years_without_calendar(start, last)
    if missing:
        last = min(last, datetime.date(missing[0], 1, 1) - datetime.timedelta(days=1))
    day = start
    while day <= last:
        if open_slot_list(department_id=department_id, day=day).exists():
            return FirstOpenDay(day, None)
        day += datetime.timedelta(days=1)
    return FirstOpenDay(None, missing[0] if missing else None)


def booking_list(*, user) -> QuerySet:
    queryset = ConsultBooking.objects.select_related(
        "consultant", "department__facility", "facility", "doctor", "outcome__referral_department"
    )
    role = user_role(user)
    if role == Role.VILLAGE_DOCTOR:
        return queryset.filter(doctor__user=user)
    if role == Role.CONSULTANT:
        return queryset.filter(consultant__user=user)
    if role == Role.TOWNSHIP_ADMIN:
        return scope_queryset(queryset, user, facility_path="facility")
    if is_county_wide(user):
        return queryset
    return queryset.none()


def booking_get(*, user, pk) -> ConsultBooking | None:
    return booking_list(user=user).filter(pk=pk).first()


def consultant_day(*, user, day: datetime.date) -> QuerySet:
    start, end = local_day_bounds(day)
    return booking_list(user=user).filter(consultant__user=user, starts_at__gte=start, starts_at__lt=end).order_by("starts_at")


def booking_by_room_token(*, user, token: str) -> ConsultBooking | None:
    return booking_list(user=user).filter(room_token=token).first()


# --- The consultant's queue --------------------------------------------------------------------


@dataclass
class ConsultQueue:
    pending: list  # requests waiting for the consultant's answer, the longest-waiting first
    upcoming: list  # confirmed and running consults, the earliest first


QUEUE_LIMIT = 200


def consultant_queue(*, user, now: datetime.datetime | None = None) -> ConsultQueue:
    """The consultant's own consults still to be handled, across days: requests not yet answered
    whose time has not passed (oldest request first), and confirmed consults that can still be
    started or are running (earliest start first)."""
    now = now or timezone.now()
    mine = booking_list(user=user).filter(consultant__user=user)
    pending = mine.filter(status=ConsultBooking.Status.REQUESTED, ends_at__gt=now).order_by("requested_at", "id")
    upcoming = mine.filter(
        Q(status=ConsultBooking.Status.CONFIRMED, ends_at__gte=now - conf.no_show_grace())
        | Q(status=ConsultBooking.Status.IN_PROGRESS)
    ).order_by("starts_at", "id")
    return ConsultQueue(pending=list(pending[:QUEUE_LIMIT]), upcoming=list(upcoming[:QUEUE_LIMIT]))


# --- The patient's earlier consults ------------------------------------------------------------

HISTORY_LIMIT = 20


def patient_history(*, user, booking: ConsultBooking) -> QuerySet:
    """The patient's consults before this one (the same patient identity key), newest first, with
    their outcomes, within the user's reach: a village doctor sees those booked at clinics in
    their reach (their own clinic, whoever of its doctors booked them), a consultant the consults
    they took part in, an administrator those of the clinics in their reach."""
    queryset = ConsultBooking.objects.select_related(
        "consultant", "department__facility", "facility", "doctor", "outcome__referral_department"
    ).filter(patient_key=booking.patient_key, starts_at__lt=booking.starts_at).exclude(pk=booking.pk)
    role = user_role(user)
    if role == Role.VILLAGE_DOCTOR:
        queryset = scope_queryset(queryset, user, facility_path="facility")
    else:
        queryset = queryset.filter(pk__in=booking_list(user=user).values("pk"))
    return queryset.order_by("-starts_at", "-id")[:HISTORY_LIMIT]


# --- Video room ------------------------------------------------------------------------------


@dataclass
class RoomAccess:
    # "open", "early", "closed", "not_video", "inactive", "unconfigured" (no Jitsi server set)
    state: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    url: str = ""  # the Jitsi link with this person's token: only for the two parties, only while open
    overrun: bool = False  # the consult is in progress, so the room stays open past the slot's end


def room_window(booking: ConsultBooking) -> tuple[datetime.datetime, datetime.datetime, bool]:
    """When the room opens and closes: from a few minutes before the slot to its end; while the
    consult is in progress, up to TELECONSULT_ROOM_OVERRUN_MINUTES past the end."""
    opens = booking.starts_at - conf.video_opens_before()
    if booking.status == ConsultBooking.Status.IN_PROGRESS:
        return opens, booking.ends_at + conf.room_overrun(), True
    return opens, booking.ends_at, False


def _party(booking: ConsultBooking, user) -> tuple[str, bool] | None:
    """The name the room shows for `user` and whether they moderate, or None for anyone but the
    consult's consultant and the village doctor who booked it."""
    pk = getattr(user, "pk", None)
    if pk is None:
        return None
    if booking.consultant.user_id == pk:
        return booking.consultant.name, True
    if booking.doctor.user_id == pk:
        return booking.doctor.name, False
    return None


def room_access(booking: ConsultBooking, *, user=None, now: datetime.datetime | None = None) -> RoomAccess:
    """The video room of a consult as `user` sees it now. The link (with a token valid from the
    room's opening to its closing, for this room only) is given only to the two parties, only
    while the room is open, and only when a Jitsi server is configured."""
    now = now or timezone.now()
    opens, closes, overrun = room_window(booking)
    if booking.mode != ConsultBooking.Mode.VIDEO:
        return RoomAccess("not_video", opens, closes)
    if booking.status not in (ConsultBooking.Status.CONFIRMED, ConsultBooking.Status.IN_PROGRESS):
        return RoomAccess("inactive", opens, closes)
    jitsi = conf.jitsi()
    if jitsi is None:
        return RoomAccess("unconfigured", opens, closes, overrun=overrun)
    if now < opens:
        return RoomAccess("early", opens, closes, overrun=overrun)
    if now >= closes:
        return RoomAccess("closed", opens, closes, overrun=overrun)
    party = _party(booking, user)
    url = ""
    if party is not None:
        name, moderator = party
        room = video.room_name(booking.room_token)
        token = video.room_jwt(
            jitsi, room=room, user_id=str(user.pk), name=name, moderator=moderator, opens_at=opens, closes_at=closes, now=now
        )
        url = video.room_link(jitsi, room, token)
    return RoomAccess("open", opens, closes, url=url, overrun=overrun)


# --- Report -----------------------------------------------------------------------------------


@dataclass
class DepartmentMonth:
    department: str
    facility: str
    month: datetime.date
    bookings: int = 0
    completed: int = 0
    no_shows: int = 0
    cancelled: int = 0
    declined: int = 0
    waits: list = field(default_factory=list, repr=False)

    @property
    def median_wait_hours(self) -> float | None:
        """Median hours from request to consult over the consults that took place."""
        return round(statistics.median(self.waits), 1) if self.waits else None


def report_by_department_month(*, user, start: datetime.date, end: datetime.date) -> list[DepartmentMonth]:
    """Consults starting in [start, end] (local dates) per department and month."""
    first, _ = local_day_bounds(start)
    _, last = local_day_bounds(end)
    rows = (
        booking_list(user=user)
        .filter(starts_at__gte=first, starts_at__lt=last)
        .values_list("department__name", "department__facility__name", "status", "requested_at", "starts_at")
        .order_by()
    )
    table: dict = {}
    Status = ConsultBooking.Status
    for department, facility, status, requested_at, starts_at in rows.iterator():
        month = timezone.localdate(starts_at).replace(day=1)
        row = table.setdefault((facility, department, month), DepartmentMonth(department, facility, month))
        row.bookings += 1
        if status == Status.COMPLETED:
            row.completed += 1
        elif status == Status.NO_SHOW:
            row.no_shows += 1
        elif status == Status.CANCELLED:
            row.cancelled += 1
        elif status == Status.DECLINED:
            row.declined += 1
        if status in (Status.COMPLETED, Status.IN_PROGRESS):
            row.waits.append((starts_at - requested_at).total_seconds() / 3600)
    return [table[key] for key in sorted(table, key=lambda k: (k[2], k[0], k[1]))]


REPORT_HEADERS_KEYS = ["month", "facility", "department", "bookings", "completed", "no_shows", "cancelled", "declined", "median_wait_hours"]


def report_rows(report: list[DepartmentMonth]) -> list[list]:
    return [
        [r.month.strftime("%Y-%m"), r.facility, r.department, r.bookings, r.completed, r.no_shows, r.cancelled, r.declined, r.median_wait_hours]
        for r in report
    ]


# --- For the dashboard ----------------------------------------------------------------------


def booking_status_labels() -> dict[str, str]:
    return dict(ConsultBooking.Status.choices)


def booking_counts_by_status(*, user, day: datetime.date) -> list[dict]:
    """Consults in reach per status in the week (Monday to Sunday) holding `day`, and on `day`
    itself: [{"status", "week", "today"}], by status code."""
    week_start = day - datetime.timedelta(days=day.weekday())
    start = local_day_bounds(week_start)[0]
    end = local_day_bounds(week_start + datetime.timedelta(days=6))[1]
    day_start, day_end = local_day_bounds(day)
    return list(
        booking_list(user=user)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .values("status")
        .annotate(week=Count("id"), today=Count("id", filter=Q(starts_at__gte=day_start, starts_at__lt=day_end)))
        .order_by("status")
    )


def no_show_counts(*, user, start: datetime.date, end: datetime.date) -> dict[str, int]:
    """Consults in reach starting from `start` to the day before `end`: no-shows, and those held
    (completed or no-show)."""
    return (
        booking_list(user=user)
        .filter(starts_at__gte=local_day_bounds(start)[0], starts_at__lt=local_day_bounds(end)[0])
        .aggregate(
            no_shows=Count("id", filter=Q(status=ConsultBooking.Status.NO_SHOW)),
            held=Count("id", filter=Q(status__in=[ConsultBooking.Status.COMPLETED, ConsultBooking.Status.NO_SHOW])),
        )
    )


def booking_outcomes_by_week(*, user, weeks: list[datetime.date]) -> dict[str, dict[datetime.date, int]]:
    """Consults in reach per status and local week, for the weeks starting on the Mondays `weeks`
    (oldest first): {status: {monday: consults}}."""
    rows = (
        booking_list(user=user)
        .filter(starts_at__gte=local_day_bounds(weeks[0])[0], starts_at__lt=local_day_bounds(weeks[-1] + datetime.timedelta(days=6))[1])
        .values("starts_at", "status")
        .order_by()
    )
    # Bucketing by local week in Python keeps the query the same on SQLite and PostgreSQL; the
    # rows are the consults of a few weeks of one county's network.
    counts: dict[str, dict[datetime.date, int]] = {}
    for row in rows:
        day = timezone.localtime(row["starts_at"]).date()
        week = day - datetime.timedelta(days=day.weekday())
        by_week = counts.setdefault(row["status"], {})
        by_week[week] = by_week.get(week, 0) + 1
    return counts
