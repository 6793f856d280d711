from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import OnCallAllowance
from staffing.payroll.models import FundingSource


@register
class DutyHoliday(OnCallAllowance):
    """A rate per public-holiday on-call day on the published roster."""

    code = "duty_holiday"
    order = 60
    label = _("Public-holiday on-call allowance")
    funding = ((FundingSource.COUNTY_FINANCE, 1),)

    def dates(self, facts) -> list:
        return facts.holiday_oncall_dates
