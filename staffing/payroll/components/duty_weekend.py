from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import OnCallAllowance
from staffing.payroll.models import FundingSource


@register
class DutyWeekend(OnCallAllowance):
    """A rate per weekend on-call day on the published roster."""

    code = "duty_weekend"
    order = 50
    label = _("Weekend on-call allowance")
    funding = ((FundingSource.COUNTY_FINANCE, 1),)

    def dates(self, facts) -> list:
        return facts.weekend_oncall_dates
