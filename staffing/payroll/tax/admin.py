"""The tax part in the admin (Chinese): special additional deductions (scoped to the user's reach,
saved through the audited service, imported from the tax client's export), the one-off bonus tax
rules (county only, audited), the tax details on a payslip, and the pay run's tax-filing download
(immediate for a small run, a job above PAYROLL_JOB_THRESHOLD). Registered from
`staffing.payroll.admin`."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.admin_base import CountyWritesMixin, ScopedAdmin, ServiceRefusalMixin
from core.admin import AuditHistoryMixin
from core.audit import audit_record
from core.tabular import TableError
from staffing.payroll import jobs as payroll_jobs
from staffing.payroll.models import BonusTaxRule, PayRun, SpecialDeduction
from staffing.payroll.money import yuan
from staffing.payroll.tax import deductions, filing
from staffing.payroll.tax import jobs as tax_jobs
from staffing.payroll.tax.bonus import BONUS, bonus_sentence, bonus_tax_rule_save

# --- Special additional deductions ---------------------------------------------------------------


class DeductionImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (XLSX or CSV)"))


@admin.register(SpecialDeduction)
class SpecialDeductionAdmin(ServiceRefusalMixin, ScopedAdmin):
    facility_path = None
    list_display = ["doctor", "month", "children_education", "continuing_education", "mortgage_interest", "housing_rent", "elderly_care",
                    "infant_care", "personal_pension", "source", "entered_by"]
    list_filter = ["month", "source"]
    list_select_related = ["doctor", "entered_by"]
    search_fields = ["doctor__name"]
    autocomplete_fields = ["doctor"]
    exclude = ["entered_by", "entered_at", "source"]
    change_list_template = "admin/payroll/specialdeduction/change_list.html"

    def get_queryset(self, request):
        return deductions.special_deduction_list(user=request.user).select_related("entered_by")

    def save_model(self, request, obj, form, change):
        deductions.special_deduction_save(deduction=obj, acting_user=request.user)

    def delete_model(self, request, obj):
        deductions.special_deduction_delete(deduction=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        """All the selected rows or none: a row of a frozen month refuses the lot, with its reason."""
        try:
            with transaction.atomic():
                for obj in queryset:
                    deductions.special_deduction_delete(deduction=obj, acting_user=request.user)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
            return redirect("admin:payroll_specialdeduction_changelist")

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="payroll_specialdeduction_import")] + super().get_urls()

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DeductionImportForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "title": _("Import special additional deductions"), "opts": self.model._meta,
                   "form": form, "rule": deductions.import_rule()}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = deductions.special_deductions_import(upload=upload, filename=upload.name, acting_user=request.user)
            except TableError as exc:
                form.add_error("file", str(exc))
            else:
                if report.ok:
                    messages.success(request, _("Imported: %(created)d new rows, %(updated)d updated.") % {
                        "created": report.created, "updated": report.updated})
                    return redirect("admin:payroll_specialdeduction_changelist")
                context["report"] = report
        return TemplateResponse(request, "admin/payroll/specialdeduction/import.html", context)


@admin.register(BonusTaxRule)
class BonusTaxRuleAdmin(CountyWritesMixin, ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "basis", "valid_from", "valid_until"]

    def has_delete_permission(self, request, obj=None):
        return False  # a rule that taxed bonuses stays on record; end it with "valid until"

    def save_model(self, request, obj, form, change):
        bonus_tax_rule_save(rule=obj, acting_user=request.user)


# --- On the payslip ------------------------------------------------------------------------------


def payslip_tax_html(slip) -> str:
    """The payslip's special deductions (this month and year to date) and how each bonus was
    taxed (the method used, who chose it, the month's tax both ways)."""
    rows = deductions.payslip_deductions(slip)
    parts = []
    if rows:
        parts.append(format_html(
            '<table class="tax-deductions"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("Special additional deduction"), _("This month"), _("Year to date"),
            format_html_join("", '<tr data-deduction="{}"><td>{}</td><td>{}</td><td>{}</td></tr>',
                             ((r.name, r.label, yuan(r.month), yuan(r.ytd)) for r in rows)),
        ))
    for line in slip.lines.all():
        if line.component == BONUS and line.source.get("tax_method"):
            parts.append(format_html('<p class="bonus-tax" data-method="{}">{}</p>', line.source["tax_method"], bonus_sentence(line.source, line.amount)))
    return format_html("{}", format_html_join("", "{}", ((p,) for p in parts))) if parts else _("None")


class PayslipTaxMixin:
    @admin.display(description=gettext_lazy("income tax details"))
    def tax_details(self, obj):
        return payslip_tax_html(obj)


# --- The pay run's tax filing ---------------------------------------------------------------------


def filing_response(result: filing.Filing) -> HttpResponse:
    response = HttpResponse(result.content, content_type=filing.XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(result.filename)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


class PayRunTaxFilingMixin:
    """The month's tax filing from a pay run's page or the run list (action `export_tax_filing`):
    the filing of the run's month (a township admin's: their township's payslips only)."""

    @admin.display(description=gettext_lazy("income-tax filing"))
    def tax_filing(self, obj):
        if obj.status not in (PayRun.Status.APPROVED, PayRun.Status.PAID):
            return _("The tax filing can be downloaded once the run is approved.")
        note = _(" (large run: written by a background task)") if payroll_jobs.runs_as_job(obj) else ""
        return format_html('<a class="button" href="{}">{}</a>{}', reverse("admin:payroll_payrun_tax_filing", args=[obj.pk]),
                           _("Download the month's tax filing (XLSX)"), note)

    def get_urls(self):
        return [path("<int:run_id>/tax-filing/", self.admin_site.admin_view(self.tax_filing_view), name="payroll_payrun_tax_filing")] \
            + super().get_urls()

    def _tax_filing_download(self, request, run):
        try:
            township_id = filing.township_for(request.user)
        except PermissionError:
            raise Http404 from None
        if payroll_jobs.runs_as_job(run):
            job = tax_jobs.start_export(month=run.month, township_id=township_id, user=request.user)
            return redirect("operations:job-detail", job.pk)
        try:
            result = filing.tax_filing_build(month=run.month, township_id=township_id)
        except filing.FilingError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return redirect("admin:payroll_payrun_change", run.pk)
        audit_record(actor=request.user, action="payrun.export", target=run,
                     changes={"kind": "tax-filing", "people": len(result.people), "month": run.month})
        return filing_response(result)

    def tax_filing_view(self, request, run_id):
        run = self.get_queryset(request).filter(pk=run_id).first()
        if run is None or not self.has_view_permission(request, run):
            raise Http404
        return self._tax_filing_download(request, run)

    @admin.action(description=gettext_lazy("Download the month's tax filing (XLSX)"))
    def export_tax_filing(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one run."), level=messages.WARNING)
            return None
        return self._tax_filing_download(request, queryset.first())


__all__ = ["PayRunTaxFilingMixin", "PayslipTaxMixin", "payslip_tax_html"]
