from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import MonthlySubsidy
from staffing.payroll.models import FundingSource


@register
class EssentialMedicines(MonthlySubsidy):
    """Essential-medicines subsidy (基本药物制度补助), a monthly amount."""

    code = "essential_medicines"
    order = 30
    label = _("Essential-medicines subsidy")
    funding = ((FundingSource.ESSENTIAL_MEDICINES_FUND, 1),)
