from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import OneOffKind
from staffing.payroll.models import FundingSource


@register
class Bonus(OneOffKind):
    code = "bonus"
    order = 80
    label = _("One-off bonus")
    funding = ((FundingSource.COUNTY_FINANCE, 1),)
