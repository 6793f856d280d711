from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "staffing.payroll"
    label = "payroll"
    verbose_name = _("Payroll")

    def ready(self):
        from clinics.models import Role
        from clinics.scoping import register_scoper, scope_queryset
        from config.portal import register_menu_item
        from staffing.payroll.models import PayRun, Payslip

        register_scoper(PayRun, scope_payruns)
        register_scoper(Payslip, lambda queryset, user: scope_queryset(queryset, user, facility_path="facility"))

        register_menu_item(key="payslips", label=_("My payslips"), url_name="payroll:index", roles={Role.VILLAGE_DOCTOR}, order=40, icon="¥")


def scope_payruns(queryset, user):
    """Runs a user may act on: every run for county-wide roles, their own township's runs for a
    township admin (a county-wide run holds every township's pay), none for anyone else."""
    from clinics.models import Role
    from clinics.scoping import is_county_wide, user_role

    if is_county_wide(user):
        return queryset
    if user_role(user) == Role.TOWNSHIP_ADMIN:
        return queryset.filter(township_id=user.scope.township_id)
    return queryset.none()
