from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Role
from clinics.scoping import is_county_wide, user_role

# Plumbing the health bureau does not run: celery beat's schedules, result rows and API tokens.
# Only a superuser (the IT team) sees these sections or opens their pages.
TECHNICAL_APP_LABELS = frozenset({"django_celery_beat", "django_celery_results", "knox", "authtoken"})


class SuperuserOnlyAdminMixin:
    """Every permission of a technical section is a superuser's, whatever a group was given."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser and super().has_delete_permission(request, obj)


# Models whose rows other rows protect by design (a doctor has postings, a township its clinics, a
# run its payslips, a policy its runs, a bank format its banks): "delete selected" could only fail.
REFERENCED_BY_DESIGN = frozenset({
    "staffing.Doctor", "clinics.Township", "payroll.PayRun", "payroll.PayPolicy", "payroll.BankFileFormat",
})


class OfferedDeletesCanGoMixin:
    """No delete that can only fail is offered: an object's 删除 button (and its delete page) only
    when nothing protects it from deletion and the admin's own `delete_refusal(obj)` (a rule of its
    service, such as a shipped platform code) has no reason against it; and no "delete selected"
    action on a model whose rows are referenced by design (REFERENCED_BY_DESIGN)."""

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if not allowed or obj is None or request.method != "GET":
            return allowed  # a POST to delete still gets Django's own refusal, with its list of what blocks it
        refusal = getattr(self, "delete_refusal", None)
        if refusal is not None and refusal(obj):
            return False
        from django.db import router
        from django.db.models.deletion import Collector, ProtectedError, RestrictedError

        try:
            Collector(using=router.db_for_write(type(obj))).collect([obj])
        except (ProtectedError, RestrictedError):
            return False
        return True

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.model._meta.label in REFERENCED_BY_DESIGN:
            actions.pop("delete_selected", None)
        return actions


def reach_title(user) -> str:
    """The dashboard's title names the user's reach: 全县今日概况 for the county-wide roles,
    同乐镇今日概况 for a township admin."""
    if user_role(user) == Role.TOWNSHIP_ADMIN and not is_county_wide(user):
        township = getattr(getattr(user, "scope", None), "township", None)
        if township is not None:
            return gettext("%(township)s today") % {"township": township.name}
    return gettext("Where the county stands today")


class CunyiAdminSite(admin.AdminSite):
    """The admin whose index page is the health bureau's dashboard."""

    site_header = "村医 Cunyi · 乐业县村卫生室管理"
    site_title = "村医 Cunyi"
    index_title = _("Where the county stands today")
    index_template = "dashboard/index.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Third-party apps register here too (the admin's autodiscovery): a technical app's
        ModelAdmin is wrapped so that only superusers see and open it."""
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        technical = [m for m in models if m._meta.app_label in TECHNICAL_APP_LABELS]
        if technical:
            base = admin_class or admin.ModelAdmin
            wrapped = type(f"SuperuserOnly{base.__name__}", (SuperuserOnlyAdminMixin, base), {})
            super().register(technical, wrapped, **options)
        rest = [m for m in models if m not in technical]
        if rest:
            base = admin_class or admin.ModelAdmin
            wrapped = type(base.__name__, (OfferedDeletesCanGoMixin, base), {"__module__": base.__module__})
            super().register(rest, wrapped, **options)

    def index(self, request, extra_context=None):
        from dashboard.panels import AdminLinks
        from dashboard.selectors import dashboard_get

        context = {
            "title": reach_title(request.user),
            "dashboard": dashboard_get(
                user=request.user,
                links=AdminLinks(request, self),
                clinic_code=request.GET.get("clinic") or None,
                township_code=request.GET.get("township") or None,
            ),
        }
        context.update(extra_context or {})
        return super().index(request, context)
