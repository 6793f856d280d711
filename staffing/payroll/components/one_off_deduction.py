from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import DEDUCTION, register
from staffing.payroll.components.kinds import OneOffKind
from staffing.payroll.models import FundingSource


@register
class OneOffDeduction(OneOffKind):
    code = "one_off_deduction"
    order = 100
    label = _("One-off deduction")
    kind = DEDUCTION
    funding = ((FundingSource.DOCTOR, 1),)
