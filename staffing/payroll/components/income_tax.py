"""Individual income tax by cumulative withholding (累计预扣法, `money.withholding_this_month`):
the year's taxable income so far (earlier approved and paid months plus this one), less 5,000 a
month employed this year and the year's social insurance, taxed on the annual brackets, less what
was withheld earlier in the year."""

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import Withholding
from staffing.payroll.models import FundingSource, PayRun, Payslip
from staffing.payroll.money import ZERO, withholding_this_month


@register
class IncomeTax(Withholding):
    code = "income_tax"
    order = 210
    label = _("Individual income tax")
    funding = ((FundingSource.DOCTOR, 1),)
    description = _("Individual income tax, cumulative withholding at %(rate)s%%")

    def prepare(self, ctx) -> dict[int, dict]:
        """Each doctor's income, insurance and tax in the year's earlier released months."""
        earlier = (
            Payslip.objects.filter(
                month__gte=ctx.month.replace(month=1), month__lt=ctx.month, run__status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID]
            )
            .values("doctor_id")
            .annotate(income=Sum("taxable_income"), insurance=Sum("social_insurance"), tax=Sum("income_tax"))
        )
        return {row["doctor_id"]: row for row in earlier}

    def lines(self, ctx, pay, data) -> None:
        prior = data.get(pay.doctor.pk, {})
        year_start = ctx.month.replace(month=1)
        first_month = max(year_start, pay.doctor.hire_date.replace(day=1))
        months_employed = (ctx.month.year - first_month.year) * 12 + ctx.month.month - first_month.month + 1
        tax, detail = withholding_this_month(
            cumulative_income=(prior.get("income") or ZERO) + pay.taxable_income,
            months_employed=max(months_employed, 1),
            cumulative_special_deductions=(prior.get("insurance") or ZERO) + pay.social_insurance,
            tax_already_withheld=prior.get("tax") or ZERO,
        )
        pay.income_tax = tax
        if tax:
            description = ctx.text(self.description) % {"rate": int(Decimal(detail["rate"]) * 100)}
            self.add(ctx, pay, description=description, quantity=1, rate=tax, amount=tax, source=detail)
