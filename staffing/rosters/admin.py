"""Admin of rosters, in Chinese: the holiday calendar (editable, CSV import, package load),
monthly rosters (generate, publish, summary export), leave and swap decisions with the gaps a
leave would create, coverage gaps with cover candidates, and the amendment log."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import CountyWritesMixin, ReadOnlyAdmin, ScopedAdmin
from clinics.models import Township
from clinics.scoping import is_county_wide, scope_choices, user_role
from core.admin import AuditHistoryMixin
from core.errors import DomainError
from core.tabular import validate_upload_size
from staffing.models import Doctor
from staffing.rosters import holidays, selectors
from staffing.rosters.exports import month_summary_xlsx_response
from staffing.rosters.forms import CoverForm, GenerateForm
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
        return obj.date.strftime("%a")

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


class DutyInline(admin.TabularInline):
    model = DutyDay
    fields = ["date", "doctor", "duty", "day_kind", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["date", "duty"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("doctor")

    def has_add_permission(self, request, obj=None):
        return False


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


@admin.register(RosterMonth)
class RosterMonthAdmin(ScopedAdmin):
    list_display = ["facility", "township", "month_display", "status", "generated_at", "published_at"]
    list_filter = ["status", "month", ("facility__township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["facility__name", "facility__code"]
    list_select_related = ["facility__township"]
    readonly_fields = ["facility", "month", "status", "generated_at", "published_at", "published_by"]
    inlines = [DutyInline, AmendmentInline]
    actions = ["regenerate", "publish"]
    change_list_template = "admin/rosters/rostermonth/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("township"), ordering="facility__township__code")
    def township(self, obj):
        return obj.facility.township

    @admin.display(description=_("month"), ordering="month")
    def month_display(self, obj):
        return f"{obj.month:%Y-%m}"

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
            except REFUSALS as exc:
                _errors(request, exc)
                continue
            messages.success(
                request,
                gettext("%(month)s: %(n)s rosters planned, %(gaps)s gaps.") % {"month": f"{month:%Y-%m}", "n": result.replaced + result.created, "gaps": result.gaps},
            )

    @admin.action(description=_("Publish the selected months' townships"), permissions=["change"])
    def publish(self, request, queryset):
        drafts = queryset.filter(status__in=ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED))
        pairs = set(drafts.values_list("month", "facility__township_id"))
        if not pairs:
            messages.warning(request, gettext("None of the selected rosters is a draft: there is nothing to publish."))
            return None
        if request.POST.get("confirm") != "yes":  # first the page that says what will be published, and who is told
            return self._publish_confirmation(request, queryset, pairs)
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
            messages.success(request, gettext("%(month)s: %(n)s rosters published.") % {"month": f"{month:%Y-%m}", "n": count})

    def _publish_confirmation(self, request, queryset, pairs):
        """What publishing the selection does: every draft of each selected month and township is
        published, and each doctor on those rosters (with a login) is told."""
        preview = publish_preview(pairs=pairs)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Publish rosters?"),
            "opts": self.model._meta,
            "preview": preview,
            "selected": list(queryset.values_list("pk", flat=True)),
            "select_across": request.POST.get("select_across", "0"),
            "as_job": selection_as_job(townships=len({t for _m, t in pairs}), rosters=preview["rosters"]),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/publish_confirm.html", context)

    def get_urls(self):
        return [
            path("plan/", self.admin_site.admin_view(self.plan_view), name="rosters_rostermonth_plan"),
        ] + super().get_urls()

    def plan_view(self, request):
        """Generate or publish a month for the county or a township, or export its summary."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = GenerateForm(request.POST or None, townships=scope_choices(Township.objects.all(), request.user))
        if not is_county_wide(request.user):  # "the whole county" is not theirs to plan or publish
            form.fields["township"].required = True
            form.fields["township"].empty_label = None
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
                if township is None and county_as_job():  # a job with progress by township
                    job = roster_job_start(action="publish" if "publish" in request.POST else "generate",
                                           month=month, user=request.user)
                    messages.info(request, gettext("The whole county is being processed as a task; this page shows its progress."))
                    return redirect(reverse("operations:job-detail", args=[job.pk]))
                if "publish" in request.POST:
                    count = roster_publish(month=month, township=township, acting_user=request.user)
                    messages.success(request, gettext("%(month)s: %(n)s rosters published.") % {"month": f"{month:%Y-%m}", "n": count})
                else:
                    result = roster_generate(month=month, township=township, acting_user=request.user)
                    messages.success(
                        request,
                        gettext("%(month)s: %(n)s rosters planned (%(kept)s published kept), %(gaps)s gaps.")
                        % {"month": f"{month:%Y-%m}", "n": result.created + result.replaced, "kept": result.skipped_published, "gaps": result.gaps},
                    )
                return redirect(f"{reverse('admin:rosters_rostermonth_changelist')}?month={month.isoformat()}")
            except REFUSALS as exc:
                form.add_error(None, _text(exc))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Plan, publish or export a month"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rosters/rostermonth/plan.html", context)


@admin.register(DutyDay)
class DutyDayAdmin(ReadOnlyAdmin):
    list_display = ["date", "facility", "doctor", "duty", "day_kind", "source", "roster_status"]
    list_filter = ["duty", "day_kind", "source", "roster__status"]
    search_fields = ["doctor__name", "facility__name", "facility__code"]
    list_select_related = ["facility", "doctor", "roster"]
    date_hierarchy = "date"


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
class CoverageGapAdmin(ReadOnlyAdmin):
    list_display = ["date", "facility", "day_kind", "status", "cover_doctor", "candidates"]
    list_filter = ["status", "day_kind", ("facility__township", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["facility__township", "cover__doctor", "roster"]
    search_fields = ["facility__name", "facility__code"]
    date_hierarchy = "date"

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
