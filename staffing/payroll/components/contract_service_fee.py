"""Family-doctor contract service fee (家庭医生签约服务费): a fee per contracted resident per service
year, from the pay policy version (`PayPolicy.contract_fee_*`), for the residents the doctor's
register entry of the year counts (`staffing.payroll.contracts`).

- **Monthly**: fee × contracts ÷ 12 each month of the service year (the calendar year), pro rata
  by payable days in a part month and by days in force when a version changes the fee mid-month
  (one line per version, the parts adding up to the exact total).
- **By assessment**: once the year's assessment score is recorded, the run of the month it was
  recorded for pays fee × contracts × score ÷ 100, with the fee of the version in force on the
  service year's last day.

Each line is split between the version's funding sources (medical-insurance fund, basic public-
health service funds, the resident's own payment) by its shares, to the cent. A change of the
register or of a score for an approved month is paid as a correction by the next run."""

import datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import RATE_PLACES, PayComponent, payable_days_in
from staffing.payroll.contracts.selectors import contracts_assessed_in, contracts_for_month
from staffing.payroll.models import FundingSource
from staffing.payroll.money import money
from staffing.payroll.policies import prorated_parts

MONTHS = 12


@register
class ContractServiceFee(PayComponent):
    code = "contract_service_fee"
    order = 42
    label = _("Family-doctor contract service fee")
    correctable = True
    funding = ((FundingSource.MEDICAL_INSURANCE, 1),)  # the default; every line carries its version's split
    monthly_full = _("Contract service fee: %(contracts)d contracts × %(fee)s yuan a year ÷ 12")
    monthly_part = _("Contract service fee: %(contracts)d contracts × %(fee)s yuan a year ÷ 12, %(days)d of %(total)d days")
    assessed = _("Contract service fee %(year)d by assessment: %(contracts)d contracts × %(fee)s yuan × score %(score)s ÷ 100")

    def prepare(self, ctx):
        assessed = {}
        for entry in contracts_assessed_in(month=ctx.month):
            assessed.setdefault(entry.doctor_id, []).append(entry)
        return {"year": contracts_for_month(year=ctx.month.year), "assessed": assessed}

    @staticmethod
    def _source(terms, entry, **extra) -> dict:
        return {"register_id": entry.pk, "service_year": entry.service_year, "contracts": entry.residents,
                "fee_per_contract": str(terms.fee_per_year), "months": MONTHS, "payment": terms.payment, "shares": terms.percentages, **extra}

    def lines(self, ctx, pay, data) -> None:
        entry = data["year"].get(pay.doctor.pk)
        if entry is not None and entry.residents:
            self.monthly_lines(ctx, pay, entry)
        for assessed in data["assessed"].get(pay.doctor.pk, ()):
            self.assessment_line(ctx, pay, assessed)

    def monthly_lines(self, ctx, pay, entry) -> None:
        runs = []  # (first day, last day, terms, payable days), consecutive days under the same terms merged
        for segment in ctx.policies.segments(pay.township_id, ctx.month, ctx.last_day):
            terms = segment.policy.contract_fee
            if terms is None or terms.by_assessment:
                continue
            days = payable_days_in(pay, segment.start, segment.end)
            if not days:
                continue
            if runs and runs[-1][2] == terms:
                runs[-1] = (runs[-1][0], segment.end, terms, runs[-1][3] + days)
            else:
                runs.append((segment.start, segment.end, terms, days))
        if not runs:
            return
        n = entry.residents
        label = {"contracts": n}
        if len(runs) == 1 and runs[0][3] == ctx.days_in_month:
            terms = runs[0][2]
            self.add(ctx, pay, description=ctx.text(self.monthly_full) % {**label, "fee": terms.fee_per_year}, quantity=n,
                     rate=(terms.fee_per_year / MONTHS).quantize(RATE_PLACES), amount=money(terms.fee_per_year * n / MONTHS),
                     funding=terms.funding, policy_id=terms.policy_id, source=self._source(terms, entry))
            return
        amounts = prorated_parts([(terms.fee_per_year * n / MONTHS, days) for _s, _e, terms, days in runs], ctx.days_in_month)
        for (start, end, terms, days), amount in zip(runs, amounts, strict=True):
            rate = (terms.fee_per_year * days / (MONTHS * ctx.days_in_month)).quantize(RATE_PLACES)
            source = self._source(terms, entry, payable_days=days, days_in_month=ctx.days_in_month, in_force_from=start.isoformat(),
                                  in_force_until=end.isoformat())
            description = ctx.text(self.monthly_part) % {**label, "fee": terms.fee_per_year, "days": days, "total": ctx.days_in_month}
            self.add(ctx, pay, description=description, quantity=n, rate=rate, amount=amount, funding=terms.funding,
                     policy_id=terms.policy_id, source=source)

    def assessment_line(self, ctx, pay, entry) -> None:
        terms = ctx.policies.resolve(pay.township_id, datetime.date(entry.service_year, 12, 31)).contract_fee
        if terms is None or not terms.by_assessment or not entry.residents:
            return
        score = entry.assessment_score
        amount = money(terms.fee_per_year * entry.residents * score / Decimal(100))
        description = ctx.text(self.assessed) % {"year": entry.service_year, "contracts": entry.residents, "fee": terms.fee_per_year,
                                                 "score": score}
        self.add(ctx, pay, description=description, quantity=entry.residents, rate=(terms.fee_per_year * score / 100).quantize(RATE_PLACES),
                 amount=amount, funding=terms.funding, policy_id=terms.policy_id,
                 source={k: v for k, v in self._source(terms, entry, score=str(score)).items() if k != "months"})
