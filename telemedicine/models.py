"""Teleconsultation: consultants and their weekly availability, the slots materialised from it,
village doctors' bookings with their lifecycle, outcomes and an event trail.

Capacity is enforced by the database: each slot keeps a `booked` counter changed only by a
conditional UPDATE (`… WHERE booked < places`) and a CheckConstraint `booked <= places`; on
PostgreSQL an exclusion constraint stops one patient holding two overlapping consults
(migration 0002)."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinics.models import Department, Facility


class Consultant(models.Model):
    """A specialist of the county hospital or a township centre who takes teleconsults."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="consultants"
    )
    name = models.CharField(_("full name"), max_length=50)
    title = models.CharField(_("professional title"), max_length=30, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultant",
    )
    doctor = models.OneToOneField(
        "staffing.Doctor",
        verbose_name=_("doctor register entry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultant",
        help_text=_("Links the consultant to the register so approved leave closes their slots."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        ordering = ["department__facility__code", "department__code", "name", "id"]
        verbose_name = _("consultant")
        verbose_name_plural = _("consultants")

    def __str__(self):
        name = f"{self.name}（演示）" if self.is_demo else self.name
        return f"{name} · {self.department.name}"

    @property
    def facility(self) -> Facility:
        return self.department.facility


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WeeklyAvailability(models.Model):
    """A recurring block of consulting time, cut into slots of `slot_minutes` with `places` each."""

    consultant = models.ForeignKey(
        Consultant, verbose_name=_("consultant"), on_delete=models.CASCADE, related_name="availabilities"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=20)
    places = models.PositiveSmallIntegerField(_("places per slot"), default=1)
    valid_from = models.DateField(_("effective from"), default=timezone.localdate)
    valid_until = models.DateField(_("effective until"), null=True, blank=True)

    class Meta:
        ordering = ["consultant", "weekday", "start_time"]
        verbose_name = _("weekly availability")
        verbose_name_plural = _("weekly availability")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")),
                name="availability_start_before_end",
                violation_error_message=_("The start time must be before the end time."),
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=240),
                name="availability_slot_length_range",
                violation_error_message=_("A slot lasts between 5 and 240 minutes."),
            ),
            models.CheckConstraint(
                condition=Q(places__gte=1) & Q(places__lte=20),
                name="availability_places_range",
                violation_error_message=_("A slot has between 1 and 20 places."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="availability_valid_range",
                violation_error_message=_("The end of the effective period cannot be before its start."),
            ),
        ]

    def __str__(self):
        return f"{self.consultant.name} {self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def applies_on(self, day: datetime.date) -> bool:
        return (
            day.weekday() == self.weekday
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class AvailabilityException(models.Model):
    """A day (or part of one) a consultant does not consult: leave, a meeting, a holiday duty."""

    class Kind(models.TextChoices):
        LEAVE = "leave", _("Leave")
        HOLIDAY = "holiday", _("Public holiday")
        OTHER = "other", _("Other")

    consultant = models.ForeignKey(
        Consultant, verbose_name=_("consultant"), on_delete=models.CASCADE, related_name="exceptions"
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"), null=True, blank=True, help_text=_("Empty for the whole day."))
    end_time = models.TimeField(_("end time"), null=True, blank=True, help_text=_("Empty for the whole day."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.LEAVE)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-date", "consultant"]
        verbose_name = _("availability exception")
        verbose_name_plural = _("availability exceptions")
        constraints = [
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (Q(start_time__isnull=False) & Q(end_time__isnull=False) & Q(start_time__lt=F("end_time"))),
                name="exception_times_complete",
                violation_error_message=_("Give both times (start before end), or neither for the whole day."),
            ),
        ]

    def __str__(self):
        return f"{self.consultant.name} {self.date} {self.get_kind_display()}"

    def covers(self, start: datetime.time, end: datetime.time) -> bool:
        if self.start_time is None:
            return True
        return self.start_time < end and start < self.end_time


class Slot(models.Model):
    """One bookable time of one consultant, materialised from availability for a horizon."""

    consultant = models.ForeignKey(Consultant, verbose_name=_("consultant"), on_delete=models.CASCADE, related_name="slots")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="teleconsult_slots"
    )
    availability = models.ForeignKey(
        WeeklyAvailability,
        verbose_name=_("weekly availability"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    places = models.PositiveSmallIntegerField(_("places"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)
    is_withdrawn = models.BooleanField(
        _("withdrawn"), default=False, help_text=_("Closed by an exception or a change of availability.")
    )

    class Meta:
        ordering = ["starts_at", "consultant"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.UniqueConstraint(fields=["consultant", "starts_at"], name="slot_unique_per_consultant_start"),
            models.CheckConstraint(
                condition=Q(booked__lte=F("places")),
                name="slot_booked_within_places",
                violation_error_message=_("A slot cannot hold more bookings than its places."),
            ),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="slot_start_before_end"),
        ]
        indexes = [models.Index(fields=["department", "starts_at"])]

    def __str__(self):
        local = timezone.localtime(self.starts_at)
        return f"{self.consultant.name} {local:%Y-%m-%d %H:%M}"

    @property
    def free_places(self) -> int:
        return max(self.places - self.booked, 0)


class ConsultBooking(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", pgettext_lazy("consult status", "Cancelled")
        NO_SHOW = "no_show", _("No-show")

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine")
        URGENT = "urgent", _("Urgent")

    class Mode(models.TextChoices):
        VIDEO = "video", _("Video")
        PHONE = "phone", _("Phone")

    class Side(models.TextChoices):
        DOCTOR = "doctor", _("Village doctor")
        CONSULTANT = "consultant", _("Consultant")
        ADMIN = "admin", _("Administrator")
        SYSTEM = "system", _("System")

    slot = models.ForeignKey(Slot, verbose_name=_("slot"), on_delete=models.PROTECT, related_name="bookings")
    consultant = models.ForeignKey(Consultant, verbose_name=_("consultant"), on_delete=models.PROTECT, related_name="bookings")
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(
        Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="teleconsult_bookings"
    )
    doctor = models.ForeignKey(
        "staffing.Doctor", verbose_name=_("village doctor"), on_delete=models.PROTECT, related_name="teleconsult_bookings"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    patient_name = models.CharField(_("patient name"), max_length=50)
    patient_sex = models.CharField(_("patient sex"), max_length=1, choices=Sex.choices)
    patient_birth_date = models.DateField(_("patient birth date"), null=True, blank=True)
    patient_age = models.PositiveSmallIntegerField(_("patient age"), null=True, blank=True)
    patient_id_number = models.CharField(_("patient ID number"), max_length=18, blank=True)
    patient_key = models.CharField(_("patient identity key"), max_length=64, db_index=True, editable=False)
    poverty_household = models.BooleanField(_("poverty-alleviation household"), default=False)
    chief_complaint = models.TextField(_("chief complaint"), max_length=1000)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.VIDEO)
    starts_at = models.DateTimeField(_("starts"), db_index=True)
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    room_token = models.CharField(_("video room token"), max_length=64, unique=True, editable=False)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=300, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cancelled by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_by_side = models.CharField(_("cancelled by (side)"), max_length=12, choices=Side.choices, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    reschedule_count = models.PositiveSmallIntegerField(_("times rescheduled"), default=0)

    # A booking in one of these states holds its slot's place and its patient's time.
    HOLDING = (Status.REQUESTED, Status.CONFIRMED, Status.IN_PROGRESS, Status.COMPLETED, Status.NO_SHOW)
    OPEN = (Status.REQUESTED, Status.CONFIRMED)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("consult booking")
        verbose_name_plural = _("consult bookings")
        constraints = [
            models.CheckConstraint(
                condition=Q(patient_birth_date__isnull=False) | Q(patient_age__isnull=False),
                name="booking_patient_birth_date_or_age",
                violation_error_message=_("Give the patient's birth date or age."),
            ),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="booking_start_before_end"),
        ]
        indexes = [
            models.Index(fields=["consultant", "starts_at"]),
            models.Index(fields=["facility", "starts_at"]),
            models.Index(fields=["department", "requested_at"]),
        ]

    def __str__(self):
        local = timezone.localtime(self.starts_at)
        return f"{self.patient_name} · {self.consultant.name} · {local:%Y-%m-%d %H:%M}"

    @property
    def patient_id_masked(self) -> str:
        from core.validators import mask_id_number

        return mask_id_number(self.patient_id_number)

    @property
    def holds_place(self) -> bool:
        return self.status in self.HOLDING


class ConsultOutcome(models.Model):
    booking = models.OneToOneField(
        ConsultBooking, verbose_name=_("consult booking"), on_delete=models.CASCADE, related_name="outcome"
    )
    findings = models.TextField(_("findings"), max_length=4000)
    advice = models.TextField(_("advice"), max_length=4000)
    medication_advice = models.TextField(_("medication advice"), max_length=4000, blank=True)
    referral = models.BooleanField(_("referral to the county hospital"), default=False)
    referral_department = models.ForeignKey(
        Department, verbose_name=_("referral department"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    follow_up_date = models.DateField(_("follow-up date"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("consult outcome")
        verbose_name_plural = _("consult outcomes")
        constraints = [
            models.CheckConstraint(
                condition=Q(referral=False) | Q(referral_department__isnull=False),
                name="outcome_referral_has_department",
                violation_error_message=_("A referral needs the county-hospital department to refer to."),
            ),
        ]

    def __str__(self):
        return str(self.booking)


class BookingEvent(models.Model):
    """Every change of a booking: who, when, from which state to which, and why."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", _("Consult requested")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        STARTED = "started", _("Started")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", pgettext_lazy("consult status", "Cancelled")
        NO_SHOW = "no_show", _("Marked no-show")
        RESCHEDULED = "rescheduled", _("Rescheduled")

    booking = models.ForeignKey(ConsultBooking, verbose_name=_("consult booking"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    from_status = models.CharField(_("from status"), max_length=12, blank=True)
    to_status = models.CharField(_("to status"), max_length=12)
    from_slot = models.ForeignKey(Slot, verbose_name=_("from slot"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_slot = models.ForeignKey(Slot, verbose_name=_("to slot"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("booking event")
        verbose_name_plural = _("booking events")

    def __str__(self):
        return f"{self.booking_id} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
