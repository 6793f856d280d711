"""Admin for the settlement log: read-only log with an estimated count, uploads with their
rejected rows, reconciliation with the bureau, activity anomalies, the monthly summary."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import CountyWritesMixin, ReadOnlyAdmin, ScopedAdmin, ServiceRefusalMixin, TownshipFilter
from clinics.models import Facility, Role
from clinics.scoping import has_role, is_county_wide, scope_facilities
from clinics.settlements.dictionaries import code_display, dictionary_label
from clinics.settlements.dictionaries import load as load_dictionaries
from clinics.settlements.jobs import (
    discrepancy_export_as_job,
    discrepancy_export_start,
    discrepancy_xlsx,
    is_large,
    reconcile_as_job,
    reconciliation_start,
    settlement_import_start,
)
from clinics.settlements.models import (
    ActivityAnomaly,
    BureauStatement,
    BureauTotal,
    PlatformCode,
    Reconciliation,
    ReconciliationItem,
    ReconciliationTotal,
    RejectedSettlementRow,
    SettlementImport,
    SettlementImportWarning,
    SettlementKey,
    SettlementRecord,
    StmtResult,
)
from clinics.settlements.partitions import add_months, month_start
from clinics.settlements.selectors import (
    clinic_month_summary,
    discrepancy_rows,
    item_advice,
    item_difference,
    month_bounds,
    practitioner_month_summary,
    reconciliation_rows,
    records_by_setl_id,
)
from clinics.settlements.services import (
    anomalies_detect,
    answer_record,
    answers_import,
    can_upload,
    reconciliation_compute,
    result_import,
    settlements_import,
)
from clinics.settlements.services import dictionaries as dictionary_services
from clinics.settlements.services.reconciliation import (
    check_period,
    detail_file,
    detail_rows,
    detail_zip,
    input_fields,
    month_period,
)
from clinics.settlements.spec import FIELDS
from core.audit import audit_record
from core.months import parse_month
from core.paginators import EstimatedCountPaginator
from core.tabular import INT, MONEY, TEXT, validate_upload_size, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_CLINICS_AT_MOST = 200  # the clinic filter lists more only inside a chosen township

# Who runs reconciliations and anomaly checks: the county and its insurance clerks.
SETTLEMENT_ROLES = (Role.COUNTY_ADMIN, Role.INSURANCE_CLERK)
# Who reconciles with the platform: those two county-wide, a township admin for his clinics.
RECONCILE_ROLES = (*SETTLEMENT_ROLES, Role.TOWNSHIP_ADMIN)


def recent_months(n: int = 24) -> list[datetime.date]:
    first = month_start(timezone.localdate())
    return [add_months(first, -i) for i in range(n)]


class MonthFilter(admin.SimpleListFilter):
    title = _("month")
    parameter_name = "month"
    field = "settled_at"

    def lookups(self, request, model_admin):
        return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in recent_months()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            month = datetime.date.fromisoformat(f"{self.value()}-01")
        except ValueError:
            return queryset.none()
        start, end = month_bounds(month)
        return queryset.filter(**{f"{self.field}__gte": start, f"{self.field}__lt": end})


class StoredMonthFilter(MonthFilter):
    """For tables with a `month` date column."""

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(month=datetime.date.fromisoformat(f"{self.value()}-01"))
        except ValueError:
            return queryset.none()


class ClinicFilter(admin.SimpleListFilter):
    """Clinics in the user's reach (the stock related filter would list every clinic): all of them
    up to LIST_CLINICS_AT_MOST, else those of the township chosen (a province's 14,000 clinics
    would be 14,000 links on every page)."""

    title = _("clinic")
    parameter_name = "clinic"
    facility_field = "facility_id"

    def lookups(self, request, model_admin):
        clinics = scope_facilities(Facility.objects.filter(settlement_enabled=True), request.user)
        township = request.GET.get(TownshipFilter.parameter_name, "")
        if township.isdigit():
            clinics = clinics.filter(township_id=int(township))
        found = list(clinics.values_list("pk", "code", "name")[: LIST_CLINICS_AT_MOST + 1])
        if len(found) > LIST_CLINICS_AT_MOST:  # too many to list: only the one chosen, if any
            found = [row for row in found if str(row[0]) == self.value()] or (
                list(clinics.filter(pk=int(self.value())).values_list("pk", "code", "name")) if (self.value() or "").isdigit() else []
            )
        return [(str(pk), f"{code} {name}") for pk, code, name in found]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(**{self.facility_field: int(self.value())})
        return queryset


class ReversalFilter(admin.SimpleListFilter):
    title = _("reversal")
    parameter_name = "reversal"

    def lookups(self, request, model_admin):
        return [("yes", _("Reversals only")), ("no", _("Settlements only"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(init_setl_id="")
        if self.value() == "no":
            return queryset.filter(init_setl_id="")
        return queryset


class DictionaryFilter(admin.SimpleListFilter):
    """A code field filtered by the codes of its platform dictionary (one small query), not by the
    distinct values of the log: SELECT DISTINCT over millions of settlements for every page."""

    field = ""

    def __init__(self, request, params, model, model_admin):
        self.title = dictionary_label(self.field)
        self.parameter_name = self.field
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        # The page's code filters (insutype, med_type, clr_type) read every dictionary in one query.
        loaded = getattr(request, "_settlement_dictionaries", None)
        if loaded is None:
            loaded = request._settlement_dictionaries = load_dictionaries()
        return [(code, f"{code} {name}") for code, name in sorted(loaded.names(self.field).items())]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


def dictionary_filter(field: str) -> type[DictionaryFilter]:
    return type(f"{field.title()}Filter", (DictionaryFilter,), {"field": field})


class SettlementUploadForm(forms.Form):
    file = forms.FileField(label=_("Settlement file (CSV or XLSX)"), validators=[validate_upload_size])


class MonthForm(forms.Form):
    month = forms.CharField(label=_("Month (YYYY-MM)"), max_length=7)

    def clean_month(self):
        try:
            return datetime.date.fromisoformat(f"{self.cleaned_data['month'].strip()}-01")
        except ValueError:
            raise ValidationError(gettext("Give the month as YYYY-MM, for example 2026-11."))


def _form_page(admin_obj, request, *, title, form, help_lines=(), template="admin/settlements/form.html", **extra):
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": title,
        "form": form,
        "help_lines": help_lines,
        "opts": admin_obj.model._meta,
        **extra,
    }
    return TemplateResponse(request, template, context)


def _coded(field: str):
    """A dictionary code shown with its name (“14 门诊慢特病”) under the field's Chinese name."""

    @admin.display(description=SettlementRecord._meta.get_field(field).verbose_name)
    def show(self, obj):
        return code_display(field, getattr(obj, field)) or "-"

    return show


CODED_FIELDS = ("insutype", "med_type", "clr_type", "psn_type", "clr_way", "psn_cert_type", "mdtrt_cert_type")


@admin.register(SettlementRecord)
class SettlementRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "setl_id", "settled_at", "facility", "insutype", "clr_type", "medfee_sumamt", "fund_pay_sumamt",
        "psn_cash_pay", "atddr_no", "reversal_of", "is_demo",
    ]
    list_filter = [MonthFilter, TownshipFilter, ClinicFilter, dictionary_filter("insutype"), dictionary_filter("med_type"),
                   dictionary_filter("clr_type"), ReversalFilter]
    search_fields = ["setl_id"]
    search_help_text = _("Search by the exact setl_id.")
    list_select_related = ["facility"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100
    ordering = ["-id"]
    change_list_template = "admin/settlements/settlementrecord/change_list.html"
    # The 2207 setlinfo fields grouped as the platform's answer reads, each under its Chinese name
    # (the model's verbose names); Cunyi's own columns last.
    fieldsets = [
        (_("Settlement"), {"fields": [
            ("setl_id", "mdtrt_id"), ("settled_at", "medins_setl_id"),
            ("insutype_named", "med_type_named", "mdtrt_cert_type_named"),
            ("facility", "atddr_no"), "init_setl_id",
        ]}),
        (_("Insured person"), {"fields": [
            ("psn_no", "psn_name"), ("psn_cert_type_named", "certno_masked"), ("gend", "naty", "brdy", "age"),
            ("psn_type_named", "cvlserv_flag"),
        ]}),
        (_("Costs"), {"fields": [
            "medfee_sumamt", ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt"), ("inscp_scp_amt", "act_pay_dedc"),
        ]}),
        (_("Fund payments"), {"fields": [
            "fund_pay_sumamt", ("hifp_pay", "pool_prop_selfpay"), ("cvlserv_pay", "hifes_pay", "hifmi_pay"),
            ("hifob_pay", "maf_pay", "oth_pay"),
        ]}),
        (_("Personal and clinic shares"), {"fields": [
            "psn_part_amt", ("acct_pay", "psn_cash_pay"), ("acct_mulaid_pay", "balc"), "hosp_part_amt",
        ]}),
        (_("Clearing"), {"fields": [("clr_type_named", "clr_way_named", "clr_optins")]}),
        (_("Recorded in Cunyi"), {"fields": [("batch_id", "recorded_at", "is_demo")]}),
    ]
    readonly_fields = [f"{field}_named" for field in CODED_FIELDS]
    insutype_named = _coded("insutype")
    med_type_named = _coded("med_type")
    clr_type_named = _coded("clr_type")
    psn_type_named = _coded("psn_type")
    clr_way_named = _coded("clr_way")
    psn_cert_type_named = _coded("psn_cert_type")
    mdtrt_cert_type_named = _coded("mdtrt_cert_type")

    def get_search_results(self, request, queryset, search_term):
        """Exact setl_id through the key table (the admin's default "=" search is
        case-insensitive, which no index serves at millions of rows); a reversal is found by its
        original's setl_id too."""
        term = search_term.strip()
        if not term:
            return queryset, False
        reversals = SettlementKey.objects.filter(init_setl_id=term).values_list("setl_id", flat=True)
        found = records_by_setl_id([term, *reversals]).values("pk", "settled_at")
        # (id, settled_at): the log's primary key, so each partition answers from its index.
        return queryset.filter(pk__in=[r["pk"] for r in found], settled_at__in=[r["settled_at"] for r in found]), False

    @admin.display(description=_("reverses"))
    def reversal_of(self, obj):
        return obj.init_setl_id or "—"

    def get_urls(self):
        return [
            path("summary/", self.admin_site.admin_view(self.summary_view), name="settlements_settlementrecord_summary"),
        ] + super().get_urls()

    def summary_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MonthForm(request.GET or {"month": f"{add_months(month_start(timezone.localdate()), -1):%Y-%m}"})
        clinics, doctors, month = [], [], None
        if form.is_valid():
            month = form.cleaned_data["month"]
            clinics = clinic_month_summary(user=request.user, month=month)
            clinic_id = request.GET.get("clinic", "")
            if clinic_id.isdigit():
                doctors = practitioner_month_summary(user=request.user, month=month, facility_id=int(clinic_id))
        return _form_page(
            self, request, title=gettext("Monthly settlement summary"), form=form, clinics=_with_amounts(clinics),
            doctors=_with_amounts(doctors), month=month, method="get", template="admin/settlements/summary.html",
            amount_headers=[(code, SettlementRecord._meta.get_field(code).verbose_name) for code in SUMMARY_AMOUNTS],
        )


# The summary's amount columns, headed by the fields' Chinese names with the platform's code in
# brackets (the code is what a clerk matches against the bureau's statement).
SUMMARY_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay")


def _with_amounts(rows):
    return [{**row, "amounts": [row[code] for code in SUMMARY_AMOUNTS]} for row in rows]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FirstRowsInline(ReadOnlyInline):
    """An import's rows of one kind, the first 200 by row number (a file may have thousands)."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        first = list(queryset.values_list("pk", flat=True).order_by("batch", "row_number")[:200])
        return queryset.filter(pk__in=first)


class RejectedRowInline(FirstRowsInline):
    model = RejectedSettlementRow
    fields = ["row_number", "setl_id", "fixmedins_code", "reason"]
    readonly_fields = fields
    verbose_name_plural = _("rejected rows (the first 200; all of them are in the XLSX linked above)")


class WarningInline(FirstRowsInline):
    """Accepted rows that break an amount relation the county has not confirmed yet: to check
    against the platform's answer, not to correct here."""

    model = SettlementImportWarning
    fields = ["row_number", "setl_id", "code", "message"]
    readonly_fields = fields
    verbose_name_plural = _("accepted rows with warnings (the first 200)")


@admin.register(SettlementImport)
class SettlementImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "started_at", "source", "filename", "uploaded_by", "facility", "total_rows", "accepted",
                    "duplicates", "rejected", "seconds", "rejected_download"]
    list_filter = ["source"]
    list_select_related = ["uploaded_by", "facility"]
    # the upload's result page: the link to every rejected row sits beside the counts
    fields = ["source", "filename", "uploaded_by", "facility", "started_at", "total_rows", "accepted", "warned",
              "duplicates", "rejected", "rejected_download", "seconds"]
    inlines = [RejectedRowInline, WarningInline]
    change_list_template = "admin/settlements/settlementimport/change_list.html"

    @admin.display(description=_("rejected rows"))
    def rejected_download(self, obj):
        if not obj.rejected:
            return "—"
        url = reverse("admin:settlements_settlementimport_rejected", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download XLSX"))

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="settlements_settlementimport_upload"),
            path("<int:pk>/rejected.xlsx", self.admin_site.admin_view(self.rejected_view),
                 name="settlements_settlementimport_rejected"),
        ] + super().get_urls()

    def upload_view(self, request):
        if not can_upload(request.user):
            raise PermissionDenied
        form = SettlementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if is_large(upload):  # stored and imported by a worker; the job page shows the counts
                job = settlement_import_start(upload=upload, user=request.user)
                messages.info(request, gettext("The file is large: it is being imported as a task; this page shows its progress."))
                return redirect(reverse("operations:job-detail", args=[job.pk]))
            try:
                batch = settlements_import(source="upload", acting_user=request.user, data=upload.read(),
                                           filename=upload.name)
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                level = messages.SUCCESS if not batch.rejected else messages.WARNING
                messages.add_message(
                    request, level,
                    gettext("%(accepted)s accepted, %(duplicates)s duplicates (already recorded, unchanged), "
                            "%(rejected)s rejected.")
                    % {"accepted": batch.accepted, "duplicates": batch.duplicates, "rejected": batch.rejected},
                )
                return redirect("admin:settlements_settlementimport_change", batch.pk)
        help_lines = [
            gettext("Columns (header row, in any order): %(cols)s.") % {"cols": ", ".join(FIELDS)},
            gettext("certno, atddr_no and init_setl_id may be empty; setl_time as 2026-11-03 09:30:00 (Beijing time); "
                    "amounts in yuan with at most two decimals; a reversal names the original in init_setl_id."),
            gettext("Sending the same file again changes nothing: rows already recorded count as duplicates. "
                    "Bad rows are kept with their row number and reason; the good rows still land."),
        ]
        return _form_page(self, request, title=gettext("Upload settlements"), form=form, help_lines=help_lines,
                          multipart=True)

    def rejected_view(self, request, pk):
        batch = get_object_or_404(self.get_queryset(request), pk=pk)
        rows = batch.rejected_rows.order_by("row_number")
        headers = ["row_number", "reason", *FIELDS]
        body = ([r.row_number, r.reason, *[r.raw.get(f, "") for f in FIELDS]] for r in rows.iterator(chunk_size=2000))
        # Every field as the file sent it (text: a rejected amount such as 12.345 is shown, not rounded).
        kinds = [INT, "auto"] + [TEXT] * len(FIELDS)
        response = HttpResponse(xlsx_bytes(headers, body, sheet_title="rejected", kinds=kinds), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="settlement-import-{batch.pk}-rejected.xlsx"'
        return response


@admin.register(RejectedSettlementRow)
class RejectedSettlementRowAdmin(ReadOnlyAdmin):
    facility_path = "batch__facility"
    list_display = ["batch", "row_number", "setl_id", "fixmedins_code", "reason"]
    search_fields = ["=setl_id", "=fixmedins_code"]
    list_select_related = ["batch"]
    show_full_result_count = False


class ReconciliationTotalInline(ReadOnlyInline):
    model = ReconciliationTotal
    fields = ["insutype_name", "clr_type_name", "setl_optins", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
              "fixmedins_setl_cnt", "refd_setl_flag", "stmt_rslt", "stmt_rslt_dscr", "answer_link"]
    readonly_fields = fields
    verbose_name_plural = _("3201 lines: Cunyi's figures (the platform's 3201 input) and the platform's answer")

    @admin.display(description=_("insurance type (insutype)"))
    def insutype_name(self, obj):
        return code_display("insutype", obj.insutype)

    @admin.display(description=_("clearing type (clr_type)"))
    def clr_type_name(self, obj):
        return code_display("clr_type", obj.clr_type)

    @admin.display(description=_("platform's answer"))
    def answer_link(self, obj):
        """The link to record the answer, under when and from where it was recorded (one column
        for the three: the inline stays within a laptop's screen)."""
        if not obj.pk:
            return "—"
        url = reverse("admin:settlements_reconciliation_answer", args=[obj.pk])
        link = format_html('<a href="{}">{}</a>', url, gettext("Record the answer"))
        if obj.answered_at is None:
            return link
        return format_html('{} · {}<br>{}', obj.get_answer_source_display() or "—",
                           f"{timezone.localtime(obj.answered_at):%Y-%m-%d %H:%M}", link)


class PeriodForm(forms.Form):
    """A month, or a period of Beijing dates (3201's stmt_begndate..stmt_enddate)."""

    month = forms.CharField(label=_("Month (YYYY-MM)"), max_length=7, required=False)
    begin = forms.DateField(label=_("or from (stmt_begndate)"), required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label=_("to (stmt_enddate)"), required=False, input_formats=["%Y-%m-%d"])

    def clean(self):
        data = super().clean()
        month, begin, end = (data.get("month") or "").strip(), data.get("begin"), data.get("end")
        try:
            if month:
                data["begin"], data["end"] = month_period(parse_month(month, field=None))
            elif begin and end:
                data["begin"], data["end"] = check_period(begin, end)
            elif not self.errors:
                raise ValidationError(gettext("Give a month as YYYY-MM, or both dates of the period."))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return data


def _clinic_field(user, *, required):
    return forms.ModelChoiceField(
        label=_("Clinic"), required=required,
        queryset=scope_facilities(Facility.objects.filter(settlement_enabled=True), user).order_by("code"),
        empty_label=gettext("every clinic in reach") if not required else "---------",
    )


class DetailFileForm(PeriodForm):
    setl_optins = forms.CharField(label=_("Only clearing agency (setl_optins)"), max_length=6, required=False)
    clr_type = forms.CharField(label=_("Only clearing type (clr_type)"), max_length=6, required=False)
    as_zip = forms.BooleanField(label=_("As a .zip holding the .txt (the 9101 upload)"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"] = _clinic_field(user, required=not is_county_wide(user))


class ResultForm(PeriodForm):
    file = forms.FileField(label=_("The platform's 3202 result (result.txt or the downloaded .zip)"),
                           validators=[validate_upload_size])
    setl_optins = forms.CharField(label=_("The 3202 call's clearing agency (setl_optins)"), max_length=6,
                                  required=False)
    clr_type = forms.CharField(label=_("The 3202 call's clearing type (clr_type)"), max_length=6, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"] = _clinic_field(user, required=True)


class AnswersForm(PeriodForm):
    file = forms.FileField(label=_("The platform's 3201 answers (JSON, CSV or XLSX)"),
                           validators=[validate_upload_size])

    def clean(self):  # the period is optional here: each answer may carry its own
        data = forms.Form.clean(self)
        if (data.get("month") or "").strip() or (data.get("begin") and data.get("end")):
            return PeriodForm.clean(self)
        data["begin"] = data["end"] = None
        return data


class AnswerForm(forms.Form):
    stmt_rslt = forms.ChoiceField(label=_("platform's result (stmt_rslt)"), choices=StmtResult.choices)
    stmt_rslt_dscr = forms.CharField(label=_("platform's explanation (stmt_rslt_dscr)"), max_length=200,
                                     required=False)


class PeriodStartFilter(StoredMonthFilter):
    title = _("month the period starts in")


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["period", "facility", "balanced", "our_count", "our_medfee", "our_fund", "matched", "missing_here",
                    "missing_at_bureau", "amounts_differ", "other_scope", "unexplained", "lines_link"]
    list_filter = [PeriodStartFilter, "balanced", TownshipFilter, ClinicFilter]
    list_select_related = ["facility"]
    inlines = [ReconciliationTotalInline]
    exclude = ["statement"]
    change_list_template = "admin/settlements/reconciliation/change_list.html"
    actions = ["export_selected"]

    @admin.display(description=_("statement period"), ordering="stmt_begndate")
    def period(self, obj):
        return f"{obj.stmt_begndate:%Y-%m-%d}..{obj.stmt_enddate:%Y-%m-%d}"

    @admin.display(description=_("3202 result rows"))
    def lines_link(self, obj):
        url = reverse("admin:settlements_reconciliationitem_changelist") + f"?reconciliation__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("View"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("compute/", view(self.compute_view), name="settlements_reconciliation_run"),
            path("answers/", view(self.answers_view), name="settlements_reconciliation_answers"),
            path("line/<int:pk>/answer/", view(self.answer_view), name="settlements_reconciliation_answer"),
            path("detail-file/", view(self.detail_file_view), name="settlements_reconciliation_detail_file"),
            path("result/", view(self.result_view), name="settlements_reconciliation_result"),
            path("export/", view(self.export_view), name="settlements_reconciliation_export"),
        ] + super().get_urls()

    def _require(self, request):
        if not has_role(request.user, *RECONCILE_ROLES):  # not payroll, though it is county-wide
            raise PermissionDenied

    def compute_view(self, request):
        self._require(request)
        form = PeriodForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            begin, end = form.cleaned_data["begin"], form.cleaned_data["end"]
            if reconcile_as_job(begin=begin, end=end, user=request.user):
                job = reconciliation_start(begin=begin, end=end, user=request.user)
                return redirect(reverse("operations:job-detail", args=[job.pk]))
            try:
                results = reconciliation_compute(begin=begin, end=end, acting_user=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, gettext("%(period)s: Cunyi's 3201 figures computed for %(total)s clinics; "
                                                  "send them to the platform and record its answers.")
                                 % {"period": f"{begin}..{end}", "total": len(results)})
                return redirect(reverse("admin:settlements_reconciliation_changelist") + f"?month={begin:%Y-%m}")
        help_lines = [
            gettext("Cunyi computes its side of 3201 per clinic, insurance type, clearing type and clearing agency "
                    "(setl_optins = the settlements' clr_optins) for the period: medfee_sumamt, fund_pay_sumamt, "
                    "acct_pay and fixmedins_setl_cnt, a reversal counting −1 and minus its amounts; refd_setl_flag 0."),
            gettext("Type each line into 3201 on the insurance terminal and record the platform's answer (stmt_rslt, "
                    "stmt_rslt_dscr) on the line, or import the answers. Computing again keeps the answers of lines "
                    "whose figures did not change."),
        ]
        return _form_page(self, request, title=gettext("Compute Cunyi's 3201 figures for a period"), form=form,
                          help_lines=help_lines)

    def answer_view(self, request, pk):
        self._require(request)
        line = get_object_or_404(ReconciliationTotal.objects.select_related("reconciliation__facility").filter(
            reconciliation__in=self.get_queryset(request)), pk=pk)
        form = AnswerForm(request.POST or None, initial={"stmt_rslt": line.stmt_rslt,
                                                         "stmt_rslt_dscr": line.stmt_rslt_dscr})
        if request.method == "POST" and form.is_valid():
            try:
                answer_record(line=line, stmt_rslt=form.cleaned_data["stmt_rslt"],
                              stmt_rslt_dscr=form.cleaned_data["stmt_rslt_dscr"], acting_user=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, gettext("The platform's answer is recorded."))
                return redirect("admin:settlements_reconciliation_change", line.reconciliation_id)
        fields = input_fields(line)
        help_lines = [f"{line.reconciliation.facility}: " + " ".join(f"{k}={v if v != '' else '—'}"
                                                                      for k, v in fields.items())]
        return _form_page(self, request, title=gettext("The platform's answer to a 3201 line"), form=form,
                          help_lines=help_lines)

    def answers_view(self, request):
        self._require(request)
        form = AnswersForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                lines = answers_import(data=upload.read(), filename=upload.name, begin=form.cleaned_data["begin"],
                                       end=form.cleaned_data["end"], acting_user=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, gettext("%(n)s 3201 answers recorded.") % {"n": len(lines)})
                return redirect("admin:settlements_reconciliation_changelist")
        help_lines = [
            gettext("JSON: a list of answers, each naming fixmedins_code (the clinic's division or platform code), "
                    "insutype, clr_type, setl_optins, stmt_begndate, stmt_enddate and the platform's stmtinfo "
                    "(stmt_rslt, stmt_rslt_dscr) — as the terminal logs 3201's input and output."),
            gettext("CSV or XLSX: the columns fixmedins_code, insutype, clr_type, setl_optins, stmt_rslt, stmt_rslt_dscr "
                    "(and stmt_begndate, stmt_enddate, or the period below)."),
            gettext("An answer naming no line Cunyi computed refuses the file; nothing is recorded then."),
        ]
        return _form_page(self, request, title=gettext("Import the platform's 3201 answers"), form=form,
                          help_lines=help_lines, multipart=True)

    def detail_file_view(self, request):
        self._require(request)
        form = DetailFileForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            clinic = data.get("clinic")
            facility_ids = [clinic.pk] if clinic else list(
                scope_facilities(Facility.objects.all(), request.user).values_list("pk", flat=True))
            try:
                content, summary = detail_file(detail_rows(
                    begin=data["begin"], end=data["end"], facility_ids=facility_ids,
                    setl_optins=data.get("setl_optins") or None, clr_type=data.get("clr_type") or None))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                stem = f"3202-{clinic.platform_code or clinic.code if clinic else 'all'}-{data['begin']:%Y%m%d}-{data['end']:%Y%m%d}"
                audit_record(actor=request.user, action="settlement.reconciliation_detail_file",
                             target=clinic or request.user,
                             changes={"period": f"{data['begin']}..{data['end']}", "rows": summary.rows})
                if data.get("as_zip"):
                    response = HttpResponse(detail_zip(content, f"{stem}.txt"), content_type="application/zip")
                    response["Content-Disposition"] = f'attachment; filename="{stem}.zip"'
                else:
                    response = HttpResponse(content, content_type="text/plain; charset=utf-8")
                    response["Content-Disposition"] = f'attachment; filename="{stem}.txt"'
                response["X-3202-Summary"] = (
                    f"medfee_sumamt={summary.medfee_sumamt:.2f};fund_pay_sumamt={summary.fund_pay_sumamt:.2f};"
                    f"cash_payamt={summary.cash_payamt:.2f};fixmedins_setl_cnt={summary.fixmedins_setl_cnt};"
                    f"rows={summary.rows}")
                return response
        help_lines = [
            gettext("The file the platform takes for 3202: one row per settlement of the period, 7 columns separated "
                    "by tabs (setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag), "
                    "no header, UTF-8; a refunded settlement is two rows, the reversal with flag 1 and negative "
                    "amounts. Upload it with 9101 (as a .zip) and call 3202."),
            gettext("3202's totals (medfee_sumamt, fund_pay_sumamt, cash_payamt, fixmedins_setl_cnt) are printed by "
                    "manage.py export_reconciliation_detail and sent with the file in the X-3202-Summary header."),
        ]
        return _form_page(self, request, title=gettext("Download the 3202 detail file"), form=form,
                          help_lines=help_lines)

    def result_view(self, request):
        self._require(request)
        form = ResultForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                report = result_import(data=data["file"].read(), filename=data["file"].name, facility=data["clinic"],
                                       begin=data["begin"], end=data["end"], acting_user=request.user,
                                       setl_optins=data.get("setl_optins") or "", clr_type=data.get("clr_type") or "")
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                rec = report.reconciliation
                messages.success(request, gettext(
                    "%(rows)s rows imported: balanced %(ok)s, missing here %(mh)s, missing at the centre %(mb)s, "
                    "amounts differ %(ad)s, booked elsewhere %(os)s, to check %(un)s.") % {
                    "rows": len(report.items), "ok": rec.matched, "mh": rec.missing_here, "mb": rec.missing_at_bureau,
                    "ad": rec.amounts_differ, "os": rec.other_scope, "un": rec.unexplained})
                return redirect(reverse("admin:settlements_reconciliationitem_changelist")
                                + f"?reconciliation__id__exact={rec.pk}")
        help_lines = [
            gettext("The result the platform returns for 3202 (downloaded with 9102): 10 columns separated by tabs, "
                    "no header, null for empty — psn_no, mdtrt_id, setl_id, msgid, stmt_rslt, refd_setl_flag, memo, "
                    "medfee_sumamt, fund_pay_sumamt, acct_pay. UTF-8 or GB18030; result.txt or its .zip."),
            gettext("Each row is kept with the platform's stmt_rslt and what to do about it. A file with a bad row is "
                    "refused whole; importing a result again replaces the earlier one."),
        ]
        return _form_page(self, request, title=gettext("Import the platform's 3202 result"), form=form,
                          help_lines=help_lines, multipart=True)

    def _export(self, request, results, label):
        headers, rows = reconciliation_rows(results)
        kinds = {**dict.fromkeys([gettext("Clinic code"), gettext("insutype"), gettext("clr_type"),
                                  gettext("setl_optins"), gettext("stmt_rslt_dscr")], TEXT),
                 **dict.fromkeys([gettext("fixmedins_setl_cnt"), gettext("3202 rows balanced"), gettext("Missing here"),
                                  gettext("Missing at the centre"), gettext("Amounts differ"),
                                  gettext("Booked elsewhere"), gettext("To check")], INT),
                 **dict.fromkeys([gettext("medfee_sumamt"), gettext("fund_pay_sumamt"), gettext("acct_pay")], MONEY)}
        response = HttpResponse(xlsx_bytes(headers, rows, sheet_title=gettext("Reconciliation"), kinds=kinds),
                                content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="reconciliation-{label}.xlsx"'
        return response

    def export_view(self, request):
        form = MonthForm(request.GET)
        if not form.is_valid():
            messages.error(request, gettext("Give the month as YYYY-MM, for example 2026-11."))
            return redirect("admin:settlements_reconciliation_changelist")
        month = form.cleaned_data["month"]
        results = self.get_queryset(request).filter(month=month).order_by("facility__code", "stmt_begndate")
        if request.GET.get("detail") == "1":
            if discrepancy_export_as_job(month=month, user=request.user):  # EXPORT_JOB_MIN_ROWS lines or more
                job = discrepancy_export_start(month=month, user=request.user)
                messages.info(request, gettext("The detail lines are being exported as a task; this page shows its "
                                               "progress and offers the file when it is ready."))
                return redirect(reverse("operations:job-detail", args=[job.pk]))
            facility_ids = None if is_county_wide(request.user) else list(results.values_list("facility_id", flat=True))
            headers, rows = discrepancy_rows(month, facility_ids)
            response = HttpResponse(discrepancy_xlsx(headers, rows), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="reconciliation-{month:%Y-%m}-lines.xlsx"'
            return response
        return self._export(request, results.prefetch_related("totals"), f"{month:%Y-%m}")

    @admin.action(description=_("Export the selected results as XLSX"))
    def export_selected(self, request, queryset):
        return self._export(request, queryset.order_by("month", "facility__code").prefetch_related("totals"),
                            "selected")


@admin.register(ReconciliationItem)
class ReconciliationItemAdmin(ReadOnlyAdmin):
    facility_path = "reconciliation__facility"
    list_display = ["row_number", "setl_id", "mdtrt_id", "psn_no", "clinic", "period", "stmt_rslt", "status",
                    "our_medfee", "bureau_medfee", "difference", "memo", "advice"]
    list_filter = ["status", "stmt_rslt"]
    search_fields = ["=setl_id", "=mdtrt_id", "=psn_no"]
    list_select_related = ["reconciliation__facility", "booked_facility"]
    show_full_result_count = False

    @admin.display(description=_("clinic"))
    def clinic(self, obj):
        return obj.reconciliation.facility

    @admin.display(description=_("statement period"))
    def period(self, obj):
        return f"{obj.reconciliation.stmt_begndate:%Y-%m-%d}..{obj.reconciliation.stmt_enddate:%Y-%m-%d}"

    @admin.display(description=_("difference (here − centre)"))
    def difference(self, obj):
        value = item_difference(obj)
        return "—" if value is None else value

    @admin.display(description=_("what to do"))
    def advice(self, obj):
        return item_advice(obj)

    def get_list_display(self, request):
        # One reconciliation's rows (the page the result import leads to) share its clinic and period:
        # the title names them, the IDs and the amounts take one column each, and the width goes to
        # what to do about each row (the clerk reads it without scrolling sideways at 1366 px).
        if request.GET.get("reconciliation__id__exact"):
            return ["row", "ids", "stmt_rslt_memo", "amounts", "status_advice"]
        return self.list_display

    @admin.display(description=_("3202 row"), ordering="row_number")
    def row(self, obj):
        return obj.row_number

    @admin.display(description=_("setl_id / mdtrt_id / psn_no"))
    def ids(self, obj):
        return format_html("{}<br>{}<br>{}", obj.setl_id or "—", obj.mdtrt_id or "—", obj.psn_no or "—")

    @admin.display(description=_("platform's result (stmt_rslt) and memo"))
    def stmt_rslt_memo(self, obj):
        return format_html("{}<br>{}", obj.get_stmt_rslt_display(), obj.memo or "")

    @admin.display(description=_("outcome: what to do"))
    def status_advice(self, obj):
        return format_html("<strong>{}</strong><br>{}", obj.get_status_display(), item_advice(obj))

    @admin.display(description=_("medfee_sumamt here / centre (difference)"))
    def amounts(self, obj):
        value = item_difference(obj)
        return format_html("{} / {}<br>({})", "—" if obj.our_medfee is None else obj.our_medfee,
                           "—" if obj.bureau_medfee is None else obj.bureau_medfee, "—" if value is None else value)

    def changelist_view(self, request, extra_context=None):
        rec = request.GET.get("reconciliation__id__exact")
        found = Reconciliation.objects.filter(pk=rec, facility__in=scope_facilities(Facility.objects.all(), request.user)
                                              ).select_related("facility").first() if rec and rec.isdigit() else None
        if found is not None:
            extra_context = {**(extra_context or {}), "title": gettext("3202 result of %(clinic)s, %(period)s") % {
                "clinic": found.facility, "period": f"{found.stmt_begndate:%Y-%m-%d}..{found.stmt_enddate:%Y-%m-%d}"}}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        rec = request.GET.get("reconciliation__id__exact")
        return queryset.filter(reconciliation_id=rec) if rec and rec.isdigit() else queryset

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "reconciliation__id__exact" or super().lookup_allowed(lookup, value, request)


class BureauTotalInline(ReadOnlyInline):
    model = BureauTotal
    fields = ["facility", "insutype", "clr_type", "setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"]
    readonly_fields = fields


@admin.register(BureauStatement)
class BureauStatementAdmin(ReadOnlyAdmin):
    """Old-format statements (before the platform's answers were recorded): kept as imported."""

    county_only = True
    list_display = ["month_label", "filename", "detail_filename", "has_detail", "imported_at", "imported_by"]
    list_select_related = ["imported_by"]
    inlines = [BureauTotalInline]

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"


@admin.register(ActivityAnomaly)
class ActivityAnomalyAdmin(ReadOnlyAdmin):
    list_display = ["month_label", "facility", "township", "kind", "visits", "baseline", "change_pct", "detected_at"]
    list_filter = [StoredMonthFilter, "kind", "facility__township"]
    list_select_related = ["facility__township"]
    change_list_template = "admin/settlements/activityanomaly/change_list.html"

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("township"))
    def township(self, obj):
        return obj.facility.township

    def get_urls(self):
        return [
            path("detect/", self.admin_site.admin_view(self.detect_view), name="settlements_activityanomaly_detect"),
        ] + super().get_urls()

    def detect_view(self, request):
        if not has_role(request.user, *SETTLEMENT_ROLES):  # not payroll, though it is county-wide
            raise PermissionDenied
        form = MonthForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            found = anomalies_detect(month=form.cleaned_data["month"])
            messages.success(request, gettext("%(n)s anomalies flagged for %(month)s.")
                             % {"n": len(found), "month": f"{form.cleaned_data['month']:%Y-%m}"})
            return redirect(reverse("admin:settlements_activityanomaly_changelist")
                            + f"?month={form.cleaned_data['month']:%Y-%m}")
        help_lines = [gettext("Flags clinics whose insured visits fell by half or more against the same month last year "
                              "or the 3-month average, and active clinics with no settlement in the month.")]
        return _form_page(self, request, title=gettext("Check a month for activity anomalies"), form=form,
                          help_lines=help_lines)



class PlatformCodeForm(forms.ModelForm):
    class Meta:
        model = PlatformCode
        fields = ["dictionary", "code", "name", "enabled", "source", "note"]


@admin.register(PlatformCode)
class PlatformCodeAdmin(CountyWritesMixin, ServiceRefusalMixin, ScopedAdmin):
    """The platform's code dictionaries: every role with the app's access reads them, county-wide
    roles add local codes and rename, disable or annotate any; the service audits each change."""

    facility_path = None  # county reference data, the same for every reach
    form = PlatformCodeForm
    list_display = ["dictionary", "code", "name", "enabled", "local", "source"]
    list_display_links = ["code", "name"]
    list_filter = ["dictionary", "enabled", "local"]
    search_fields = ["code", "name"]
    ordering = ["dictionary", "code"]
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        # A recorded settlement names the code: once it exists only its name, flag and notes change.
        return ["dictionary", "code", "local"] if obj is not None else []

    def get_fields(self, request, obj=None):
        fields = ["dictionary", "code", "name", "enabled", "source", "note"]
        return fields[:2] + ["local"] + fields[2:] if obj is not None else fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one code at a time, each checked for use
        return actions

    def save_model(self, request, obj, form, change):
        dictionary_services.platform_code_save(entry=obj, acting_user=request.user)

    def delete_refusal(self, obj) -> str:
        """Why the code may not be deleted (config.admin_site offers 删除 only when this is "")."""
        return dictionary_services.platform_code_delete_refusal(obj)

    def delete_view(self, request, object_id, extra_context=None):
        entry = self.get_object(request, object_id)
        if entry is not None and self.has_delete_permission(request):
            refusal = dictionary_services.platform_code_delete_refusal(entry)
            if refusal:
                self.message_user(request, refusal, level=messages.ERROR)
                return redirect(reverse("admin:settlements_platformcode_change", args=[entry.pk]))
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:  # put to use between the page and the confirmation
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
            return redirect(reverse("admin:settlements_platformcode_change", args=[entry.pk]))

    def delete_model(self, request, obj):
        dictionary_services.platform_code_delete(entry=obj, acting_user=request.user)
