"""Seed steps of rosters (listed in `config.seeding.SEED_STEPS`); idempotent. The demo lives in
the present: last month's and this month's rosters are published and next month's is a draft,
relative to the day `load_seeds` builds the demo for (`clinics.seeding.seed_today`)."""

import datetime

from django.utils.translation import gettext as _

from clinics.seeding import seed_note, seed_today
from core.months import month_start, next_month
from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.models import LeaveEntitlement, LeaveRequest, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_years_load_all
from staffing.rosters.services.publishing import roster_publish


def seed_holidays(counts: dict) -> None:
    """Every year the package covers; years already loaded are left alone."""
    for _year, loaded in holiday_years_load_all().items():
        counts.setdefault("holiday calendar year", {"created": 0, "existing": 0})
        counts["holiday calendar year"]["created" if loaded else "existing"] += 1


# The county's default leave entitlements (calendar days a year, every doctor) as migration 0008
# made them; that migration keeps its own frozen copy, and a test holds the two equal.
DEFAULT_ENTITLEMENT_DAYS = {"annual": 7, "sick": 30, "training": 15, "personal": 10}
DEFAULT_ENTITLEMENT_YEARS = (2025, 2026, 2027)
DEFAULT_ENTITLEMENT_NOTE = "全县默认天数（系统预置）"  # stored data shown in admin: the county's language


def seed_leave_entitlements(counts: dict) -> None:
    """The county's default entitlements, back when the register has no county-wide entitlement at
    all (a flushed database: `flush` empties what migrations put in). Once the bureau has any
    county row of its own, nothing is added: a year it deleted takes the earlier year's on purpose."""
    counts.setdefault("leave entitlement", {"created": 0, "existing": 0})
    existing = LeaveEntitlement.objects.filter(doctor__isnull=True).count()
    if existing:
        counts["leave entitlement"]["existing"] += existing
        return
    LeaveEntitlement.objects.bulk_create([
        LeaveEntitlement(year=year, kind=kind, doctor=None, days=days, note=DEFAULT_ENTITLEMENT_NOTE)
        for year in DEFAULT_ENTITLEMENT_YEARS for kind, days in DEFAULT_ENTITLEMENT_DAYS.items()
    ])
    counts["leave entitlement"]["created"] += len(DEFAULT_ENTITLEMENT_YEARS) * len(DEFAULT_ENTITLEMENT_DAYS)


def demo_roster_months(today: datetime.date) -> list[tuple[datetime.date, bool]]:
    """(month, published?): last month and this month published, next month a draft."""
    this_month = month_start(today)
    last_month = month_start(this_month - datetime.timedelta(days=1))
    return [(last_month, True), (this_month, True), (next_month(this_month), False)]


def calendar_missing_note(*, year: int, month: datetime.date) -> str:
    return _(
        "The %(year)s holiday calendar is not loaded, so the %(month)s roster was not generated (the demo does not "
        "guess public holidays). Load the State Council's %(year)s schedule on the admin's holiday calendar import "
        "page (/admin/rosters/calendaryear/import/) or with “manage.py holidays --import-csv FILE” (or "
        "“manage.py holidays --load %(year)s” once the chinesecalendar package covers %(year)s), then run "
        "load_seeds again."
    ) % {"year": year, "month": f"{month:%Y-%m}"}


def seed_demo_rosters(counts: dict) -> None:
    """Generate the demo months through the roster services (so duties follow the rules and the
    holiday calendar) and publish the ones that should be. A month already planned is kept (a
    draft that should now be published is published); a month whose year has no calendar is
    skipped with a note naming the year to load."""
    counts.setdefault("roster month", {"created": 0, "existing": 0})
    for month, publish in demo_roster_months(seed_today(counts)):
        if RosterMonth.objects.filter(month=month).exists():
            counts["roster month"]["existing"] += 1
        else:
            try:
                roster_generate(month=month)
            except CalendarMissing as missing:
                seed_note(counts, calendar_missing_note(year=missing.year, month=month))
                continue
            counts["roster month"]["created"] += 1
        if publish and RosterMonth.objects.filter(month=month, status=RosterMonth.Status.DRAFT).exists():
            roster_publish(month=month, acting_user=None)


# (doctor's demo index, kind, first day from today, days, decision: "approved" / "pending" / "rejected")
# Doctor 0 is the `village_doctor` login; the others are spread over the townships.
DEMO_LEAVE = [
    (0, LeaveRequest.Kind.PERSONAL, 9, 2, "pending"),
    (1, LeaveRequest.Kind.SICK, -20, 3, "approved"),
    (9, LeaveRequest.Kind.ANNUAL, -6, 5, "approved"),
    (22, LeaveRequest.Kind.TRAINING, 4, 3, "approved"),
    (37, LeaveRequest.Kind.ANNUAL, 12, 4, "pending"),
    (58, LeaveRequest.Kind.PERSONAL, 2, 1, "rejected"),
    (91, LeaveRequest.Kind.SICK, -2, 4, "approved"),
    (130, LeaveRequest.Kind.ANNUAL, 16, 3, "pending"),
]
LEAVE_REASONS = {
    LeaveRequest.Kind.PERSONAL: "家中有事（演示）",
    LeaveRequest.Kind.SICK: "感冒发热，需休息（演示）",
    LeaveRequest.Kind.ANNUAL: "年休假（演示）",
    LeaveRequest.Kind.TRAINING: "参加县卫健局乡村医生培训（演示）",
}


def seed_demo_leave(counts: dict) -> None:
    """Leave around the demo day, through the leave services (so an approved leave moves its
    duties to the colleague like any other): some past, some upcoming, some still pending, one
    refused. One set a month (the phone's request id carries the month): a second run the same
    month finds it; a run in a later month adds that month's set around its day."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from staffing.models import Doctor, keyed_hash
    from staffing.rosters.services.leave import leave_decide, leave_request_create
    from staffing.seeding import demo_doctor_data

    counts.setdefault("leave request", {"created": 0, "existing": 0})
    today = seed_today(counts)
    decider = get_user_model().objects.filter(username="county_admin").first()
    for number, (index, kind, offset, days, decision) in enumerate(DEMO_LEAVE):
        doctor = Doctor.objects.filter(id_number_hash=keyed_hash(demo_doctor_data(index)["id_number"])).first()
        if doctor is None:
            continue
        client_ref = f"demo-{today:%Y%m}-{number}"
        if LeaveRequest.objects.filter(doctor=doctor, client_ref=client_ref).exists():
            counts["leave request"]["existing"] += 1
            continue
        start = today + datetime.timedelta(days=offset)
        try:
            leave = leave_request_create(doctor=doctor, kind=kind, start_date=start, end_date=start + datetime.timedelta(days=days - 1),
                                         reason=LEAVE_REASONS[kind], acting_user=doctor.user, client_ref=client_ref)
            if decision != "pending":
                leave_decide(leave=leave, approve=decision == "approved", acting_user=decider,
                             note="" if decision == "approved" else "该日乡镇卫生院抽调人员检查，请改期（演示）")
        except ValidationError as refused:
            # Overlapping an earlier month's demo leave, or a day whose year has no calendar.
            seed_note(counts, _("A demo leave request of %(doctor)s was not made: %(reason)s")
                      % {"doctor": doctor.name, "reason": "；".join(refused.messages)})
            continue
        counts["leave request"]["created"] += 1
