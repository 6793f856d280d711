"""Bank files in the admin (in Chinese): formats with their columns and header/trailer fields
(validated, saved through the service, audited), paying banks with their format, payments marked
outside the bank file, and the pay run's download (immediate for a small run, a job for a large
one). Registered from `staffing.payroll.admin`."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.admin_base import CountyWritesMixin, ServiceRefusalMixin
from core.admin import AuditHistoryMixin
from staffing.payroll import jobs as payroll_jobs
from staffing.payroll.bankfiles import jobs as bank_jobs
from staffing.payroll.bankfiles import selectors, services
from staffing.payroll.bankfiles.formats import column_problems, format_level_problems, summary_problems
from staffing.payroll.bankfiles.render import BankFileError
from staffing.payroll.models import (
    BankFileColumn,
    BankFileFormat,
    BankFileSummaryField,
    PayingBank,
    PaymentOutsideFile,
    PayRun,
)


def _kept(formset) -> list:
    return [f.instance for f in formset.forms
            if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE") and (f.instance.pk or f.has_changed())]


class ColumnFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        problems = column_problems(self.instance, _kept(self))
        if problems:
            raise ValidationError(problems)


class SummaryFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        problems = summary_problems(self.instance, _kept(self))
        if problems:
            raise ValidationError(problems)


class BankFileColumnInline(CountyWritesMixin, admin.TabularInline):
    model = BankFileColumn
    formset = ColumnFormSet
    fields = ["position", "field", "title", "width", "align", "fill", "value"]
    extra = 0
    ordering = ["position"]


class BankFileSummaryFieldInline(CountyWritesMixin, admin.TabularInline):
    model = BankFileSummaryField
    formset = SummaryFormSet
    fields = ["part", "position", "kind", "cell", "width", "align", "fill", "value"]
    extra = 0


class BankFileFormatForm(forms.ModelForm):
    class Meta:
        model = BankFileFormat
        fields = ["code", "name", "file_type", "notes", "encoding", "line_ending", "delimiter", "quote_char", "sheet_name",
                  "first_data_row", "title_row", "amount_unit", "amount_decimals", "max_records", "file_extension"]

    def clean(self):
        cleaned = super().clean()
        problems = format_level_problems(self.instance.__class__(**{k: v for k, v in cleaned.items() if k in FORMAT_FORM_FIELDS}))
        if problems:
            raise ValidationError(problems)
        return cleaned


FORMAT_FORM_FIELDS = {"file_type", "encoding", "line_ending", "delimiter", "quote_char", "title_row", "sheet_name", "first_data_row",
                      "amount_unit", "amount_decimals", "max_records", "file_extension", "code", "name"}


@admin.register(BankFileFormat)
class BankFileFormatAdmin(CountyWritesMixin, ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    form = BankFileFormatForm
    list_display = ["code", "name", "file_type", "encoding", "amount_unit", "amount_decimals", "max_records", "bank_list", "is_shipped"]
    search_fields = ["code", "name"]
    list_filter = ["file_type", "encoding"]
    inlines = [BankFileColumnInline, BankFileSummaryFieldInline]
    readonly_fields = ["is_shipped"]
    fieldsets = [
        (None, {"fields": ["code", "name", "file_type", "notes", "is_shipped"]}),
        (gettext_lazy("Text files"), {"fields": ["encoding", "line_ending", "delimiter", "quote_char"]}),
        (gettext_lazy("Sheets"), {"fields": ["sheet_name", "first_data_row"]}),
        (gettext_lazy("Rows and amounts"), {"fields": ["title_row", "amount_unit", "amount_decimals", "max_records", "file_extension"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("banks")

    @admin.display(description=gettext_lazy("paying banks"))
    def bank_list(self, obj):
        return "、".join(b.bank_name for b in obj.banks.all()) or "—"

    def save_model(self, request, obj, form, change):
        """Saved with its columns in save_related, by the service (one validation, one audit)."""

    def save_formset(self, request, form, formset, change):
        """Done by save_related through the service."""

    def save_related(self, request, form, formsets, change):
        columns = next(f for f in formsets if f.model is BankFileColumn)
        summary = next(f for f in formsets if f.model is BankFileSummaryField)
        deleted = [f.instance for fs in (columns, summary) for f in fs.forms
                   if getattr(f, "cleaned_data", None) and f.cleaned_data.get("DELETE") and f.instance.pk]
        for formset in (columns, summary):  # what the admin's change message reads
            kept = [f for f in formset.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
            formset.new_objects = [f.instance for f in kept if not f.instance.pk and f.has_changed()]
            formset.changed_objects = [(f.instance, f.changed_data) for f in kept if f.instance.pk and f.has_changed()]
            formset.deleted_objects = [f.instance for f in formset.forms
                                       if getattr(f, "cleaned_data", None) and f.cleaned_data.get("DELETE") and f.instance.pk]
        services.bank_format_save(file_format=form.instance, columns=_kept(columns), summary_fields=_kept(summary), delete=deleted,
                                  acting_user=request.user)


@admin.register(PayingBank)
class PayingBankAdmin(CountyWritesMixin, ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["bank_name", "file_format", "branch_code", "purpose"]
    list_select_related = ["file_format"]
    search_fields = ["bank_name"]
    fields = ["bank_name", "file_format", "branch_code", "purpose", "notes"]

    def save_model(self, request, obj, form, change):
        services.paying_bank_save(bank=obj, acting_user=request.user)


class PaymentOutsideFileForm(forms.ModelForm):
    class Meta:
        model = PaymentOutsideFile
        fields = ["run", "doctor", "reason"]


@admin.register(PaymentOutsideFile)
class PaymentOutsideFileAdmin(ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    """Payslips the payroll officer pays outside the bank file. Added (with a reason) and removed
    while the run is calculated; never edited."""

    form = PaymentOutsideFileForm
    list_display = ["doctor", "run", "reason", "marked_by", "marked_at"]
    list_select_related = ["doctor", "run__township", "marked_by"]
    list_filter = [("run", admin.RelatedOnlyFieldListFilter)]  # only the runs of marks in reach
    search_fields = ["doctor__name", "reason"]
    autocomplete_fields = ["doctor"]

    def get_queryset(self, request):
        runs = selectors.runs_in_reach(user=request.user)
        return super().get_queryset(request).filter(run__in=runs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "run":
            kwargs["queryset"] = selectors.runs_in_reach(user=request.user).filter(status=PayRun.Status.CALCULATED)
        if db_field.name == "doctor":
            from clinics.scoping import scope_choices

            kwargs["queryset"] = scope_choices(db_field.remote_field.model._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        return {k: v for k, v in request.GET.items() if k in ("run", "doctor") and v.isdigit()}

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        mark = services.payment_outside_file_mark(run=obj.run, doctor=obj.doctor, reason=obj.reason, acting_user=request.user)
        obj.pk = mark.pk

    def delete_model(self, request, obj):
        services.payment_outside_file_unmark(mark=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        """All the selected marks or none: a mark whose run is no longer calculated refuses the lot."""
        try:
            with transaction.atomic():
                for mark in queryset:
                    services.payment_outside_file_unmark(mark=mark, acting_user=request.user)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
            return redirect("admin:payroll_paymentoutsidefile_changelist")


def bank_export_response(export: services.BankExport) -> HttpResponse:
    response = HttpResponse(export.zip_bytes(), content_type=services.ZIP_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export.zip_name}"'
    return response


class PayRunBankFilesMixin:
    """The pay run's bank files: a read-only section on the run's page and the download (also as
    the list action `export_bank_files`)."""

    @admin.display(description=gettext_lazy("bank payment files"))
    def bank_files(self, obj):
        if obj.status in selectors.EXPORTABLE:
            label = _("Download the bank files and control sheet (ZIP)")
            note = _(" (large run: written by a background task)") if payroll_jobs.runs_as_job(obj) else ""
            return format_html('<a class="button" href="{}">{}</a>{}', reverse("admin:payroll_payrun_bank_files", args=[obj.pk]), label, note)
        marks = reverse("admin:payroll_paymentoutsidefile_changelist") + f"?run__id__exact={obj.pk}"
        add = reverse("admin:payroll_paymentoutsidefile_add") + f"?run={obj.pk}"
        return format_html(
            '{} <a href="{}">{}</a> · <a href="{}">{}</a>',
            _("The bank files can be downloaded once the run is approved."), marks, _("Payments outside the bank file"),
            add, _("Mark a payslip paid outside the bank file"),
        )

    def get_urls(self):
        return [
            path("<int:run_id>/bank-files/", self.admin_site.admin_view(self.bank_files_view), name="payroll_payrun_bank_files"),
        ] + super().get_urls()

    def _bank_files_download(self, request, run):
        if payroll_jobs.runs_as_job(run):
            job = bank_jobs.start_export(run=run, user=request.user)
            return redirect("operations:job-detail", job.pk)
        try:
            export = services.bank_export_build(runs=[run], acting_user=request.user)
        except BankFileError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return redirect("admin:payroll_payrun_change", run.pk)
        return bank_export_response(export)

    def bank_files_view(self, request, run_id):
        run = selectors.runs_in_reach(user=request.user).filter(pk=run_id).first()
        if run is None or not self.has_view_permission(request, run):
            raise Http404
        return self._bank_files_download(request, run)

    @admin.action(description=gettext_lazy("Download the bank files and control sheet (ZIP)"))
    def export_bank_files(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one run."), level=messages.WARNING)
            return None
        run = selectors.runs_in_reach(user=request.user).filter(pk=queryset.first().pk).first()
        if run is None:
            raise Http404
        return self._bank_files_download(request, run)

