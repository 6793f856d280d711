import copy
import datetime
import unicodedata

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F, FilteredRelation, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin import FacilityAdmin
from clinics.admin_base import ReadOnlyAdmin, ScopedAdmin
from clinics.models import Facility, Role
from clinics.scoping import has_role, is_county_wide, scope_facilities
from core.tabular import TableError, validate_upload_size
from core.validators import mask_mobile
from staffing.jobs import (
    FULL_PERSONAL_DATA_ROLES,
    doctor_export_content,
    doctor_export_rows,
    doctor_export_start,
    export_as_job,
)
from staffing.models import ClinicCoverage, Doctor, Posting, keyed_hash
from staffing.selectors import clinic_coverage_list, clinic_doctors_context
from staffing.services import doctors, logins, postings


class LicenceFilter(admin.SimpleListFilter):
    title = _("licence")
    parameter_name = "licence"

    def lookups(self, request, model_admin):
        return [
            ("expiring", _("expires within 90 days")),
            ("expired", _("expired")),
            ("none", _("no licence")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "expiring":
            return queryset.filter(licence_expiry__gte=today, licence_expiry__lte=today + datetime.timedelta(days=90))
        if self.value() == "expired":
            return queryset.filter(licence_expiry__lt=today)
        if self.value() == "none":
            return queryset.filter(Q(licence_number="") | Q(licence_expiry__isnull=True))
        return queryset


class TownshipOfPostingFilter(admin.SimpleListFilter):
    title = _("township")
    parameter_name = "township"

    def lookups(self, request, model_admin):
        from clinics.selectors import township_list

        return [(t.code, t.name) for t in township_list(user=request.user)]

    def queryset(self, request, queryset):
        if self.value():
            from staffing.reach import posted_q

            return queryset.filter(posted_q(Q(facility__township__code=self.value())))
        return queryset


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    fields = ["facility", "start_date", "end_date"]
    readonly_fields = ["facility", "start_date", "end_date"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class DoctorForm(forms.ModelForm):
    """The login a doctor's pages belong to is a village doctor's account (in reach: the admin
    narrows every choice), never an admin's or a consultant's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = self.fields["user"].queryset.filter(scope__role=Role.VILLAGE_DOCTOR)

    # A new doctor is posted to a clinic from the hire date (staffing.services.doctors.doctor_create); the
    # choices are the clinics in reach, and only the county registers a doctor without one.
    clinic = forms.ModelChoiceField(
        queryset=Facility.objects.none(), required=False, label=_("clinic"),
        help_text=_("The clinic the doctor works at from the hire date."),
    )

    class Meta:
        model = Doctor
        fields = [
            "name", "sex", "birth_date", "id_number", "mobile", "wecom_userid", "qualification", "licence_number",
            "licence_expiry", "insurance_code", "status", "hire_date", "exit_date", "user",
            "bank_name", "bank_account", "is_demo",
        ]

    acting_user = None  # set by DoctorAdmin.get_form: the login's checks include reach

    def clean(self):
        cleaned = super().clean()
        if "user" in self.changed_data and "user" not in self._errors:
            try:
                logins.doctor_link_user_check(
                    doctor=self.instance if self.instance.pk else None, user=cleaned.get("user"), acting_user=self.acting_user
                )
            except ValidationError as exc:
                for field, messages_ in (exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]):
                    self.add_error(field if field in self.fields else None, messages_)
        return cleaned


class DoctorImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"), validators=[validate_upload_size])


class ClinicOrDoctorSearchMixin:
    """Search of a province's duty or gap rows: a clinic code (or platform code) is looked up
    exactly first, and only then are clinic and doctor names matched, in their own small tables;
    the rows are then narrowed by the ids found (their indexes), never by a substring match joined
    over millions of rows."""

    doctor_field: str | None = "doctor"

    def get_search_results(self, request, queryset, search_term):
        term = unicodedata.normalize("NFKC", search_term).strip()
        if not term:
            return queryset, False
        clinics = scope_facilities(Facility.objects.all(), request.user)
        by_code = list(clinics.filter(Q(code=term) | Q(platform_code=term)).values_list("pk", flat=True)[:10])
        if by_code:
            return queryset.filter(facility_id__in=by_code), False
        found = Q(facility_id__in=clinics.filter(name__icontains=term).values("pk"))
        if self.doctor_field:
            found |= Q(**{f"{self.doctor_field}_id__in": Doctor.objects.filter(name__icontains=term).values("pk")})
        return queryset.filter(found), False


@admin.register(Doctor)
class DoctorAdmin(ScopedAdmin):
    facility_path = None  # doctors are scoped by the posting in force (get_queryset), not by any posting
    form = DoctorForm
    list_display = [
        "name", "sex", "qualification", "current_clinic", "insurance_code", "licence_expiry", "status",
        "id_number_display", "is_demo",
    ]
    list_filter = ["status", "qualification", LicenceFilter, TownshipOfPostingFilter, "is_demo"]
    # A clinic's name or code, or its township's name, finds the doctors posted there (?q=平寨).
    search_fields = [
        "name", "mobile", "licence_number", "insurance_code",
        "postings__facility__name", "postings__facility__code", "postings__facility__township__name",
    ]
    autocomplete_fields = ["user"]
    inlines = [PostingInline]
    actions = ["export_csv", "export_xlsx"]
    change_list_template = "admin/staffing/doctor/change_list.html"
    show_full_result_count = False  # a search or filter would count the province's doctors twice

    def get_queryset(self, request):
        from staffing.reach import in_force_on, scope_doctors

        queryset = scope_doctors(super().get_queryset(request), request.user)
        today = timezone.localdate()
        # The clinic of the posting in force, by one join (postings of a doctor never overlap, so
        # at most one row matches), not a subquery run for every doctor of the province.
        return queryset.annotate(
            posting_in_force=FilteredRelation("postings", condition=in_force_on(today, prefix="postings__")),
            current_clinic_name=F("posting_in_force__facility__name"),
        )

    def get_search_results(self, request, queryset, search_term):
        """An ID number through its keyed hash; then exact codes (a clinic's code finds the doctors
        posted there, a mobile, licence or insurance code its doctor); only when nothing matches
        exactly, parts of names and codes. Postings are matched in a subquery, so the list needs no
        DISTINCT over the province's doctors."""
        term = unicodedata.normalize("NFKC", search_term).strip()
        if not term:
            return queryset, False
        if len(term) == 18:  # an ID number is looked up through its keyed hash, never by plain text
            return queryset.filter(id_number_hash=keyed_hash(term.upper())), False
        posted_at = Posting.objects.filter(Q(facility__code=term) | Q(facility__platform_code=term)).values("doctor_id")
        exact = queryset.filter(Q(mobile=term) | Q(licence_number=term) | Q(insurance_code=term) | Q(pk__in=posted_at))
        if exact.exists():
            return exact, False
        for word in term.split():
            posted_at = Posting.objects.filter(
                Q(facility__name__icontains=word) | Q(facility__code__icontains=word) | Q(facility__township__name__icontains=word)
            ).values("doctor_id")
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(mobile__icontains=word) | Q(licence_number__icontains=word)
                | Q(insurance_code__icontains=word) | Q(pk__in=posted_at)
            )
        return queryset, False

    def get_readonly_fields(self, request, obj=None):
        # Roles without the need see the masked values only (the plain fields are left out of the form).
        return [] if obj is None or has_role(request.user, *FULL_PERSONAL_DATA_ROLES) else ["id_number_display", "bank_account_display"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # The form class is new for each request, but its declared fields are the DoctorForm's own
        # objects: change a copy, or one township admin's "required" sticks for everyone after.
        if obj is None:
            clinic = form.base_fields["clinic"] = copy.deepcopy(DoctorForm.base_fields["clinic"])
            clinic.queryset = scope_facilities(Facility.objects.filter(is_active=True), request.user)
            clinic.required = not is_county_wide(request.user)
        else:
            form.base_fields.pop("clinic", None)  # postings change in the posting admin
        form.acting_user = request.user  # a class made for this request
        return form

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None:
            fields = [f for f in fields if f != "clinic"]  # postings change in the posting admin
        if obj is not None and not has_role(request.user, *FULL_PERSONAL_DATA_ROLES):
            fields = [f for f in fields if f not in ("id_number", "bank_account")] + ["id_number_display", "bank_account_display"]
        return fields

    @admin.display(description=_("clinic"), ordering="current_clinic_name")
    def current_clinic(self, obj):
        return obj.current_clinic_name or "—"

    @admin.display(description=_("resident ID number"))
    def id_number_display(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("bank account"))
    def bank_account_display(self, obj):
        return obj.bank_account_masked

    def save_model(self, request, obj, form, change):
        # Every field through a service: the login and the demo flag are audited like the rest.
        data = {f: form.cleaned_data[f] for f in doctors.DOCTOR_FIELDS if f in form.cleaned_data}
        if change:
            # The login and the flag first: doctor_update saves the whole instance, which the form
            # has already given the new values, so it would store them without their audit.
            if "user" in form.changed_data:
                logins.doctor_link_user(doctor=obj, user=form.cleaned_data.get("user"), acting_user=request.user)
            if "is_demo" in form.changed_data:
                doctors.doctor_mark_demo(doctor=obj, is_demo=form.cleaned_data["is_demo"], acting_user=request.user)
            doctors.doctor_update(doctor=obj, acting_user=request.user, **data)
        else:
            created = doctors.doctor_create(
                acting_user=request.user, facility=form.cleaned_data.get("clinic"), **data,
                is_demo=form.cleaned_data.get("is_demo", False),
            )
            if form.cleaned_data.get("user") is not None:
                logins.doctor_link_user(doctor=created, user=form.cleaned_data["user"], acting_user=request.user)
            obj.pk = created.pk

    # --- import and export -----------------------------------------------------------------

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="staffing_doctor_import"),
            path(
                "<path:object_id>/login/", self.admin_site.admin_view(self.login_view), name="staffing_doctor_login",
            ),
            path(
                "import/template.xlsx", self.admin_site.admin_view(self.import_template_view),
                name="staffing_doctor_import_template",
            ),
        ] + super().get_urls()

    def login_view(self, request, object_id):
        """The doctor's phone login (POST only): create it, reset its password, deactivate or
        reactivate it. A new one-time password is shown on the page that follows, once."""
        from django.core.exceptions import PermissionDenied

        doctor = self.get_object(request, object_id)
        if doctor is None or request.method != "POST" or not self.has_change_permission(request, doctor):
            raise PermissionDenied
        change_url = reverse("admin:staffing_doctor_change", args=[doctor.pk])
        action = request.POST.get("action", "")
        password = None
        send_sms = request.POST.get("send_sms") == "1"
        try:
            if action == "create":
                _user, password = logins.doctor_login_create(doctor=doctor, acting_user=request.user, send_sms=send_sms)
            elif action == "reset":
                password = logins.doctor_login_reset_password(doctor=doctor, acting_user=request.user, send_sms=send_sms)
            elif action in ("deactivate", "activate"):
                logins.doctor_login_set_active(doctor=doctor, active=action == "activate", acting_user=request.user)
                messages.success(
                    request, gettext("The login is active again.") if action == "activate"
                    else gettext("The login is deactivated: it can no longer sign in."),
                )
                return redirect(change_url)
            else:
                raise PermissionDenied
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
            return redirect(change_url)
        doctor.refresh_from_db()
        response = TemplateResponse(request, "admin/staffing/doctor/login_password.html", {
            **self.admin_site.each_context(request),
            "title": gettext("One-time password"),
            "opts": self.model._meta,
            "doctor": doctor,
            "username": doctor.user.get_username(),
            "password": password,
            "sent_to": mask_mobile(doctor.mobile) if password is None else "",
            "change_url": change_url,
        })
        response["Cache-Control"] = "no-store"  # the password is shown once, never kept by the browser
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        doctor = self.get_object(request, object_id)
        if doctor is not None and self.has_change_permission(request, doctor):
            extra_context["doctor_login_url"] = reverse("admin:staffing_doctor_login", args=[doctor.pk])
            extra_context["doctor_login"] = doctor.user
            extra_context["doctor_sms_to"] = mask_mobile(doctor.mobile) if (doctor.mobile or "").strip() else ""
        return super().change_view(request, object_id, form_url, extra_context)

    def import_template_view(self, request):
        """The import template: the importer's columns, an example row, each column explained."""
        from staffing import importing

        if not self.has_add_permission(request):
            messages.error(request, gettext("You do not have permission to import doctors."))
            return redirect("admin:staffing_doctor_changelist")
        response = HttpResponse(
            importing.doctors_import_template(acting_user=request.user),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="doctor-import-template.xlsx"'
        return response

    def import_view(self, request):
        """Upload → preview of every change (nothing saved) → confirm or cancel."""
        from staffing import importing

        if not self.has_add_permission(request):
            messages.error(request, gettext("You do not have permission to import doctors."))
            return redirect("admin:staffing_doctor_changelist")
        here = reverse("admin:staffing_doctor_import")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import doctors"),
            "columns": importing.COLUMNS,
            "opts": self.model._meta,
        }
        token = request.POST.get("token", "") if request.method == "POST" else ""
        if token:
            try:
                if request.POST.get("action") == "cancel":
                    importing.doctors_import_cancel(token=token, acting_user=request.user)
                    messages.info(request, gettext("Import cancelled: nothing was saved."))
                    return redirect(here)
                outcome = importing.doctors_import_confirm(token=token, acting_user=request.user)
            except importing.PendingUploadError as exc:
                messages.error(request, str(exc))
                return redirect(here)
            except TableError as exc:
                messages.error(request, str(exc))
                return redirect(here)
            if outcome.preview is not None:
                messages.warning(
                    request, gettext("The stored data changed since the preview: check the changes below again and confirm.")
                )
                context.update(form=DoctorImportForm(), preview=outcome.preview)
            elif outcome.report.ok:
                report = outcome.report
                messages.success(
                    request,
                    gettext("Imported: %(created)d new doctors, %(updated)d updated, %(unchanged)d unchanged.")
                    % {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
                )
                return redirect("admin:staffing_doctor_changelist")
            else:
                context.update(form=DoctorImportForm(), report=outcome.report)
            return TemplateResponse(request, "admin/staffing/doctor/import.html", context)
        form = DoctorImportForm(request.POST or None, request.FILES or None)
        context["form"] = form
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                preview = importing.doctors_import_preview(upload=upload, filename=upload.name, acting_user=request.user)
            except TableError as exc:
                form.add_error("file", str(exc))
            else:
                context["preview" if preview.plan.ok else "report"] = preview if preview.plan.ok else preview.plan
        return TemplateResponse(request, "admin/staffing/doctor/import.html", context)

    def _export_rows(self, request, queryset):
        return doctor_export_rows(queryset, user=request.user)

    def _export_as_job(self, request, queryset, fmt):
        """At least EXPORT_JOB_MIN_ROWS doctors: a job (the whole reach, or the ids chosen), whose
        page offers the file to this user once it is written; else None (immediate)."""
        count = queryset.count()
        if not export_as_job(count):
            return None
        everything = count == self.get_queryset(request).count()
        job = doctor_export_start(user=request.user, fmt=fmt,
                                  doctor_ids=None if everything else queryset.values_list("pk", flat=True))
        messages.info(request, gettext("%(n)s doctors are being exported as a task; this page shows its progress "
                                       "and offers the file when it is ready.") % {"n": count})
        return redirect(reverse("operations:job-detail", args=[job.pk]))

    @admin.action(description=_("Export selected doctors as CSV"))
    def export_csv(self, request, queryset):
        if (started := self._export_as_job(request, queryset, "csv")) is not None:
            return started
        headers, body = self._export_rows(request, queryset)
        response = HttpResponse(doctor_export_content("csv", headers, body), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="doctors.csv"'
        return response

    @admin.action(description=_("Export selected doctors as XLSX"))
    def export_xlsx(self, request, queryset):
        if (started := self._export_as_job(request, queryset, "xlsx")) is not None:
            return started
        headers, body = self._export_rows(request, queryset)
        response = HttpResponse(
            doctor_export_content("xlsx", headers, body),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="doctors.xlsx"'
        return response


class PostingForm(forms.ModelForm):
    """A new posting moves the doctor (closing the open one); an existing one can only be ended."""

    confirm_over_target = forms.BooleanField(
        label=_("Post beyond the clinic's target"),
        required=False,
        help_text=_("Tick only after reading the warning: every doctor posted at the clinic is rostered on each workday."),
    )

    class Meta:
        model = Posting
        fields = ["doctor", "facility", "start_date", "end_date"]

    acting_user = None  # set by PostingAdmin.get_form: the services' checks include reach

    def clean(self):
        cleaned = super().clean()
        try:
            if self.instance.pk:
                end_date = cleaned.get("end_date")
                if end_date is None:
                    self.add_error("end_date", gettext("Enter the date this posting ends."))
                else:
                    postings.posting_close_check(posting=self.instance, end_date=end_date, acting_user=self.acting_user)
            elif cleaned.get("doctor") and cleaned.get("facility") and cleaned.get("start_date"):
                postings.posting_move_check(
                    doctor=cleaned["doctor"], facility=cleaned["facility"], start_date=cleaned["start_date"],
                    acting_user=self.acting_user, confirm_over_target=bool(cleaned.get("confirm_over_target")),
                )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and all(
                error.code == postings.OVER_TARGET for errors in exc.error_dict.values() for error in errors
            ):
                # The confirmation step: the warning above the tick box, the posting saved once ticked.
                self.add_error("confirm_over_target", exc.messages)
                return cleaned
            for field, messages_ in (exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]):
                self.add_error(field if field in self.fields else None, messages_)
        return cleaned

    def _get_validation_exclusions(self):
        # A new posting replaces the open one, which the service closes on save: the
        # one-open-posting constraint is checked there (and by the database), not against the
        # posting about to be closed.
        exclusions = super()._get_validation_exclusions()
        if self.instance.pk is None:
            exclusions.add("doctor")
        return exclusions


@admin.register(Posting)
class PostingAdmin(ClinicOrDoctorSearchMixin, ScopedAdmin):
    form = PostingForm
    list_display = ["doctor", "facility", "start_date", "end_date"]
    list_filter = ["facility__township", "facility__kind"]
    search_fields = ["doctor__name", "facility__name", "facility__code"]  # (names the box; the search is the mixin's)
    list_select_related = ["doctor", "facility"]
    autocomplete_fields = ["doctor", "facility"]
    date_hierarchy = "start_date"

    def get_readonly_fields(self, request, obj=None):
        return ["doctor", "facility", "start_date"] if obj else []

    def get_fields(self, request, obj=None):
        # The over-target confirmation belongs to a new posting only (an existing one is only ended).
        fields = super().get_fields(request, obj)
        return [field for field in fields if field != "confirm_over_target"] if obj else fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.acting_user = request.user  # a class made for this request
        return form

    def save_model(self, request, obj, form, change):
        if change:
            postings.posting_close(posting=obj, end_date=form.cleaned_data["end_date"], acting_user=request.user)
        else:
            created = postings.posting_move(
                doctor=obj.doctor, facility=obj.facility, start_date=obj.start_date, acting_user=request.user,
                confirm_over_target=bool(form.cleaned_data.get("confirm_over_target")),
            )
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False


class UnderstaffedFilter(admin.SimpleListFilter):
    title = _("staffing")
    parameter_name = "understaffed"

    def lookups(self, request, model_admin):
        return [("yes", _("understaffed")), ("no", _("fully staffed"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(active_doctors__lt=F("target_doctors"))
        if self.value() == "no":
            return queryset.filter(active_doctors__gte=F("target_doctors"))
        return queryset


@admin.register(ClinicCoverage)
class ClinicCoverageAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "township", "kind", "coverage", "target_doctors", "telemedicine_enabled"]
    list_filter = [UnderstaffedFilter, "kind", "township", "telemedicine_enabled"]
    search_fields = ["code", "name"]
    list_per_page = 100

    def get_queryset(self, request):
        return clinic_coverage_list(user=request.user)

    @admin.display(description=_("active doctors / target"), ordering="active_doctors")
    def coverage(self, obj):
        mark = "⚠ " if obj.active_doctors < obj.target_doctors else ""
        return f"{mark}{obj.active_doctors} / {obj.target_doctors}"

    def get_model_perms(self, request):
        # Anyone who may view facilities may view their coverage.
        return {"view": request.user.has_perm("clinics.view_facility"), "add": False, "change": False, "delete": False}

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("clinics.view_facility")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect(reverse("admin:clinics_facility_change", args=[object_id]))


admin.site.unregister(Facility)


@admin.register(Facility)
class FacilityWithDoctorsAdmin(FacilityAdmin):
    """The clinic's page with its doctors: those posted today, the postings in force and those
    ended within the last 90 days, and the coverage against the clinic's target."""

    RECENT_DAYS = 90

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        facility = self.get_object(request, object_id)
        if facility is not None:
            extra_context.update(clinic_doctors_context(user=request.user, facility=facility, recent_days=self.RECENT_DAYS))
        return super().change_view(request, object_id, form_url, extra_context)
