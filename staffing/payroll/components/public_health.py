from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import MonthlySubsidy
from staffing.payroll.models import FundingSource


@register
class PublicHealth(MonthlySubsidy):
    """Basic public-health service subsidy (基本公共卫生服务补助), a monthly amount."""

    code = "public_health"
    order = 20
    label = _("Basic public-health service subsidy")
    funding = ((FundingSource.PUBLIC_HEALTH_FUND, 1),)
