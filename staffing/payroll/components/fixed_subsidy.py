from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import MonthlySubsidy
from staffing.payroll.models import FundingSource


@register
class FixedSubsidy(MonthlySubsidy):
    """County fixed subsidy (县级定额补助), a monthly amount."""

    code = "fixed_subsidy"
    order = 10
    label = _("County fixed subsidy")
    funding = ((FundingSource.COUNTY_FINANCE, 1),)
