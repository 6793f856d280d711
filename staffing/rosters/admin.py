"""Admin of rosters, in Chinese: the holiday calendar (editable, CSV import, package load),
monthly rosters (generate, publish, summary export), leave and swap decisions with the gaps a
leave would create, coverage gaps with cover candidates, and the amendment log."""

import datetime
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import CountyWritesMixin, ReadOnlyAdmin, ScopedAdmin, TownshipFilter
from clinics.models import Township
from clinics.scoping import is_county_wide, scope_choices, user_role
from core.admin import AuditHistoryMixin
from core.errors import DomainError
from core.months import add_months, month_start
from core.paginators import EstimatedCountPaginator
from core.tabular import validate_upload_size
from staffing.admin import ClinicOrDoctorSearchMixin
from staffing.models import Doctor
from staffing.rosters import grid as roster_grid_module
from staffing.rosters import holidays, printing, selectors
from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.exports import month_summary_xlsx_response
from staffing.rosters.forms import CoverForm, GenerateForm, GridForm, ReassignForm
from staffing.rosters.jobs import (
    county_as_job,
    publish_preview,
    roster_job_start,
    roster_selection_job_start,
    selection_as_job,
    summary_export_start,
)
from staffing.rosters.models import (
    ROSTER_FLOW,
    CalendarYear,
    CoverageGap,
    DutyDay,
    HolidayDay,
    RosterAmendment,
    RosterMonth,
)
from staffing.rosters.services import holidays as holiday_services
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.reach import DECIDING_ROLES
from staffing.rosters.services.reassign import duty_reassign, reassign_candidates

REFUSALS = (ValidationError, PermissionDenied, DomainError)


def _text(exc: Exception):
    return exc.messages if isinstance(exc, ValidationError) else str(exc)


def _errors(request, exc: Exception) -> None:
    text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)


# --- Holiday calendar ---------------------------------------------------------------------------


class CalendarImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"), validators=[validate_upload_size])


class CountyCalendarMixin(CountyWritesMixin):
    """The holiday calendar rules every township's rosters: only county-wide roles with the
    permission change it (a township admin may read it)."""

    def changelist_view(self, request, extra_context=None):
        """An action this user is not offered (a township admin posting reload_from_package by
        hand) is refused with a message instead of being silently ignored."""
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            messages.error(request, gettext("Only the county admin may load, reload or change the holiday calendar."))
            return redirect(request.get_full_path())
        return super().changelist_view(request, extra_context)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(CalendarYear)
class CalendarYearAdmin(CountyCalendarMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["year", "source", "loaded_at", "note"]
    search_fields = ["year", "note"]
    change_list_template = "admin/rosters/calendaryear/change_list.html"
    actions = ["reload_from_package"]

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="rosters_calendaryear_import"),
        ] + super().get_urls()

    @admin.action(description=_("Reload selected years from the chinesecalendar package"), permissions=["change"])
    def reload_from_package(self, request, queryset):
        for year in queryset.values_list("year", flat=True):
            try:
                holiday_services.holiday_year_load(year=year, acting_user=request.user, replace=True)
            except REFUSALS as exc:
                _errors(request, exc)
            else:
                messages.success(request, gettext("%(year)s reloaded.") % {"year": year})

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = holiday_services.holiday_calendar_import(upload=upload, filename=upload.name, acting_user=request.user)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                report = None
            if report is not None and report.ok:
                messages.success(
                    request,
                    gettext("Imported %(days)s days for %(years)s.") % {"days": report.days, "years": ", ".join(map(str, report.years))},
                )
                return redirect("admin:rosters_calendaryear_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import the holiday calendar"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rosters/calendaryear/import.html", context)

    def save_model(self, request, obj, form, change):
        holiday_services.calendar_year_save(year=obj, acting_user=request.user, change=change)

    def delete_model(self, request, obj):
        holiday_services.calendar_year_delete(year=obj, acting_user=request.user)


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        return [(y, y) for y in CalendarYear.objects.order_by("-year").values_list("year", flat=True)[:30]]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=self.value()) if self.value() else queryset


@admin.register(HolidayDay)
class HolidayDayAdmin(CountyCalendarMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["date", "weekday", "kind", "name"]
    list_filter = [YearFilter, "kind"]
    search_fields = ["name"]
    date_hierarchy = "date"

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        # The locale's weekday name (星期一), not strftime's, which follows the C locale (Mon).
        return date_format(obj.date, "l")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class CalendarDayForm(form):
            def clean_date(self):
                day = self.cleaned_data["date"]
                if day is not None and (problem := holidays.year_range_problem(day.year)):
                    raise ValidationError(problem, code="year_out_of_range")
                return day

        return CalendarDayForm

    def save_model(self, request, obj, form, change):
        holiday_services.holiday_day_save(day=obj, acting_user=request.user, change=change)

    def delete_model(self, request, obj):
        holiday_services.holiday_day_delete(day=obj, acting_user=request.user)


# --- Rosters ------------------------------------------------------------------------------------


class AmendmentInline(admin.TabularInline):
    model = RosterAmendment
    fields = ["at", "date", "action", "before", "after", "reason", "by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")

    def has_add_permission(self, request, obj=None):
        return False


class MonthFilter(admin.SimpleListFilter):
    """The months that have rosters in the user's reach, named as months (2026年12月), newest first.
    They are read from the roster months (one row a clinic a month), never from the duty or gap rows
    (millions): the duty and gap lists filter by this instead of a date hierarchy, which scans its
    table for the months on every page."""

    title = _("month")
    parameter_name = "month"
    date_field = None  # the row's date the month narrows (a range on its index); None: RosterMonth.month

    def lookups(self, request, model_admin):
        return [(m.isoformat(), roster_grid_module.month_label(m)) for m in selectors.roster_months(user=request.user)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            first = month_start(datetime.date.fromisoformat(self.value()))
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from exc
        if self.date_field is None:
            return queryset.filter(month=first)
        return queryset.filter(**{f"{self.date_field}__gte": first, f"{self.date_field}__lt": add_months(first, 1)})


class DateMonthFilter(MonthFilter):
    date_field = "date"


def _calendar_missing(exc: CalendarMissing) -> str:
    """What to do about a year without a holiday calendar, with the link to its import page."""
    return format_html(
        '{} <a href="{}">{}</a>',
        gettext("The holiday calendar for %(year)s is not loaded, so its public holidays and make-up workdays are unknown "
                "and the month cannot be planned. Load %(year)s's calendar (the State Council's schedule) first:")
        % {"year": exc.year},
        reverse("admin:rosters_calendaryear_import"),
        gettext("import the holiday calendar"),
    )


@admin.register(RosterMonth)
class RosterMonthAdmin(ScopedAdmin):
    list_display = ["facility", "township", "month_display", "status", "generated_at", "published_at", "grid_link"]
    list_filter = ["status", MonthFilter, TownshipFilter]
    paginator = EstimatedCountPaginator  # a province's year is 170,000 roster months
    show_full_result_count = False
    search_fields = ["facility__name", "facility__code"]
    list_select_related = ["facility__township"]
    ordering = ["-month", "facility_id"]  # as the index `rostermonth_list_order` holds them
    fields = ["facility", "month_display", "status", "generated_at", "published_at", "published_by", "duty_calendar"]
    readonly_fields = fields
    inlines = [AmendmentInline]
    actions = ["regenerate", "publish"]
    change_list_template = "admin/rosters/rostermonth/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """The object tools (grid, plan, publish, export) need the permission in the context."""
        extra_context = {
            **(extra_context or {}),
            "has_change_permission": self.has_change_permission(request),
            "grid_url": reverse("admin:rosters_rostermonth_grid"),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("township"), ordering="facility__township__code")
    def township(self, obj):
        return obj.facility.township

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj):
        return roster_grid_module.month_label(obj.month)

    @admin.display(description=_("grid"))
    def grid_link(self, obj):
        url = f"{reverse('admin:rosters_rostermonth_grid')}?township={obj.facility.township_id}&month={obj.month:%Y-%m}"
        return format_html('<a href="{}">{}</a>', url, gettext("Open the grid"))

    @admin.display(description=_("duties"))
    def duty_calendar(self, obj):
        """The clinic's month as a grid (the township grid's block of this clinic)."""
        if obj is None or obj.pk is None:
            return "—"
        try:
            grid = roster_grid_module.roster_grid(
                user=self._request.user, township=obj.facility.township, month=obj.month, facility_ids=[obj.facility_id]
            )
        except CalendarMissing as exc:
            return _calendar_missing(exc)
        return render_to_string("admin/rosters/rostermonth/_grid_table.html", {
            "grid": grid, "can_change": False, "labels": roster_grid_module.kind_labels(), "marks": roster_grid_module.marks(),
        })

    def get_readonly_fields(self, request, obj=None):
        self._request = request  # duty_calendar reads the grid in the user's reach
        return super().get_readonly_fields(request, obj)

    def _group(self, queryset):
        by_month = defaultdict(list)
        for facility_id, month in queryset.values_list("facility_id", "month"):
            by_month[month].append(facility_id)
        return by_month

    def _start_jobs(self, request, *, action: str, by_month: dict):
        """One job per month of a selection spanning several townships (`by_month`: month → ids)."""
        jobs = [
            roster_selection_job_start(action=action, month=month, user=request.user,
                                       **({"facility_ids": ids} if action == "generate" else {"township_ids": ids}))
            for month, ids in sorted(by_month.items())
        ]
        messages.info(request, gettext("The selection spans several townships: it is being processed as a task; "
                                       "this page shows its progress."))
        if len(jobs) == 1:
            return redirect(reverse("operations:job-detail", args=[jobs[0].pk]))
        return redirect(reverse("operations:job-list"))

    @admin.action(description=_("Regenerate the selected draft months"), permissions=["change"])
    def regenerate(self, request, queryset):
        drafts = queryset.filter(status=RosterMonth.Status.DRAFT)
        townships = drafts.values("facility__township_id").distinct().count()
        if selection_as_job(townships=townships, rosters=drafts.count()):
            return self._start_jobs(request, action="generate", by_month=self._group(drafts))
        for month, facility_ids in sorted(self._group(drafts).items()):
            try:
                result = roster_generate(month=month, facility_ids=facility_ids, acting_user=request.user)
            except CalendarMissing as exc:
                messages.error(request, _calendar_missing(exc))
                continue
            except REFUSALS as exc:
                _errors(request, exc)
                continue
            messages.success(
                request,
                gettext("%(month)s: %(n)s rosters planned, %(gaps)s gaps.") % {"month": roster_grid_module.month_label(month), "n": result.replaced + result.created, "gaps": result.gaps},
            )

    @admin.action(description=_("Publish the selected months' townships"), permissions=["change"])
    def publish(self, request, queryset):
        drafts = queryset.filter(status__in=ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED))
        pairs = set(drafts.values_list("month", "facility__township_id"))
        if not pairs:
            messages.warning(request, gettext("None of the selected rosters is a draft: there is nothing to publish."))
            return None
        if request.POST.get("confirm") != "yes":  # first the page that says what will be published, and who is told
            return self._publish_confirmation(request, pairs, selection={
                "selected": list(queryset.values_list("pk", flat=True)),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            })
        townships = Township.objects.in_bulk({t for _m, t in pairs})
        targets = publish_preview(pairs=pairs)
        if selection_as_job(townships=len(townships), rosters=targets["rosters"]):
            by_month = defaultdict(list)
            for month, township_id in pairs:
                by_month[month].append(township_id)
            return self._start_jobs(request, action="publish", by_month=by_month)
        for month, township_id in sorted(pairs):
            try:
                count = roster_publish(month=month, township=townships.get(township_id), acting_user=request.user)
            except REFUSALS as exc:
                _errors(request, exc)
                continue
            messages.success(request, gettext("%(month)s: %(n)s rosters published.") % {"month": roster_grid_module.month_label(month), "n": count})

    def _publish_confirmation(self, request, pairs, *, selection=None, plan=None):
        """What publishing does, asked before it is done: every draft of each month and township
        is published, and each doctor on those rosters (with a login) is told. `selection` carries
        the changelist action's ticked rows; `plan` the plan page's month and township."""
        preview = publish_preview(pairs=pairs)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Publish rosters?"),
            "opts": self.model._meta,
            "preview": preview,
            "as_job": selection_as_job(townships=len({t for _m, t in pairs}), rosters=preview["rosters"]),
            "selection": selection,
            "plan": plan,
            "back": request.POST.get("back") or reverse("admin:rosters_rostermonth_changelist"),
            **(selection or {}),
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/publish_confirm.html", context)

    def get_urls(self):
        return [
            path("plan/", self.admin_site.admin_view(self.plan_view), name="rosters_rostermonth_plan"),
            path("grid/", self.admin_site.admin_view(self.grid_view), name="rosters_rostermonth_grid"),
            path("grid/print/", self.admin_site.admin_view(self.print_view), name="rosters_rostermonth_print"),
            path("grid/duty/<int:pk>/", self.admin_site.admin_view(self.reassign_view), name="rosters_rostermonth_reassign"),
        ] + super().get_urls()

    def _plan_form(self, request, data=None):
        townships = scope_choices(Township.objects.order_by("code"), request.user)
        form = GenerateForm(data, townships=townships)
        if not is_county_wide(request.user):  # "the whole county" is not theirs: only their township is offered
            form.fields["township"].required = True
            form.fields["township"].empty_label = None
        return form

    def plan_view(self, request):
        """Generate or publish a month for the county or a township, or export its summary.
        Publishing first shows what it publishes and who is told, and asks."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        initial = {"month": request.GET.get("month", ""), "township": request.GET.get("township")}
        form = self._plan_form(request, request.POST or None)
        if request.method != "POST":
            form.initial = {k: v for k, v in initial.items() if v}
        calendar_problem = None
        if request.method == "POST" and form.is_valid():
            month, township = form.cleaned_data["month"], form.cleaned_data["township"]
            try:
                if "export" in request.POST and township is None and county_as_job():  # the county's summary: a job
                    job = summary_export_start(month=month, user=request.user)
                    messages.info(request, gettext("The whole county's summary is being exported as a task; this page "
                                                   "offers the file when it is ready."))
                    return redirect(reverse("operations:job-detail", args=[job.pk]))
                if "export" in request.POST:
                    return month_summary_xlsx_response(
                        user=request.user, month=month, township_code=township.code if township else None
                    )
                if "publish" in request.POST and request.POST.get("confirm") != "yes":
                    pairs = self._month_pairs(request, month=month, township=township)
                    if pairs:
                        return self._publish_confirmation(request, pairs, plan={
                            "month": f"{month:%Y-%m}", "township": township.pk if township else "",
                        })
                    # nothing to publish: the service's own refusal (published already, or not planned)
                if township is None and county_as_job():  # a job with progress by township
                    job = roster_job_start(action="publish" if "publish" in request.POST else "generate",
                                           month=month, user=request.user)
                    messages.info(request, gettext("The whole county is being processed as a task; this page shows its progress."))
                    return redirect(reverse("operations:job-detail", args=[job.pk]))
                if "publish" in request.POST:
                    count = roster_publish(month=month, township=township, acting_user=request.user)
                    messages.success(request, gettext("%(month)s: %(n)s rosters published.") % {"month": roster_grid_module.month_label(month), "n": count})
                else:
                    result = roster_generate(month=month, township=township, acting_user=request.user)
                    messages.success(
                        request,
                        gettext("%(month)s: %(n)s rosters planned (%(kept)s published kept), %(gaps)s gaps.")
                        % {"month": roster_grid_module.month_label(month), "n": result.created + result.replaced, "kept": result.skipped_published, "gaps": result.gaps},
                    )
                if township is not None and request.POST.get("back"):
                    return redirect(request.POST["back"])
                return redirect(f"{reverse('admin:rosters_rostermonth_changelist')}?month={month.isoformat()}")
            except CalendarMissing as exc:
                calendar_problem = _calendar_missing(exc)
            except REFUSALS as exc:
                form.add_error(None, _text(exc))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Plan, publish or export a month"),
            "form": form,
            "calendar_problem": calendar_problem,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/plan.html", context)

    def _month_pairs(self, request, *, month, township) -> set:
        """The (month, township id) pairs with drafts to publish: the township's, or every
        township's in reach for the whole county."""
        drafts = self.get_queryset(request).filter(month=month, status__in=ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED))
        if township is not None:
            drafts = drafts.filter(facility__township=township)
        return set(drafts.values_list("month", "facility__township_id"))

    # --- The grid: a township's month, clinics and doctors by day ---------------------------------

    def _grid_target(self, request):
        """The township and month asked for (GET), in reach; defaults: the user's first township,
        this month."""
        townships = roster_grid_module.grid_townships(user=request.user)
        data = {
            "township": request.GET.get("township") or (townships.values_list("pk", flat=True).first() or ""),
            "month": request.GET.get("month") or f"{timezone.localdate():%Y-%m}",
        }
        form = GridForm(data, townships=townships)
        if not form.is_valid():
            return form, None, None
        return form, form.cleaned_data["township"], form.cleaned_data["month"]

    def grid_view(self, request):
        if request.method != "GET":  # a page to read; its changes go through the reassign page
            return HttpResponseNotAllowed(["GET"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, township, month = self._grid_target(request)
        grid = problem = None
        if township is not None:
            try:
                grid = roster_grid_module.roster_grid(user=request.user, township=township, month=month)
            except CalendarMissing as exc:
                problem = _calendar_missing(exc)
        can_change = self.has_change_permission(request) and user_role(request.user) in DECIDING_ROLES
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Roster grid"),
            "subtitle": (gettext("%(township)s, %(month)s") % {"township": township.name, "month": roster_grid_module.month_label(month)})
            if township is not None else "",
            "form": form,
            "grid": grid,
            "calendar_problem": problem,
            "can_change": can_change,
            "labels": roster_grid_module.kind_labels(),
            "marks": roster_grid_module.marks(),
            "month_value": f"{month:%Y-%m}" if month else "",
            "opts": self.model._meta,
            "back": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/grid.html", context)

    def print_view(self, request):
        """The printable roster (A4 PDF): one clinic's (`clinic` = its id) or the township's."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, township, month = self._grid_target(request)
        if township is None:
            raise PermissionDenied
        clinic_id = request.GET.get("clinic")
        try:
            facility_ids = [int(clinic_id)] if clinic_id else None
        except ValueError:
            facility_ids = []
        try:
            grid = roster_grid_module.roster_grid(user=request.user, township=township, month=month, facility_ids=facility_ids)
        except CalendarMissing as exc:
            messages.error(request, _calendar_missing(exc))
            return redirect(reverse("admin:rosters_rostermonth_grid"))
        if clinic_id:
            if not grid.clinics:
                raise PermissionDenied
            clinic = grid.clinics[0]
            content = printing.clinic_roster_pdf(grid, clinic)
            name = f"roster-{clinic.facility.code}-{month:%Y-%m}.pdf"
        else:
            content = printing.township_roster_pdf(grid)
            name = f"roster-{township.code}-{month:%Y-%m}.pdf"
        response = HttpResponse(content, content_type=printing.PDF)
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response

    def reassign_view(self, request, pk: int):
        """Give one duty of a draft to another doctor of the clinic; the rule a choice breaks is
        explained and nothing changes."""
        duty = roster_grid_module.duty_in_reach(user=request.user, pk=pk)
        if duty is None:
            raise Http404
        if not self.has_change_permission(request) or user_role(request.user) not in DECIDING_ROLES:
            raise PermissionDenied
        back = (f"{reverse('admin:rosters_rostermonth_grid')}?township={duty.facility.township_id}"
                f"&month={duty.date:%Y-%m}#clinic-{duty.facility_id}")
        if duty.roster.is_published:
            messages.error(request, gettext("The roster of %(clinic)s for %(month)s is published: change it through leave, swaps "
                                            "or cover, which are recorded as amendments and told to the doctors.")
                           % {"clinic": duty.facility.name, "month": roster_grid_module.month_label(duty.roster.month)})
            return redirect(back)
        candidates = reassign_candidates(duty=duty)
        form = ReassignForm(request.POST or None, candidates=candidates)
        if request.method == "POST" and form.is_valid():
            doctor = get_object_or_404(Doctor, pk=form.cleaned_data["doctor"])
            try:
                duty_reassign(duty=duty, doctor=doctor, acting_user=request.user, reason=form.cleaned_data["reason"])
            except REFUSALS as exc:
                if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                    for field_name, errors in exc.error_dict.items():
                        form.add_error(field_name if field_name in form.fields else None, errors)
                else:
                    form.add_error(None, _text(exc))
            else:
                messages.success(request, gettext("%(date)s: %(name)s now has the %(duty)s at %(clinic)s.") % {
                    "date": duty.date, "name": doctor.name, "duty": duty.get_duty_display(), "clinic": duty.facility.name,
                })
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reassign a duty: %(clinic)s %(date)s") % {"clinic": duty.facility.name, "date": duty.date},
            "form": form,
            "duty": duty,
            "candidates": candidates,
            "back": back,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/reassign.html", context)

@admin.register(DutyDay)
class DutyDayAdmin(ClinicOrDoctorSearchMixin, ReadOnlyAdmin):
    """Millions of rows at a province's scale: ordered as the (date, duty, doctor) index reads,
    months from the roster months, an estimated count once the rows are many."""

    list_display = ["date", "facility", "doctor", "duty", "day_kind", "source", "roster_status"]
    list_filter = [DateMonthFilter, "duty", "day_kind", "source", "roster__status"]
    search_fields = ["doctor__name", "facility__name", "facility__code"]  # (names the box; the search is the mixin's)
    search_help_text = _("A clinic's code finds its duties exactly; otherwise part of a clinic's or doctor's name.")
    list_select_related = ["facility", "doctor", "roster"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


    @admin.display(description=_("status"))
    def roster_status(self, obj):
        return obj.roster.get_status_display()


@admin.register(RosterAmendment)
class RosterAmendmentAdmin(ReadOnlyAdmin):
    facility_path = "roster__facility"
    list_display = ["at", "roster", "date", "action", "before", "after", "reason", "by"]
    search_fields = ["roster__facility__name", "roster__facility__code", "reason"]
    list_filter = ["action"]
    list_select_related = ["roster__facility", "by"]



# --- Gaps ---------------------------------------------------------------------------------------


class GapChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.model_admin._candidates = selectors.cover_candidates([g for g in self.result_list if g.status == CoverageGap.Status.OPEN])


@admin.register(CoverageGap)
class CoverageGapAdmin(ClinicOrDoctorSearchMixin, ReadOnlyAdmin):
    list_display = ["date", "facility", "day_kind", "status", "cover_doctor", "candidates"]
    list_filter = ["status", DateMonthFilter, "day_kind", TownshipFilter]
    list_select_related = ["facility__township", "cover__doctor", "roster"]
    search_fields = ["facility__name", "facility__code"]
    doctor_field = None
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return GapChangeList


    @admin.display(description=_("covered by"))
    def cover_doctor(self, obj):
        return obj.cover.doctor.name if obj.cover_id else "—"

    @admin.display(description=_("cover candidates (fewest on-call days this year first)"))
    def candidates(self, obj):
        if obj.status != CoverageGap.Status.OPEN:
            return "—"
        found = getattr(self, "_candidates", {}).get(obj.pk, [])
        link = reverse("admin:rosters_coveragegap_cover", args=[obj.pk])
        listed = format_html_join(", ", "{} ({}, {})", ((c.doctor.name, c.facility.name, c.oncall_this_year) for c in found[:3]))
        if not found:
            return gettext("no doctor of the township is free that day")
        return format_html('{} <a class="button" href="{}">{}</a>', listed, link, gettext("Assign cover"))

    def get_urls(self):
        return [
            path("<int:pk>/cover/", self.admin_site.admin_view(self.cover_view), name="rosters_coveragegap_cover"),
        ] + super().get_urls()

    def cover_view(self, request, pk: int):
        gap = get_object_or_404(self.get_queryset(request), pk=pk)
        if user_role(request.user) not in DECIDING_ROLES:
            raise PermissionDenied
        candidates = selectors.cover_candidates([gap]).get(gap.pk, [])
        form = CoverForm(request.POST or None, candidates=candidates)
        if request.method == "POST" and form.is_valid():
            doctor = get_object_or_404(Doctor, pk=form.cleaned_data["doctor"])
            try:
                gap_assign_cover(gap=gap, doctor=doctor, acting_user=request.user, reason=form.cleaned_data["reason"])
            except REFUSALS as exc:
                form.add_error(None, _text(exc))
            else:
                messages.success(request, gettext("%(name)s covers %(date)s.") % {"name": doctor.name, "date": gap.date})
                return redirect("admin:rosters_coveragegap_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Assign cover: %(clinic)s %(date)s") % {"clinic": gap.facility.name, "date": gap.date},
            "form": form,
            "gap": gap,
            "candidates": candidates,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rosters/coveragegap/cover.html", context)


from staffing.rosters import admin_requests  # noqa: E402,F401  (leave and swap decisions register there)
