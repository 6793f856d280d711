from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import OneOffKind
from staffing.payroll.models import FundingSource


@register
class BackPay(OneOffKind):
    code = "back_pay"
    order = 90
    label = _("Back pay")
    funding = ((FundingSource.COUNTY_FINANCE, 1),)
