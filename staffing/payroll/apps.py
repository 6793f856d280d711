from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "staffing.payroll"
    label = "payroll"
    verbose_name = _("Payroll")

    def ready(self):
        from clinics.models import Role
        from config.portal import register_menu_item

        register_menu_item(key="payslips", label=_("My payslips"), url_name="payroll:index", roles={Role.VILLAGE_DOCTOR}, order=40, icon="¥")
