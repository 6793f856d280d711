"""Performance pay (绩效考核): a monthly assessment is paid in its month, a quarterly assessment in
the quarter's last month as 3 × the band's monthly amount. A negative band amount is a deduction."""

from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.months import add_months
from staffing.payroll.components import register
from staffing.payroll.components.kinds import DEDUCTION, EARNING, PayComponent
from staffing.payroll.models import Assessment, FundingSource
from staffing.payroll.money import money


@register
class Performance(PayComponent):
    code = "performance"
    order = 70
    label = _("Performance pay")
    correctable = True
    funding = ((FundingSource.PERFORMANCE_FUND, 1),)
    description = _("Performance pay: score %(score)s, band %(band)s")

    def prepare(self, ctx) -> dict[int, tuple[Assessment, int]]:
        """Each doctor's assessment paid this month, with the months it pays for."""
        month = ctx.month
        quarter_start = add_months(month, -((month.month - 1) % 3))
        condition = Q(period=Assessment.Period.MONTH, period_start=month)
        if month.month % 3 == 0:
            condition |= Q(period=Assessment.Period.QUARTER, period_start=quarter_start)
        queryset = Assessment.objects.filter(condition)
        if ctx.township_id:
            queryset = queryset.filter(doctor__postings__facility__township_id=ctx.township_id).distinct()
        found = {}
        for assessment in queryset.order_by("period", "pk"):
            found.setdefault(assessment.doctor_id, (assessment, 1 if assessment.period == Assessment.Period.MONTH else 3))
        return found

    def lines(self, ctx, pay, data) -> None:
        found = data.get(pay.doctor.pk)
        if not found:
            return
        assessment, months = found
        band = next((b for b in ctx.policy(pay).bands if assessment.score >= b[0]), None)
        if band is None:
            return
        _min_score, monthly, band_label, policy_id = band
        total = money(monthly * months)
        if total == 0:
            return
        self.add(
            ctx, pay,
            description=ctx.text(self.description) % {"score": assessment.score, "band": band_label},
            quantity=Decimal(months), rate=abs(monthly), amount=abs(total), kind=EARNING if total >= 0 else DEDUCTION,
            policy_id=policy_id,
            source={"assessment_id": assessment.pk, "period": assessment.period, "period_start": assessment.period_start.isoformat(),
                    "score": str(assessment.score), "band": band_label},
        )
