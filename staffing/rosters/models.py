"""Duty rosters on the official holiday calendar.

- `CalendarYear` says a year's official schedule is loaded; `HolidayDay` holds its public
  holidays and make-up workdays (调休). A year without a `CalendarYear` row cannot be planned.
- `RosterMonth` is one clinic's roster for one month (draft or published); `DutyDay` its rows:
  a day duty on a workday, or the on-call duty of a weekend day or public holiday.
- `CoverageGap` is a day nobody at the clinic can cover; `RosterAmendment` records every change
  to a published month (who, when, why).
- `LeaveRequest` and `SwapRequest` are the doctors' requests, decided by an admin.

Every model with a status declares its allowed steps once, at the end of this module
(`ROSTER_FLOW`, `LEAVE_FLOW`, `SWAP_FLOW`, `GAP_FLOW`, each a `core.transitions.StateMachine`);
the services change a status only through them, so a step the table does not allow is a 409.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinics.models import Facility
from core.transitions import StateMachine
from staffing.models import Doctor
from staffing.rosters import planner


class CalendarYear(models.Model):
    class Source(models.TextChoices):
        PACKAGE = "package", _("chinesecalendar package")
        CSV = "csv", _("CSV import")
        ADMIN = "admin", _("Entered in admin")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("holiday calendar year")
        verbose_name_plural = _("holiday calendar years")
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2100),
                name="calendar_year_in_range",
                violation_error_message=_("The year must be between 2000 and 2100."),
            )
        ]

    def __str__(self):
        return str(self.year)


class HolidayDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        MAKEUP_WORKDAY = "makeup_workday", _("Make-up workday (调休)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("holiday"), max_length=50)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday calendar day")
        verbose_name_plural = _("holiday calendar days")

    def __str__(self):
        return f"{self.date} {self.name} ({self.get_kind_display()})"

    @property
    def is_holiday(self) -> bool:
        return self.kind == self.Kind.HOLIDAY


class DayKind(models.TextChoices):
    WORKDAY = planner.WORKDAY, _("Workday")
    WEEKEND = planner.WEEKEND, _("Weekend")
    HOLIDAY = planner.HOLIDAY, _("Public holiday")


class RosterMonth(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="rosters")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-month", "facility__code"]
        verbose_name = _("monthly roster")
        verbose_name_plural = _("monthly rosters")
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "month"],
                name="one_roster_per_clinic_month",
                violation_error_message=_("This clinic already has a roster for this month."),
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="roster_month_first_day",
                violation_error_message=_("A roster month is given by its first day."),
            ),
        ]
        indexes = [
            models.Index(fields=["month", "status"]),
            # The admin list's order (RosterMonthAdmin.ordering): newest month, then clinic, read
            # from the index instead of sorting a province's rosters by the clinics' codes.
            models.Index(fields=["-month", "facility"], name="rostermonth_list_order"),
        ]

    def __str__(self):
        return f"{self.facility} {self.month:%Y-%m}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class DutyDay(models.Model):
    class Duty(models.TextChoices):
        DAY = planner.DAY_DUTY, _("Day duty")
        ON_CALL = planner.ON_CALL, _("On call")

    class Source(models.TextChoices):
        GENERATED = "generated", _("Generated")
        REPLANNED = "replanned", _("Re-planned after leave")
        SWAP = "swap", _("Swap")
        COVER = "cover", _("Cover from another clinic")
        MANUAL = "manual", _("Changed by hand in the grid")

    roster = models.ForeignKey(RosterMonth, verbose_name=_("roster"), on_delete=models.CASCADE, related_name="duties")
    # The (facility, date) index and the (doctor, date) unique constraint serve these two foreign
    # keys; fewer indexes keep a province-wide month's 700,000-row insert fast. `facility` repeats
    # the roster's clinic for indexing, so the database checks it through `roster` rather than
    # with a second foreign-key trigger per row (PROTECT still guards deletes in Django).
    facility = models.ForeignKey(
        Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    doctor = models.ForeignKey(
        Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="duties", db_index=False
    )
    date = models.DateField(_("date"))
    duty = models.CharField(_("duty"), max_length=10, choices=Duty.choices)
    day_kind = models.CharField(_("kind of day"), max_length=10, choices=DayKind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.GENERATED)

    class Meta:
        ordering = ["date", "duty", "doctor_id"]
        verbose_name = _("duty day")
        verbose_name_plural = _("duty days")
        constraints = [
            models.UniqueConstraint(
                fields=["doctor", "date"],
                name="one_duty_per_doctor_day",
                violation_error_message=_("This doctor already has a duty on this day."),
            ),
            models.UniqueConstraint(
                fields=["facility", "date"],
                condition=Q(duty="on_call"),
                name="one_on_call_per_clinic_day",
                violation_error_message=_("This clinic already has a doctor on call on this day."),
            ),
            models.CheckConstraint(
                condition=(Q(duty="day") & Q(day_kind="workday")) | (Q(duty="on_call") & ~Q(day_kind="workday")),
                name="duty_matches_day_kind",
                violation_error_message=_("Workdays have day duties; weekends and public holidays have on-call duties."),
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "date"]),
            # The admin list's order (Meta.ordering): its first page reads 50 index entries instead
            # of sorting the province's millions of rows (issue 18).
            models.Index(fields=["date", "duty", "doctor"], name="dutyday_list_order"),
            # Covers (a doctor's duty at another clinic) are few: planning a month asks for the
            # month's covers of 28,000 doctors, an empty probe each instead of their duties read.
            models.Index(fields=["doctor", "date"], condition=Q(source="cover"), name="dutyday_covers"),
        ]

    def __str__(self):
        return f"{self.date} {self.doctor} {self.get_duty_display()}"


class CoverageGap(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("gap status", "Open")
        COVERED = "covered", _("Covered")

    roster = models.ForeignKey(RosterMonth, verbose_name=_("roster"), on_delete=models.CASCADE, related_name="gaps")
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    day_kind = models.CharField(_("kind of day"), max_length=10, choices=DayKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # DO_NOTHING and no database constraint keep a draft's 700,000 duties fast to delete in bulk
    # (no per-row check against this table); the services clear gaps first and reopen a gap whose
    # cover duty goes.
    cover = models.ForeignKey(
        DutyDay, verbose_name=_("cover duty"), on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["date", "facility__code"]
        verbose_name = _("coverage gap")
        verbose_name_plural = _("coverage gaps")
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "date"], name="one_gap_per_clinic_day",
                violation_error_message=_("This clinic already has a gap on this day."),
            )
        ]
        indexes = [models.Index(fields=["status", "date"])]

    def __str__(self):
        return f"{self.facility} {self.date}"


class RosterAmendment(models.Model):
    """A change to a published roster: who, when and why."""

    class Action(models.TextChoices):
        LEAVE = "leave", _("Leave approved")
        SWAP = "swap", _("Swap approved")
        COVER = "cover", _("Cover assigned")

    roster = models.ForeignKey(RosterMonth, verbose_name=_("roster"), on_delete=models.CASCADE, related_name="amendments")
    date = models.DateField(_("date"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    before = models.CharField(_("before"), max_length=200, blank=True)
    after = models.CharField(_("after"), max_length=200, blank=True)
    reason = models.TextField(_("why"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("roster amendment")
        verbose_name_plural = _("roster amendments")

    def __str__(self):
        return f"{self.roster} {self.date} {self.get_action_display()}"


class DecisionStatus(models.TextChoices):
    # A swap waits for the colleague's consent first; only then does the township decide.
    AWAITING = "awaiting", pgettext_lazy("decision status", "Awaiting the colleague's consent")
    DECLINED = "declined", pgettext_lazy("decision status", "Declined by the colleague")
    PENDING = "pending", pgettext_lazy("decision status", "Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", pgettext_lazy("decision status", "Cancelled")


class Decided(models.Model):
    """Fields every admin-decided request carries."""

    status = models.CharField(_("status"), max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.PENDING)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta:
        abstract = True


class LeaveRequest(Decided):
    class Kind(models.TextChoices):
        ANNUAL = "annual", _("Annual leave")
        SICK = "sick", _("Sick leave")
        TRAINING = "training", _("Training")
        PERSONAL = "personal", _("Personal leave")

    # Leave needs no colleague's consent: the swap-only states are not among its choices.
    status = models.CharField(
        _("status"), max_length=10, default=DecisionStatus.PENDING,
        choices=[c for c in DecisionStatus.choices if c[0] not in (DecisionStatus.AWAITING, DecisionStatus.DECLINED)],
    )

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="leave_requests")
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type of leave"), max_length=10, choices=Kind.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    reason = models.TextField(_("reason"))
    # The admin who recorded the leave for the doctor (a doctor phoning in sick); empty when the
    # doctor asked on their own phone.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by admin"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )
    # The id the phone made up for the request (a request queued offline is sent again when the
    # network returns): a second request with the same id is the first one, not a new one.
    client_ref = models.CharField(_("request id on the phone"), max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("leave request")
        verbose_name_plural = _("leave requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="leave_end_after_start",
                violation_error_message=_("Leave cannot end before it starts."),
            ),
            models.UniqueConstraint(
                fields=["doctor", "client_ref"], condition=~Q(client_ref=""), name="leave_client_ref_once_per_doctor"
            ),
        ]
        indexes = [models.Index(fields=["doctor", "status", "start_date", "end_date"])]

    def __str__(self):
        return f"{self.doctor} {self.get_kind_display()} {self.start_date}–{self.end_date}"

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    @property
    def entered_by_admin(self) -> bool:
        return self.entered_by_id is not None


class LeaveEntitlement(models.Model):
    """Days of leave of one kind a doctor may take in a calendar year: the county's row (no doctor)
    for every doctor, or one doctor's own (longer service, a special arrangement), which wins.
    A year without a row takes the latest earlier year's. Days are calendar days, as a leave
    request counts them: a village doctor is on call on weekends and public holidays too, so
    every day of leave takes a possible duty off the roster.

    The defaults (migration 0008): annual 7 days (the statutory minimum of 带薪年休假, 5 working
    days for 1–10 years of service, is one calendar week), sick 30, training 15, personal 10."""

    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("type of leave"), max_length=10, choices=LeaveRequest.Kind.choices)
    doctor = models.ForeignKey(
        Doctor, verbose_name=_("doctor (empty: every doctor)"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="leave_entitlements",
    )
    days = models.PositiveSmallIntegerField(_("days a year"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-year", "kind", "doctor_id"]
        verbose_name = _("leave entitlement")
        verbose_name_plural = _("leave entitlements")
        constraints = [
            models.UniqueConstraint(
                fields=["year", "kind"], condition=Q(doctor__isnull=True), name="one_county_entitlement_per_year_kind",
                violation_error_message=_("The county already has an entitlement of this type for this year."),
            ),
            models.UniqueConstraint(
                fields=["year", "kind", "doctor"], condition=Q(doctor__isnull=False),
                name="one_doctor_entitlement_per_year_kind",
                violation_error_message=_("This doctor already has an entitlement of this type for this year."),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2100) & Q(days__lte=366),
                name="entitlement_year_and_days_in_range",
                violation_error_message=_("The year must be between 2000 and 2100 and the days at most 366."),
            ),
        ]

    def __str__(self):
        who = self.doctor.name if self.doctor_id else _("every doctor")
        return f"{self.year} {self.get_kind_display()} {who}: {self.days}"


class SwapRequest(Decided):
    """`requester` hands over the duty of `give_date` to `counterpart`; with `take_date`, takes
    the counterpart's duty of that day in return."""

    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    requester = models.ForeignKey(Doctor, verbose_name=_("requested by doctor"), on_delete=models.PROTECT, related_name="+")
    counterpart = models.ForeignKey(Doctor, verbose_name=_("colleague"), on_delete=models.PROTECT, related_name="+")
    give_date = models.DateField(_("duty handed over"))
    take_date = models.DateField(_("duty taken in return"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.AWAITING)
    colleague_answered_at = models.DateTimeField(_("colleague answered at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-give_date", "-id"]
        verbose_name = _("swap request")
        verbose_name_plural = _("swap requests")
        constraints = [
            models.CheckConstraint(
                condition=~Q(requester=models.F("counterpart")),
                name="swap_between_two_doctors",
                violation_error_message=_("A swap needs two different doctors."),
            )
        ]

    def __str__(self):
        return f"{self.requester} ⇄ {self.counterpart} {self.give_date}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


def default_alarm_minutes() -> int:
    return settings.ICAL_ALARM_MINUTES_BEFORE


class CalendarFeed(models.Model):
    """The unguessable address of a doctor's iCalendar feed (reset it to revoke old links) and the
    doctor's choices for it: a reminder before each duty, and the language of the events."""

    doctor = models.OneToOneField(Doctor, verbose_name=_("doctor"), on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    alarm = models.BooleanField(_("remind me before each duty"), default=True)
    alarm_minutes = models.PositiveSmallIntegerField(_("minutes before the duty"), default=default_alarm_minutes)
    language = models.CharField(_("language of the events"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    # When the choices above last changed: the feed's Last-Modified is never older.
    updated_at = models.DateTimeField(_("settings changed"), default=timezone.now)

    class Meta:
        ordering = ["doctor_id"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.CheckConstraint(
                condition=Q(alarm_minutes__gte=1) & Q(alarm_minutes__lte=10080),
                name="feed_alarm_within_a_week",
                violation_error_message=_("The reminder must be between 1 minute and 7 days before the duty."),
            )
        ]

    def __str__(self):
        return str(self.doctor)


class FeedEvent(models.Model):
    """A published duty of a doctor's calendar feed that changed after publication: taken off the
    doctor (leave, swapped away: CANCELLED) or given to them (a replacement, a swap, a cover:
    CONFIRMED), with the event's SEQUENCE and when it last changed. A published duty without a row
    here is the event as published (SEQUENCE 0, modified when the month was published), so
    publishing writes nothing here and the table holds only the amended days."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", pgettext_lazy("feed event status", "Cancelled")

    # The unique constraint's index starts with the doctor: the feed reads one doctor's rows by date.
    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField(_("date"))
    duty = models.CharField(_("duty"), max_length=10, choices=DutyDay.Duty.choices)
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.CASCADE, related_name="+")
    day_kind = models.CharField(_("kind of day"), max_length=10, choices=DayKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    sequence = models.PositiveIntegerField(_("revision"), default=0)
    modified = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        ordering = ["doctor_id", "date"]
        verbose_name = _("calendar feed change")
        verbose_name_plural = _("calendar feed changes")
        constraints = [
            models.UniqueConstraint(fields=["doctor", "date", "duty"], name="one_feed_event_per_doctor_day_duty")
        ]

    def __str__(self):
        return f"{self.date} {self.doctor} {self.get_duty_display()} {self.get_status_display()}"


# --- Allowed status changes ---------------------------------------------------------------------


def _roster_refusal(roster, to) -> str:
    return _("The roster of %(month)s is already published: change it through leave, swaps or cover.") % {
        "month": f"{roster.month:%Y-%m}",
    }


def _request_refusal(request, to) -> str:
    if to == DecisionStatus.CANCELLED:
        return str(_("Only a pending request can be withdrawn."))
    if request.status == DecisionStatus.AWAITING and to in (DecisionStatus.APPROVED, DecisionStatus.REJECTED):
        return str(_("This swap still waits for the colleague's consent; it can be decided once they agree."))
    if to in (DecisionStatus.PENDING, DecisionStatus.DECLINED):
        return _("This swap no longer waits for your answer (%(status)s).") % {"status": request.get_status_display()}
    return _("This request was already decided (%(status)s).") % {"status": request.get_status_display()}


def _gap_refusal(gap, to) -> str:
    if to == CoverageGap.Status.COVERED:
        return str(_("This gap is already covered."))
    return str(_("This gap is already open."))


ROSTER_FLOW = StateMachine(
    model=RosterMonth,
    allowed={RosterMonth.Status.DRAFT: {RosterMonth.Status.PUBLISHED}},
    audit_prefix="roster",
    refusal=_roster_refusal,
)
LEAVE_FLOW = StateMachine(
    model=LeaveRequest,
    allowed={DecisionStatus.PENDING: {DecisionStatus.APPROVED, DecisionStatus.REJECTED, DecisionStatus.CANCELLED}},
    audit_prefix="leave",
    refusal=_request_refusal,
)
# The colleague consents (pending: the township decides) or declines (the end); the requester may
# withdraw until the township has decided.
SWAP_FLOW = StateMachine(
    model=SwapRequest,
    allowed={
        DecisionStatus.AWAITING: {DecisionStatus.PENDING, DecisionStatus.DECLINED, DecisionStatus.CANCELLED},
        DecisionStatus.PENDING: {DecisionStatus.APPROVED, DecisionStatus.REJECTED, DecisionStatus.CANCELLED},
    },
    audit_prefix="swap",
    refusal=_request_refusal,
)
# A covered gap opens again when its cover duty goes (the covering doctor's leave is approved).
GAP_FLOW = StateMachine(
    model=CoverageGap,
    allowed={CoverageGap.Status.OPEN: {CoverageGap.Status.COVERED}, CoverageGap.Status.COVERED: {CoverageGap.Status.OPEN}},
    audit_prefix="gap",
    refusal=_gap_refusal,
)
