"""The contract register in the admin (imported by `staffing.payroll.admin`): the list, scoped to
the user's reach (search by doctor or clinic), the import page, and the year's assessment score
recorded through the service. Counts come only from imports: entries are not added by hand."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.admin_base import ServiceRefusalMixin
from clinics.models import Role
from clinics.scoping import user_role
from core.admin import AuditHistoryMixin
from core.tabular import TableError, validate_upload_size
from staffing.payroll.contracts import importing, services
from staffing.payroll.contracts.models import ContractRegister
from staffing.payroll.contracts.selectors import contract_register_list

IMPORT_ROLES = {Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER}


class ContractImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Contract list (CSV or XLSX)"), validators=[validate_upload_size])


class ContractRegisterForm(forms.ModelForm):
    class Meta:
        model = ContractRegister
        fields = ["assessment_score"]


@admin.register(ContractRegister)
class ContractRegisterAdmin(ServiceRefusalMixin, AuditHistoryMixin, admin.ModelAdmin):
    form = ContractRegisterForm
    list_display = ["doctor", "clinic", "township", "service_year", "residents", "households", "assessment_score",
                    "assessment_paid_month", "source", "imported_at"]
    list_filter = ["service_year", "is_demo"]
    search_fields = ["doctor__name", "doctor__postings__facility__name"]
    list_per_page = 50
    readonly_fields = ["doctor", "service_year", "residents", "households", "source", "imported_at", "imported_by",
                       "assessment_recorded_at", "assessment_paid_month", "is_demo"]
    fields = ["doctor", "service_year", "residents", "households", "source", "imported_at", "imported_by", "assessment_score",
              "assessment_recorded_at", "assessment_paid_month", "is_demo"]
    change_list_template = "admin/payroll/contractregister/change_list.html"

    def get_queryset(self, request):
        return contract_register_list(user=request.user)

    @admin.display(description=gettext_lazy("clinic"), ordering="clinic_name")
    def clinic(self, obj):
        return obj.clinic_name or "—"

    @admin.display(description=gettext_lazy("township"), ordering="township_name")
    def township(self, obj):
        return obj.township_name or "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_import(self, request) -> bool:
        return user_role(request.user) in IMPORT_ROLES and self.has_view_permission(request)

    def save_model(self, request, obj, form, change):
        if "assessment_score" not in form.changed_data:
            return
        if obj.assessment_score is None:
            raise ValidationError(_("A recorded score cannot be removed; enter the corrected score instead."))
        services.contract_assessment_record(register=obj, score=obj.assessment_score, acting_user=request.user)

    def changelist_view(self, request, extra_context=None):
        extra = {**(extra_context or {}), "can_import": self.can_import(request)}
        return super().changelist_view(request, extra)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="payroll_contractregister_import")] + super().get_urls()

    def import_view(self, request):
        """Upload → every row checked → saved all or nothing, or every wrong row listed."""
        if not self.can_import(request):
            messages.error(request, _("You do not have permission to import the contract list."))
            return redirect("admin:payroll_contractregister_changelist")
        form = ContractImportForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "title": _("Import the family-doctor contract list"), "opts": self.model._meta,
                   "form": form, "columns": importing.COLUMNS, "required": importing.REQUIRED + [importing.DOCTOR_ID]}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = services.contracts_import(upload=upload, filename=upload.name, acting_user=request.user)
            except TableError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                form.add_error(None, "；".join(exc.messages))
            else:
                if report.ok:
                    messages.success(request, _("Imported %(contracts)d resident contracts: %(created)d new register entries, %(updated)d replaced.")
                                     % {"contracts": report.contracts, "created": report.created, "updated": report.updated})
                    for note in report.notes:
                        messages.warning(request, note)
                    return redirect(reverse("admin:payroll_contractregister_changelist"))
                context["report"] = report
        return TemplateResponse(request, "admin/payroll/contractregister/import.html", context)
