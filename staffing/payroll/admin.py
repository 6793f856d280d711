"""Payroll in the admin: policy versions, schemes, assessments and one-off items (through the
services, audited), pay runs with calculate / approve (with confirmation) / mark paid / export
actions and the monthly chart, and read-only payslips with their traceable lines."""

import datetime
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.admin_base import ReadOnlyAdmin, ScopedAdmin, ScopedChoicesMixin, ServiceRefusalMixin
from core.admin import AuditHistoryMixin
from staffing.payroll import exports, jobs, services
from staffing.payroll.bankfiles.admin import PayRunBankFilesMixin  # also registers the bank file formats' admin
from staffing.payroll.contracts import admin as _contracts_admin  # noqa: F401  registers the contract register's admin
from staffing.payroll.contracts.forms import AssessmentForm, OneOffItemForm, PayPolicyForm
from staffing.payroll.models import (
    Assessment,
    InsuranceScheme,
    OneOffItem,
    PayPolicy,
    PayProfile,
    PayRun,
    Payslip,
    PayslipLine,
    PerformanceBand,
    PolicyComponent,
)
from staffing.payroll.money import yuan
from staffing.payroll.review.admin_views import funding_report_page
from staffing.payroll.review.display import (
    doctors_warned_count,
    line_number_display,
    money_display,
    payslip_warnings_html,
    warning_count_text,
    warnings_html,
)
from staffing.payroll.review.grouping import review_warnings
from staffing.payroll.review.sentences import line_sentence
from staffing.payroll.selectors import bank_account_changes, monthly_component_totals, runs_in_reach, year_to_date
from staffing.payroll.tax.admin import (  # also registers deductions and bonus tax rules
    PayRunTaxFilingMixin,
    PayslipTaxMixin,
)

# --- Policies --------------------------------------------------------------------------------------


class LockedPolicyMixin:
    """A policy version that approved payslips cite is frozen: enter a new version instead."""

    def has_change_permission(self, request, obj=None):
        policy = getattr(obj, "policy", obj)
        if policy is not None and policy.pk and services.policy_in_locked_use(policy):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        policy = getattr(obj, "policy", obj)
        if policy is not None and policy.pk and services.policy_in_locked_use(policy):
            return False
        return super().has_delete_permission(request, obj)


class PolicyComponentInline(LockedPolicyMixin, admin.TabularInline):
    model = PolicyComponent
    extra = 0


class PerformanceBandInline(LockedPolicyMixin, admin.TabularInline):
    model = PerformanceBand
    extra = 0


@admin.register(PayPolicy)
class PayPolicyAdmin(LockedPolicyMixin, ServiceRefusalMixin, ScopedChoicesMixin, AuditHistoryMixin, admin.ModelAdmin):
    form = PayPolicyForm
    list_display = ["name", "township_display", "effective_from", "guaranteed_minimum", "is_demo"]
    search_fields = ["name", "township__name"]
    list_filter = ["township", "is_demo"]
    list_select_related = ["township"]
    date_hierarchy = "effective_from"
    inlines = [PolicyComponentInline, PerformanceBandInline]

    @admin.display(description=gettext_lazy("township"), ordering="township__code")
    def township_display(self, obj):
        return obj.township.name if obj.township_id else _("county-wide")

    def save_model(self, request, obj, form, change):
        services.pay_policy_save(policy=obj, acting_user=request.user)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        services.pay_policy_parts_save(policy=form.instance, save=instances, delete=formset.deleted_objects, acting_user=request.user)


@admin.register(InsuranceScheme)
class InsuranceSchemeAdmin(ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["code", "name", "contribution_base", "employee_rate", "flat_amount", "is_default", "is_demo"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change):
        services.insurance_scheme_save(scheme=obj, acting_user=request.user)


@admin.register(PayProfile)
class PayProfileAdmin(ServiceRefusalMixin, ScopedAdmin):
    county_only = True
    list_display = ["doctor", "scheme", "exempt_from_insurance"]
    list_select_related = ["doctor", "scheme"]
    autocomplete_fields = ["doctor"]
    search_fields = ["doctor__name"]

    def save_model(self, request, obj, form, change):
        services.pay_profile_save(profile=obj, acting_user=request.user)


class ServiceSaveMixin(ServiceRefusalMixin):
    """Forms save through a service, which validates, audits and refuses locked months."""

    save_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        type(self).save_service(obj, acting_user=request.user)

    def delete_model(self, request, obj):
        if self.delete_service:
            type(self).delete_service(item=obj, acting_user=request.user)
        else:
            super().delete_model(request, obj)


@admin.register(Assessment)
class AssessmentAdmin(ServiceSaveMixin, ScopedAdmin):
    county_only = True
    form = AssessmentForm
    list_display = ["doctor", "period", "period_start", "score", "recorded_by", "recorded_at"]
    list_filter = ["period", "period_start"]
    list_select_related = ["doctor", "recorded_by"]
    search_fields = ["doctor__name"]
    autocomplete_fields = ["doctor"]
    exclude = ["recorded_by", "recorded_at"]

    @staticmethod
    def save_service(obj, *, acting_user):
        services.assessment_save(assessment=obj, acting_user=acting_user)

    def save_model(self, request, obj, form, change):
        from staffing.payroll.services.inputs import pay_path_message

        saved = services.assessment_save(assessment=obj, acting_user=request.user)
        note = pay_path_message(getattr(saved, "pay_path", None))
        if note:
            self.message_user(request, note, level=messages.WARNING)


@admin.register(OneOffItem)
class OneOffItemAdmin(ServiceSaveMixin, ScopedAdmin):
    county_only = True
    form = OneOffItemForm
    list_display = ["doctor", "month", "kind", "amount", "description", "tax_method", "entered_by"]
    list_filter = ["kind", "month"]
    list_select_related = ["doctor", "entered_by"]
    search_fields = ["doctor__name", "description"]
    autocomplete_fields = ["doctor"]
    exclude = ["entered_by", "entered_at"]

    @staticmethod
    def save_service(obj, *, acting_user):
        services.one_off_item_save(item=obj, acting_user=acting_user)

    @staticmethod
    def delete_service(*, item, acting_user):
        services.one_off_item_delete(item=item, acting_user=acting_user)


# --- Runs --------------------------------------------------------------------------------------------

def export_response(run: PayRun, kind: str) -> HttpResponse:
    content, content_type, name = exports.run_export(run, kind)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_or_job(request, run: PayRun, kind: str):
    """The export now, or for a run over PAYROLL_JOB_THRESHOLD doctors a job (its page opens,
    the file is downloaded there by the user who started it)."""
    if jobs.runs_as_job(run):
        return redirect("operations:job-detail", jobs.start_export(run=run, kind=kind, user=request.user).pk)
    services.payrun_export_record(run=run, kind=kind, acting_user=request.user)
    return export_response(run, kind)


def _bank_change_items(changes: list[dict]):
    """A list of bank-account changes (records as `BankAccountChange.as_record`), each doctor
    linked to their register entry."""
    return format_html(
        "<ul class=\"bank-changes\">{}</ul>",
        format_html_join(
            "",
            '<li><a href="{}">{}</a>（{}）：{} {} → {} {} · {}</li>',
            (
                (
                    reverse("admin:staffing_doctor_change", args=[c["doctor_id"]]), c["doctor_name"], c["clinic"],
                    c["old_bank_name"], c["old_account"] or "—", c["new_bank_name"], c["new_account"] or "—",
                    _("changed by %(user)s on %(when)s") % {
                        "user": c["changed_by"],
                        "when": f"{timezone.localtime(datetime.datetime.fromisoformat(c['changed_at'])):%Y-%m-%d %H:%M}",
                    },
                )
                for c in changes
            ),
        ),
    )


@admin.register(PayRun)
class PayRunAdmin(PayRunTaxFilingMixin, PayRunBankFilesMixin, ScopedChoicesMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "doctor_count", "gross_total_display", "deduction_total_display", "net_total_display", "warning_count",
                    "approved_at", "paid_at"]
    search_fields = ["township__name"]
    list_filter = ["status", "township"]
    list_select_related = ["township", "approved_by"]
    date_hierarchy = "month"
    change_list_template = "admin/payroll/payrun/change_list.html"
    actions = ["calculate", "approve", "mark_paid", "export_bank_files", "export_tax_filing", "export_summary_xlsx", "export_summary_csv", "export_pdf", "export_zip"]
    readonly_fields = ["status", "doctor_count", "gross_total_display", "deduction_total_display", "net_total_display", "warning_list",
                       "bank_change_list", "bank_files", "tax_filing",
                       "funding", "export_links", "created_at", "calculated_at", "approved_at", "approved_by", "paid_at"]

    def get_queryset(self, request):
        return runs_in_reach(user=request.user, queryset=super().get_queryset(request).annotate(doctors_warned=doctors_warned_count()))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["month", "township"]
        return ["month", "township"] + self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else ["month", "township"] + self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_locked)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_locked)

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.payrun_create(month=obj.month, township=obj.township, acting_user=request.user)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.payrun_delete(run=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for run in queryset:
            services.payrun_delete(run=run, acting_user=request.user)

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
            return redirect(request.get_full_path())

    gross_total_display = money_display("gross_total")
    deduction_total_display = money_display("deduction_total")
    net_total_display = money_display("net_total")

    @admin.display(description=gettext_lazy("warnings"))
    def warning_count(self, obj):
        return warning_count_text(obj)

    @admin.display(description=gettext_lazy("warnings before approval"))
    def warning_list(self, obj):
        return warnings_html(review_warnings(run=obj))

    @admin.display(description=gettext_lazy("bank-account changes"))
    def bank_change_list(self, obj):
        """Before approval: the changes the approver must check; after: what was acknowledged."""
        if obj.bank_changes_acknowledged_at:
            by = obj.bank_changes_acknowledged_by
            acknowledged = format_html(
                "<p>{}</p>", _("Acknowledged by %(user)s on %(when)s:") % {
                    "user": (by.get_full_name() or by.username) if by else _("the system (an import or a command)"),
                    "when": f"{timezone.localtime(obj.bank_changes_acknowledged_at):%Y-%m-%d %H:%M}",
                }
            )
            return acknowledged + _bank_change_items(obj.bank_changes_acknowledged)
        if obj.is_locked:
            return _("None")
        changes = [change.as_record() for change in bank_account_changes(run=obj)]
        return _bank_change_items(changes) if changes else _("None")

    @admin.display(description=gettext_lazy("earnings by funding source"))
    def funding(self, obj):
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}：{}</li>", ((label, yuan(amount)) for label, amount in exports.funding_rows(obj))))

    @admin.display(description=gettext_lazy("exports"))
    def export_links(self, obj):
        labels = {"summary-xlsx": _("Summary (XLSX)"), "summary-csv": _("Summary (CSV)"),
                  "pdf": _("All payslips (one PDF)"), "zip": _("All payslips (ZIP of PDFs)")}
        return format_html_join(" · ", '<a href="{}">{}</a>', ((reverse("admin:payroll_payrun_export", args=[obj.pk, k]), v) for k, v in labels.items()))

    def get_urls(self):
        return [
            path("<int:run_id>/export/<str:kind>/", self.admin_site.admin_view(self.export_view), name="payroll_payrun_export"),
            path("<int:run_id>/approve/", self.admin_site.admin_view(self.approve_view), name="payroll_payrun_approve"),
            path("funding-report/", self.admin_site.admin_view(self.funding_report_view), name="payroll_payrun_funding_report"),
        ] + super().get_urls()

    def funding_report_view(self, request):
        return funding_report_page(self, request)

    def changelist_view(self, request, extra_context=None):
        chart = exports.monthly_chart(monthly_component_totals(months=12, user=request.user))
        rows = [[category, *(yuan(Decimal(value)) for value in values)] for category, *values in chart.table]
        return super().changelist_view(request, {**(extra_context or {}), "payroll_chart": chart, "payroll_chart_rows": rows})

    def _run(self, request, run_id) -> PayRun:
        run = self.get_queryset(request).filter(pk=run_id).first()
        if run is None:
            raise Http404
        return run

    def export_view(self, request, run_id, kind):
        run = self._run(request, run_id)
        if kind not in exports.RUN_EXPORTS or not self.has_view_permission(request, run):
            raise Http404
        return export_or_job(request, run, kind)

    def approve_view(self, request, run_id):
        run = self._run(request, run_id)
        if not super().has_change_permission(request, run):
            raise Http404
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            # The changes the page listed, acknowledged only with the box ticked; the service
            # refuses when the run has a change that is not among them.
            shown = [int(pk) for pk in request.POST.getlist("bank_change") if pk.isascii() and pk.isdigit()]
            acknowledged = shown if request.POST.get("bank_changes_checked") == "yes" else []
            if jobs.runs_as_job(run):
                # A large run is approved on a worker; the
                # service refuses there as here, and the job's page shows the refusal.
                job = jobs.start_approval(run=run, user=request.user, acknowledge_warnings=True, acknowledged_bank_changes=acknowledged)
                return redirect("operations:job-detail", job.pk)
            try:
                services.payrun_approve(run=run, acting_user=request.user, acknowledge_warnings=True, acknowledged_bank_changes=acknowledged)
            except ValidationError as exc:
                self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
                return redirect("admin:payroll_payrun_approve", run.pk)
            self.message_user(request, _("The %(run)s run is approved; its payslips are now locked. The doctors are told when it is marked paid.") % {"run": run})
            return redirect("admin:payroll_payrun_change", run.pk)
        context = {**self.admin_site.each_context(request), "title": _("Approve the %(run)s run?") % {"run": run}, "run": run,
                   "review": review_warnings(run=run), "bank_changes": bank_account_changes(run=run) if run.status == PayRun.Status.CALCULATED else [],
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/payroll/payrun/approve_confirm.html", context)

    # --- actions ---

    def _job_started(self, request, job, text: str) -> None:
        """Tell the user a job took over the work, with a link to its progress page."""
        self.message_user(request, format_html('{} <a href="{}">{}</a>', text, reverse("operations:job-detail", args=[job.pk]),
                                               _("Follow its progress")))

    def _one(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one run."), level=messages.WARNING)
            return None
        return queryset.first()

    @admin.action(description=gettext_lazy("Calculate the selected runs"))
    def calculate(self, request, queryset):
        """A run over PAYROLL_JOB_THRESHOLD doctors is calculated by a job (one run selected: its
        progress page opens); smaller runs are calculated here and now."""
        started = []
        for run in queryset.order_by("month"):
            if jobs.runs_as_job(run):
                job = jobs.start_calculation(run=run, user=request.user)
                started.append(job)
                self._job_started(request, job, _("%(run)s is being calculated by a background task.") % {"run": run})
                continue
            try:
                services.payrun_calculate(run=run, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{run}：" + "；".join(exc.messages), level=messages.ERROR)
            else:
                self.message_user(request, _("%(run)s calculated.") % {"run": run})
        if len(started) == 1 and queryset.count() == 1:
            return redirect("operations:job-detail", started[0].pk)
        return None

    @admin.action(description=gettext_lazy("Approve the selected run (asks for confirmation)"))
    def approve(self, request, queryset):
        run = self._one(request, queryset)
        return redirect("admin:payroll_payrun_approve", run.pk) if run else None

    @admin.action(description=gettext_lazy("Mark the selected runs paid (asks for confirmation)"))
    def mark_paid(self, request, queryset):
        """First an intermediate page (the runs, their doctors and totals, who approved them and who
        marks them paid); only its confirm button (confirm=yes) marks them paid and tells the doctors."""
        ready, refused = [], []
        for run in queryset.select_related("township", "approved_by").order_by("month", "township__code"):
            try:
                services.RUN_FLOW.check(run, PayRun.Status.PAID)
            except ValidationError as exc:
                refused.append((run, "；".join(exc.messages)))
            else:
                ready.append(run)
        if request.POST.get("confirm") != "yes":
            if not ready:
                for run, reason in refused:
                    self.message_user(request, f"{run}：{reason}", level=messages.ERROR)
                return None
            context = {**self.admin_site.each_context(request), "title": _("Mark these runs paid?"), "runs": ready, "refused": refused,
                       "doctor_count": sum(r.doctor_count for r in ready), "net_total": sum((r.net_total for r in ready), Decimal("0")),
                       "gross_total": sum((r.gross_total for r in ready), Decimal("0")), "opts": self.model._meta,
                       "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME}
            return TemplateResponse(request, "admin/payroll/payrun/mark_paid_confirm.html", context)
        for run, reason in refused:
            self.message_user(request, f"{run}：{reason}", level=messages.ERROR)
        started = []
        for run in ready:
            if jobs.runs_as_job(run):
                # A large run is marked paid on a worker (its doctors are told there).
                job = jobs.start_mark_paid(run=run, user=request.user)
                started.append(job)
                self._job_started(request, job, _("%(run)s is being marked paid by a background task.") % {"run": run})
                continue
            try:
                services.payrun_mark_paid(run=run, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{run}：" + "；".join(exc.messages), level=messages.ERROR)
            else:
                self.message_user(request, _("%(run)s marked paid; its doctors are told their pay is paid.") % {"run": run})
        if len(started) == 1 and len(ready) == 1:
            return redirect("operations:job-detail", started[0].pk)
        return None

    def _export(self, request, queryset, kind):
        run = self._one(request, queryset)
        if run is None:
            return None
        return export_or_job(request, run, kind)

    @admin.action(description=gettext_lazy("Export the summary (XLSX)"))
    def export_summary_xlsx(self, request, queryset):
        return self._export(request, queryset, "summary-xlsx")

    @admin.action(description=gettext_lazy("Export the summary (CSV)"))
    def export_summary_csv(self, request, queryset):
        return self._export(request, queryset, "summary-csv")

    @admin.action(description=gettext_lazy("Export all payslips as one PDF"))
    def export_pdf(self, request, queryset):
        return self._export(request, queryset, "pdf")

    @admin.action(description=gettext_lazy("Export all payslips as a ZIP of PDFs"))
    def export_zip(self, request, queryset):
        return self._export(request, queryset, "zip")


# --- Payslips -------------------------------------------------------------------------------------


class PayslipLineInline(admin.TabularInline):
    model = PayslipLine
    fields = ["component", "kind", "description", "quantity_display", "rate_display", "amount_display", "reference_month", "policy",
              "funding_source", "source_sentence"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    quantity_display = line_number_display("quantity")
    rate_display = line_number_display("rate")
    amount_display = money_display("amount")

    @admin.display(description=gettext_lazy("source"))
    def source_sentence(self, obj):
        return line_sentence(obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("policy__township")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payslip)
class PayslipAdmin(PayslipTaxMixin, ReadOnlyAdmin):
    """Payslips are written only by calculating their run: read-only here."""

    facility_path = "facility"
    list_display = ["doctor", "month", "facility", "township", "payable_days", "gross_display", "deductions_display", "net_display",
                    "has_warnings", "run_status"]
    list_filter = ["month", "run__status", "township"]
    list_select_related = ["doctor", "facility", "township", "run"]
    # Newest month first, then run, township, clinic and doctor, as the index `payslip_list_order`
    # holds them (grouped by township and clinic; by name it would sort every payslip through joins).
    ordering = ["-month", "run_id", "township_id", "facility_id", "doctor_id"]
    search_fields = ["doctor__name"]
    inlines = [PayslipLineInline]
    readonly_fields = ["run", "doctor", "month", "facility", "township", "payable_days", "days_in_month", "gross_display",
                       "deductions_display", "net_display", "taxable_income_display", "social_insurance_display", "income_tax_display",
                       "bank_name", "warning_sentences", "tax_details", "links"]
    exclude = ["bank_account", "gross", "deductions", "net", "taxable_income", "social_insurance", "income_tax", "warnings"]
    gross_display = money_display("gross")
    deductions_display = money_display("deductions")
    net_display = money_display("net")
    taxable_income_display = money_display("taxable_income")
    social_insurance_display = money_display("social_insurance")
    income_tax_display = money_display("income_tax")

    @admin.display(description=gettext_lazy("warnings"))
    def warning_sentences(self, obj):
        return payslip_warnings_html(obj)

    @admin.display(description=gettext_lazy("warnings"), boolean=True)
    def has_warnings(self, obj):
        return bool(obj.warnings)

    @admin.display(description=gettext_lazy("status"), ordering="run__status")
    def run_status(self, obj):
        return obj.run.get_status_display()

    @admin.display(description=gettext_lazy("links"))
    def links(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:payroll_payslip_pdf", args=[obj.pk]), _("Payslip PDF"),
            reverse("admin:payroll_payslip_ytd", args=[obj.doctor_id, obj.month.year]), _("Year to date"),
        )

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payroll_payslip_pdf"),
            path("ytd/<int:doctor_id>/<int:year>/", self.admin_site.admin_view(self.ytd_view), name="payroll_payslip_ytd"),
        ] + super().get_urls()

    def pdf_view(self, request, pk):
        slip = self.get_queryset(request).filter(pk=pk).select_related("run", "township").first()
        if slip is None:
            raise Http404
        response = HttpResponse(exports.payslips_pdf([slip]), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{exports.payslip_filename(slip)}"'
        return response

    def ytd_view(self, request, doctor_id, year):
        visible = self.get_queryset(request).filter(doctor_id=doctor_id)
        slip = visible.select_related("doctor").first()
        if slip is None:
            raise Http404
        context = {**self.admin_site.each_context(request), "title": _("%(doctor)s: year to date %(year)d") % {"doctor": slip.doctor, "year": year},
                   "ytd": year_to_date(doctor_id=doctor_id, year=year), "doctor": slip.doctor, "opts": self.model._meta,
                   "years": [year - 1, year, year + 1] if year < timezone.localdate().year else [year - 1, year]}
        return TemplateResponse(request, "admin/payroll/payslip/ytd.html", context)

