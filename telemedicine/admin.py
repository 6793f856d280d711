"""Teleconsult admin, scoped by reach: consultants and their availability by the consulting
facility; bookings by the village clinic. Bookings change only through the lifecycle services,
so their admin is read-only; the department × month report has an XLSX export."""

import datetime

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from clinics.admin_base import ScopedAdmin, ServiceRefusalMixin
from core.tabular import AUTO, INT, xlsx_bytes
from telemedicine import conf
from telemedicine.models import (
    AvailabilityException,
    BookingEvent,
    Consultant,
    ConsultBooking,
    ConsultOutcome,
    Slot,
    WeeklyAvailability,
)
from telemedicine.selectors import report_by_department_month, report_rows
from telemedicine.services.availability import availability_delete, availability_save, exception_delete, exception_save
from telemedicine.services.calendar import years_without_calendar
from telemedicine.services.consultants import consultant_save
from telemedicine.services.slots import slot_withdrawn_set


class NoAddNoDelete:
    """Rows written only by the services: viewable, never added or deleted here, and saving the
    (read-only) form writes nothing, so it cannot put back values a service changed meanwhile."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        return None


def _warn_open_bookings(model_admin, request, report) -> None:
    if report.bookings_on_withdrawn:
        model_admin.message_user(
            request,
            _("%(n)s open consults fall in the withdrawn time; decline or reschedule them.") % {"n": report.bookings_on_withdrawn},
            level=messages.WARNING,
        )


def _warn_missing_calendar(model_admin, request, years) -> None:
    """Availability reaching into a year without a holiday calendar offers no slots on its days:
    say so (the slots follow once the county loads that calendar)."""
    for year in years:
        model_admin.message_user(
            request,
            _(
                "No slots are offered in %(year)s yet: the %(year)s holiday calendar is not loaded. "
                "They appear once it is imported."
            ) % {"year": year},
            level=messages.WARNING,
        )


def _warn_horizon_calendar(model_admin, request) -> None:
    today = timezone.localdate()
    _warn_missing_calendar(model_admin, request, years_without_calendar(today, today + datetime.timedelta(days=conf.slot_horizon_days())))


class WeeklyAvailabilityInline(admin.TabularInline):
    model = WeeklyAvailability
    extra = 0
    fields = ["weekday", "start_time", "end_time", "slot_minutes", "places", "valid_from", "valid_until"]


@admin.register(Consultant)
class ConsultantAdmin(ServiceRefusalMixin, ScopedAdmin):
    facility_path = "department__facility"
    list_display = ["name", "title", "department", "user", "is_active", "is_demo"]
    list_filter = ["is_active", "is_demo", "department__facility__kind", "department__name"]
    search_fields = ["name", "department__name", "user__username"]
    list_select_related = ["department__facility", "user"]
    raw_id_fields = ["user", "doctor"]
    inlines = [WeeklyAvailabilityInline]

    def save_model(self, request, obj, form, change):
        consultant_save(consultant=obj, acting_user=request.user)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            availability_delete(availability=deleted, acting_user=request.user)
        for instance in instances:
            availability_save(availability=instance, acting_user=request.user)
        formset.save_m2m()
        if instances:
            _warn_horizon_calendar(self, request)


@admin.register(WeeklyAvailability)
class WeeklyAvailabilityAdmin(ServiceRefusalMixin, ScopedAdmin):
    facility_path = "consultant__department__facility"
    list_display = ["consultant", "weekday", "start_time", "end_time", "slot_minutes", "places", "valid_from", "valid_until"]
    list_filter = ["weekday", "consultant__department__name"]
    search_fields = ["consultant__name"]
    list_select_related = ["consultant__department__facility"]
    raw_id_fields = ["consultant"]

    def save_model(self, request, obj, form, change):
        availability_save(availability=obj, acting_user=request.user)
        _warn_horizon_calendar(self, request)

    def delete_model(self, request, obj):
        availability_delete(availability=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            availability_delete(availability=obj, acting_user=request.user)


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(ServiceRefusalMixin, ScopedAdmin):
    facility_path = "consultant__department__facility"
    list_display = ["consultant", "date", "start_time", "end_time", "kind", "reason"]
    list_filter = ["kind", "consultant__department__name"]
    search_fields = ["consultant__name", "reason"]
    date_hierarchy = "date"
    list_select_related = ["consultant__department__facility"]
    raw_id_fields = ["consultant"]

    def save_model(self, request, obj, form, change):
        report = exception_save(exception=obj, acting_user=request.user)
        _warn_open_bookings(self, request, report)
        _warn_missing_calendar(self, request, report.missing_calendar_years)

    def delete_model(self, request, obj):
        exception_delete(exception=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            exception_delete(exception=obj, acting_user=request.user)


@admin.register(Slot)
class SlotAdmin(NoAddNoDelete, ServiceRefusalMixin, ScopedAdmin):
    facility_path = "department__facility"
    list_display = ["starts_at", "ends_at", "consultant", "department", "places", "booked", "is_withdrawn"]
    list_filter = ["is_withdrawn", "department__name"]
    search_fields = ["consultant__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["consultant__department__facility", "department__facility"]
    readonly_fields = ["consultant", "department", "availability", "starts_at", "ends_at", "places", "booked"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        """Only "withdrawn" is editable here; it changes through the audited service."""
        _warn_open_bookings(self, request, slot_withdrawn_set(slot=obj, withdrawn=obj.is_withdrawn, acting_user=request.user))


class EventStatusLabels:
    """An event's statuses as their Chinese labels (the event stores the booking's status codes)."""

    @admin.display(description=_lazy("from status"), ordering="from_status")
    def from_status_label(self, obj):
        return _status_label(obj.from_status)

    @admin.display(description=_lazy("to status"), ordering="to_status")
    def to_status_label(self, obj):
        return _status_label(obj.to_status)


class BookingEventInline(EventStatusLabels, NoAddNoDelete, admin.TabularInline):
    model = BookingEvent
    extra = 0
    fields = ["at", "kind", "from_status_label", "to_status_label", "from_slot", "to_slot", "actor", "note"]
    readonly_fields = fields


class ConsultOutcomeInline(NoAddNoDelete, admin.StackedInline):
    model = ConsultOutcome
    extra = 0
    fields = ["findings", "advice", "medication_advice", "referral", "referral_department", "follow_up_date", "recorded_by", "recorded_at"]
    readonly_fields = fields


@admin.register(ConsultBooking)
class ConsultBookingAdmin(NoAddNoDelete, ScopedAdmin):
    facility_path = "facility"
    list_display = ["starts_at", "patient_name", "facility", "doctor", "consultant", "department", "mode", "urgency", "status"]
    list_filter = ["status", "mode", "urgency", "department__name", "poverty_household"]
    search_fields = ["patient_name", "doctor__name", "consultant__name", "facility__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["facility", "doctor", "consultant__department", "department__facility"]
    inlines = [ConsultOutcomeInline, BookingEventInline]
    exclude = ["patient_id_number"]
    readonly_fields = [
        "slot", "consultant", "department", "facility", "doctor", "requested_by", "patient_name", "patient_sex",
        "patient_birth_date", "patient_age", "patient_id_masked", "poverty_household", "chief_complaint", "urgency",
        "mode", "starts_at", "ends_at", "status", "requested_at", "confirmed_at", "started_at", "finished_at",
        "decline_reason", "cancelled_at", "cancelled_by", "cancelled_by_side", "cancel_reason", "reschedule_count",
    ]
    show_full_result_count = False
    change_list_template = "admin/telemedicine/consultbooking/change_list.html"

    @admin.display(description=_lazy("patient ID number"))
    def patient_id_masked(self, obj):
        return obj.patient_id_masked

    def get_urls(self):
        return [
            path("report/", self.admin_site.admin_view(self.report_view), name="telemedicine_consultbooking_report"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        today = timezone.localdate()
        try:
            start = datetime.date.fromisoformat(request.GET.get("start", "") + "-01") if request.GET.get("start") else today.replace(month=1, day=1)
            end_month = datetime.date.fromisoformat(request.GET.get("end", "") + "-01") if request.GET.get("end") else today.replace(day=1)
            if not (conf.plausible_day(start) and conf.plausible_day(end_month) and start <= end_month):
                raise ValueError("months out of range or in the wrong order")
        except ValueError:
            self.message_user(
                request, _("Give months as YYYY-MM between 2000 and 2100, the first not after the second."), level=messages.ERROR
            )
            start, end_month = today.replace(month=1, day=1), today.replace(day=1)
        end = (end_month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
        report = report_by_department_month(user=request.user, start=start, end=end)
        headers = [
            _("Month"), _("Facility"), _("Department"), _("Bookings"), _("Completed"), _("No-shows"),
            pgettext("consult status", "Cancelled"), _("Declined"), _("Median wait request → consult (hours)"),
        ]
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(
                xlsx_bytes(headers, report_rows(report), sheet_title=_("Teleconsults"), kinds=[AUTO] * 3 + [INT] * 5 + [AUTO]),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            response["Content-Disposition"] = f'attachment; filename="teleconsult-report-{start:%Y%m}-{end:%Y%m}.xlsx"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Teleconsults by department and month"),
            "opts": self.model._meta,
            "headers": headers,
            "rows": report_rows(report),
            "start": f"{start:%Y-%m}",
            "end": f"{end:%Y-%m}",
            "changelist_url": reverse("admin:telemedicine_consultbooking_changelist"),
        }
        return TemplateResponse(request, "admin/telemedicine/report.html", context)


@admin.register(ConsultOutcome)
class ConsultOutcomeAdmin(NoAddNoDelete, ScopedAdmin):
    facility_path = "booking__facility"
    list_display = ["booking", "referral", "referral_department", "follow_up_date", "recorded_at"]
    search_fields = ["booking__patient_name", "booking__facility__name"]
    list_filter = ["referral", "referral_department__name"]
    list_select_related = ["booking__consultant", "referral_department"]
    readonly_fields = ["booking", "findings", "advice", "medication_advice", "referral", "referral_department", "follow_up_date", "recorded_by", "recorded_at"]


@admin.register(BookingEvent)
class BookingEventAdmin(EventStatusLabels, NoAddNoDelete, ScopedAdmin):
    facility_path = "booking__facility"
    list_display = ["at", "booking", "kind", "from_status_label", "to_status_label", "actor", "note"]
    search_fields = ["booking__patient_name", "note"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    list_select_related = ["booking__consultant", "actor"]
    readonly_fields = ["booking", "at", "actor", "kind", "from_status_label", "to_status_label", "from_slot", "to_slot",
                       "note"]  # fmt: skip
    show_full_result_count = False

    exclude = ["from_status", "to_status"]  # shown as their labels


def _status_label(code: str) -> str:
    """A booking status code stored on an event ("requested") as its Chinese label."""
    from telemedicine.models import ConsultBooking

    return str(ConsultBooking.Status(code).label) if code in ConsultBooking.Status.values else code
