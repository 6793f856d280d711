import datetime
import re
import unicodedata

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from clinics import services
from clinics.accounts import account_change_role
from clinics.admin_base import ReadOnlyMixin, ScopedAdmin, ServiceRefusalMixin
from clinics.api_tokens_admin import api_token_urls  # also takes knox's own token admin off the site
from clinics.models import Department, Facility, Township, UserScope
from clinics.roles import role_assign
from clinics.scoping import is_county_wide
from core.admin import AuditHistoryMixin
from core.models import AuditEntry
from core.months import add_months, month_start
from core.paginators import EstimatedCountPaginator


@admin.register(Township)
class TownshipAdmin(ServiceRefusalMixin, ScopedAdmin):
    facility_path = None
    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        from clinics.selectors import township_list

        return township_list(user=request.user)

    def save_model(self, request, obj, form, change):
        services.township_save(township=obj, acting_user=request.user)


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ["code", "name", "is_active"]


@admin.register(Facility)
class FacilityAdmin(ServiceRefusalMixin, ScopedAdmin):
    list_display = [
        "code", "platform_code", "name", "kind", "township", "village_kind", "telemedicine_enabled",
        "settlement_enabled", "is_active", "target_doctors", "is_demo",
    ]
    list_filter = ["kind", "township", "telemedicine_enabled", "settlement_enabled", "is_active", "is_demo"]
    search_fields = ["code", "platform_code", "name", "village"]
    list_select_related = ["township"]
    autocomplete_fields = ["township"]
    inlines = [DepartmentInline]
    fieldsets = [
        (None, {"fields": ["kind", "name", "code", "platform_code", "township", "village", "village_kind", "is_demo"]}),
        (_("Services"), {"fields": ["telemedicine_enabled", "settlement_enabled", "is_active", "target_doctors"]}),
        (_("Opening hours"), {"fields": [("morning_start", "morning_end"), ("afternoon_start", "afternoon_end")]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The platform institution code is the county's to enter (the bureau assigns it).
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if is_county_wide(request.user) else readonly + ["platform_code"]

    def save_model(self, request, obj, form, change):
        services.facility_save(facility=obj, acting_user=request.user)

    def has_delete_permission(self, request, obj=None):
        # A clinic is never deleted: its postings, rosters, settlements and audit history keep it
        # (the register protects them), so a 删除 button could only fail. A clinic that closes is
        # marked inactive instead.
        return False

    def save_formset(self, request, form, formset, change):
        """The departments inline: each added, changed or removed department through its service."""
        rows = formset.save(commit=False)
        for department in formset.deleted_objects:
            services.department_delete(department=department, acting_user=request.user)
        for department in rows:
            services.department_save(department=department, acting_user=request.user)


@admin.register(Department)
class DepartmentAdmin(ServiceRefusalMixin, ScopedAdmin):
    list_display = ["name", "code", "facility", "is_active"]
    list_filter = ["is_active", "facility__kind"]
    search_fields = ["name", "code", "facility__name"]
    list_select_related = ["facility"]
    autocomplete_fields = ["facility"]

    def save_model(self, request, obj, form, change):
        services.department_save(department=obj, acting_user=request.user)


@admin.register(UserScope)
class UserScopeAdmin(ServiceRefusalMixin, ScopedAdmin):
    # Listed by clinics.admin_accounts.account_list_scope: all for county-wide roles, a township
    # admin's own township's accounts for them; the raw add form stays county-wide.
    list_display = ["user", "user_name", "role", "township", "facility", "login_active"]
    list_filter = ["role", "township", "user__is_active"]
    search_fields = ["user__username", "user__first_name"]
    list_select_related = ["user", "township", "facility"]
    autocomplete_fields = ["user", "township", "facility"]

    def get_queryset(self, request):
        from clinics.admin_accounts import account_list_scope

        return account_list_scope(admin.ModelAdmin.get_queryset(self, request), request.user)

    def has_add_permission(self, request, *args):
        return is_county_wide(request.user) and super().has_add_permission(request, *args)

    def changelist_view(self, request, extra_context=None):
        from clinics.admin_accounts import account_tools

        return super().changelist_view(request, {**(extra_context or {}), **account_tools(request.user)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from clinics.admin_accounts import account_manageable

        scope = self.get_object(request, object_id)
        manageable = scope is not None and account_manageable(request.user, scope.user)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "account_manageable": manageable})

    @admin.display(description=_("full name"), ordering="user__first_name")
    def user_name(self, obj):
        return obj.user.first_name

    @admin.display(description=_("login active"), boolean=True, ordering="user__is_active")
    def login_active(self, obj):
        return obj.user.is_active

    def save_model(self, request, obj, form, change):
        if change:  # who may give the new role and reach is checked by the accounts service
            account_change_role(
                acting_user=request.user, user=obj.user, role=obj.role, township=obj.township, facility=obj.facility
            )
            return
        role_assign(
            user=obj.user, role=obj.role, township=obj.township, facility=obj.facility, acting_user=request.user
        )

    def get_urls(self):
        # Locked log-ins (django-axes): the county admin lists and unlocks them; linked from this changelist.
        # Bureau accounts: new account with a one-time password; reset / deactivate from the change page.
        from clinics.admin_accounts import account_urls
        from clinics.lockouts import lockout_urls

        return (
            account_urls(self.admin_site) + lockout_urls(self.admin_site) + api_token_urls(self.admin_site)
            + super().get_urls()
        )


ACTION_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)+")


class AuditMonthFilter(admin.SimpleListFilter):
    """The last 24 months, by the calendar (a date hierarchy reads the trail's months with a scan
    of every entry on each page)."""

    title = _("month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        first = month_start(timezone.localdate())
        months = [add_months(first, -n) for n in range(24)]
        return [(f"{m:%Y-%m}", date_format(m, "YEAR_MONTH_FORMAT")) for m in months]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            first = datetime.date.fromisoformat(f"{self.value()}-01")
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from exc
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(first, datetime.time(), tz)
        return queryset.filter(at__gte=start, at__lt=datetime.datetime.combine(add_months(first, 1), datetime.time(), tz))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "action", "content_type", "object_repr", "reason"]
    # No filter on `action`: its choices are a SELECT DISTINCT over the whole trail on every page;
    # an action is searched exactly instead.
    list_filter = [AuditMonthFilter, "content_type"]
    search_fields = ["object_repr", "action", "actor__username"]  # (names the box; the search is below)
    search_help_text = _("A clinic's code, a user name or an action (payrun.approve) finds its entries exactly; "
                         "other text is looked for in the objects' names.")
    list_select_related = ["actor", "content_type"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        """Exact first, through indexes: a clinic's code (the entries about that clinic), a user
        name (that user's), an action; only then part of an object's name."""
        term = unicodedata.normalize("NFKC", search_term).strip()
        if not term:
            return queryset, False
        clinic = Facility.objects.filter(code=term).values_list("pk", flat=True).first()
        if clinic is not None:
            return queryset.filter(content_type=ContentType.objects.get_for_model(Facility), object_id=str(clinic)), False
        actor = get_user_model().objects.filter(username=term).values_list("pk", flat=True).first()
        if actor is not None:
            return queryset.filter(actor_id=actor), False
        if ACTION_NAME.fullmatch(term):  # payrun.approve, admin.delete …
            return queryset.filter(action=term), False
        return queryset.filter(Q(object_repr__icontains=term) | Q(action__icontains=term)), False

    def get_queryset(self, request):
        from clinics.scoping import is_county_wide

        queryset = super().get_queryset(request)
        return queryset if is_county_wide(request.user) else queryset.filter(actor=request.user)
