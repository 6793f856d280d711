"""Individual income tax by cumulative withholding (累计预扣法, `money.withholding_this_month`):
the year's taxable income so far (earlier approved and paid months plus this one), less 5,000 a
month employed this year, the year's social insurance and the year's special additional
deductions up to this month (专项附加扣除, `staffing.payroll.tax.deductions`), taxed on the annual
brackets, less what was withheld earlier in the year.

An annual one-off bonus (`OneOffItem` of kind bonus) is taxed with the month's income or
separately (`staffing.payroll.tax.bonus`: bonus ÷ 12 on the monthly table, once). This component
decides and records the method on the bonus line (`source`: the method, who chose it, the month's
tax both ways), takes a separately taxed bonus out of the cumulative taxable income (its line is
then not `taxable`) and withholds its tax on its own line (`BonusIncomeTax`). The payslip's
`income_tax` is the month's whole tax, both lines; the cumulative method counts only the wage
tax withheld earlier, so the bonus tax is subtracted from earlier months' totals."""

from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staffing.payroll.components import register
from staffing.payroll.components.kinds import Withholding
from staffing.payroll.models import BonusTaxMethod, BonusTaxRule, FundingSource, PayRun, Payslip, PayslipLine
from staffing.payroll.money import ZERO, money, withholding_this_month, yuan
from staffing.payroll.review.sentences import explains
from staffing.payroll.review.warnings import INFO, WARNING, register_warning
from staffing.payroll.tax import bonus as bonus_tax
from staffing.payroll.tax.deductions import CATEGORIES, deductions_to_date

RELEASED = [PayRun.Status.APPROVED, PayRun.Status.PAID]

# The notes this component leaves on a payslip with a bonus (the review page groups them).
register_warning("bonus_tax_method", label=gettext_lazy("Annual bonus: the tax method used"), severity=INFO)
register_warning("bonus_tax_costlier", label=gettext_lazy("Annual bonus taxed the costlier way for the doctor"), severity=WARNING)


@register
class IncomeTax(Withholding):
    code = "income_tax"
    order = 210
    label = gettext_lazy("Individual income tax")
    funding = ((FundingSource.DOCTOR, 1),)
    description = gettext_lazy("Individual income tax, cumulative withholding at %(rate)s%%")

    def prepare(self, ctx) -> dict:
        """Each doctor's income, insurance and wage tax in the year's earlier released months, the
        year's special deductions up to this month, the bonus rules and the year's bonuses already
        taxed separately: a fixed number of queries for the month, whatever the number of doctors."""
        year_start = ctx.month.replace(month=1)
        earlier_slips = Payslip.objects.filter(month__gte=year_start, month__lt=ctx.month, run__status__in=RELEASED)
        earlier = {row["doctor_id"]: row for row in earlier_slips.values("doctor_id").annotate(
            income=Sum("taxable_income"), insurance=Sum("social_insurance"), tax=Sum("income_tax"))}
        earlier_lines = PayslipLine.objects.filter(payslip__in=earlier_slips)
        bonus_tax_before = dict(earlier_lines.filter(component=bonus_tax.BONUS_TAX_COMPONENT)
                                .values("payslip__doctor_id").annotate(tax=Sum("amount")).values_list("payslip__doctor_id", "tax"))
        separate_before = defaultdict(list)
        for doctor_id, month in earlier_lines.filter(component=bonus_tax.BONUS, source__tax_method=bonus_tax.SEPARATE).values_list(
                "payslip__doctor_id", "payslip__month"):
            separate_before[doctor_id].append(month)
        from staffing.payroll.models import OneOffItem

        explicit_separate = defaultdict(list)
        for item_id, doctor_id, month in OneOffItem.objects.filter(
                kind=bonus_tax.BONUS, tax_method=BonusTaxMethod.SEPARATE, month__year=ctx.month.year).values_list("pk", "doctor_id", "month"):
            explicit_separate[doctor_id].append((item_id, month))
        items = ctx.shared("one_off_items", lambda: list(OneOffItem.objects.filter(month=ctx.month).order_by("pk")))
        return {
            "earlier": earlier,
            "bonus_tax_before": bonus_tax_before,
            "separate_before": separate_before,
            "explicit_separate": explicit_separate,
            "deductions": deductions_to_date(month=ctx.month),
            "bonuses": {item.pk: item for item in items if item.kind == bonus_tax.BONUS},
            "rule": bonus_tax.rule_covering(ctx.month, list(BonusTaxRule.objects.all())),
        }

    def lines(self, ctx, pay, data) -> None:
        prior = data["earlier"].get(pay.doctor.pk, {})
        year_start = ctx.month.replace(month=1)
        first_month = max(year_start, pay.doctor.hire_date.replace(day=1))
        months_employed = max((ctx.month.year - first_month.year) * 12 + ctx.month.month - first_month.month + 1, 1)
        insurance = (prior.get("insurance") or ZERO) + pay.social_insurance
        found = data["deductions"].get(pay.doctor.pk)
        ytd_deductions = found["ytd"] if found else dict.fromkeys(CATEGORIES, ZERO)
        special = sum(ytd_deductions.values(), ZERO)
        prior_income = prior.get("income") or ZERO
        withheld = (prior.get("tax") or ZERO) - data["bonus_tax_before"].get(pay.doctor.pk, ZERO)

        def wage_tax(taxable_this_month):
            return withholding_this_month(cumulative_income=prior_income + taxable_this_month, months_employed=months_employed,
                                          cumulative_special_deductions=insurance + special, tax_already_withheld=withheld)

        bonus_lines = [ln for ln in pay.lines if ln.component == bonus_tax.BONUS and ln.source.get("one_off_item_id") in data["bonuses"]]
        taxable = pay.taxable_income - sum((ln.amount for ln in bonus_lines if ln.taxable), ZERO)
        separate_lines = self._choose(ctx, pay, data, bonus_lines, taxable, wage_tax)
        taxable += sum((ln.amount for ln in bonus_lines if ln not in separate_lines), ZERO)
        for ln in separate_lines:
            ln.taxable = False
        pay.taxable_income = taxable

        tax, detail = wage_tax(taxable)
        detail["social_insurance"] = str(money(insurance))
        detail["special_additional_deductions"] = {name: str(money(v)) for name, v in ytd_deductions.items()}
        detail["special_additional_total"] = str(money(special))
        detail["withheld_before"] = str(money(withheld))
        pay.income_tax = tax
        if tax:
            description = ctx.text(self.description) % {"rate": int(Decimal(detail["rate"]) * 100)}
            self.add(ctx, pay, description=description, quantity=1, rate=tax, amount=tax, source=detail)
        for ln in separate_lines:
            separate = ln.source["separate"]
            amount = Decimal(separate["tax"])
            pay.income_tax += amount
            BONUS_TAX.add(ctx, pay, description=ctx.text(BONUS_TAX.description) % {"rate": int(Decimal(separate["rate"]) * 100)},
                          quantity=1, rate=amount, amount=amount,
                          source={"one_off_item_id": ln.source["one_off_item_id"], **separate, "rule": ln.source["rule"]})

    @staticmethod
    def explain_source(facts) -> str:
        """The line's source as a sentence (the review's payslip sentences)."""
        s = facts.source
        if "cumulative_taxable" not in s:
            return _("%(amount)s yuan") % {"amount": yuan(facts.amount)}
        return _("Cumulative income %(income)s − basic deduction %(basic)s (%(months)s months) − social insurance %(insurance)s − "
                 "special additional deductions %(special)s = cumulative taxable %(taxable)s; at %(rate)s%% less quick deduction "
                 "%(quick)s the year's tax is %(tax)s, less %(before)s withheld earlier = %(amount)s yuan this month") % {
            "income": yuan(s.get("cumulative_income", 0)), "basic": yuan(s.get("basic_deduction", 0)), "months": s.get("months", "—"),
            "insurance": yuan(s.get("social_insurance", 0)), "special": yuan(s.get("special_additional_total", 0)),
            "taxable": yuan(s.get("cumulative_taxable", 0)), "rate": _percent(s.get("rate")), "quick": yuan(s.get("quick_deduction", 0)),
            "tax": yuan(s.get("cumulative_tax", 0)), "before": yuan(s.get("withheld_before", 0)), "amount": yuan(facts.amount)}

    def _choose(self, ctx, pay, data, bonus_lines, taxable, wage_tax) -> list:
        """Decide each bonus's method (in the order entered) and record it on its line; returns the
        lines taxed separately. Raises ValidationError for a separate choice no rule covers, or a
        second separately taxed bonus in the tax year."""
        rule = data["rule"]
        doctor_id = pay.doctor.pk
        month_items = {ln.source["one_off_item_id"] for ln in bonus_lines}
        used = list(data["separate_before"].get(doctor_id, []))
        used += [month for item_id, month in data["explicit_separate"].get(doctor_id, []) if item_id not in month_items]
        combined_extra = ZERO
        separate_lines = []
        for ln in bonus_lines:
            item = data["bonuses"][ln.source["one_off_item_id"]]
            method = item.tax_method or BonusTaxMethod.AUTO
            if method == BonusTaxMethod.SEPARATE:
                if rule is None:
                    raise ValidationError(_("%(doctor)s: %(reason)s") % {"doctor": pay.doctor, "reason": bonus_tax.no_rule_message(ctx.month)})
                if used or separate_lines:
                    other = min(used) if used else ctx.month
                    raise ValidationError(_("%(doctor)s: the bonus of %(month)s is already taxed separately; only one annual one-off bonus a "
                                            "tax year may be. Tax the bonus “%(item)s” with the month's income.")
                                          % {"doctor": pay.doctor, "month": f"{other:%Y-%m}", "item": item.description})
            base_tax = wage_tax(taxable + combined_extra)[0]
            combined_total = wage_tax(taxable + combined_extra + ln.amount)[0]
            if rule is not None:
                separate, how = bonus_tax.separate_tax(ln.amount, rule.brackets)
                separate_total = base_tax + separate
            else:
                separate, how, separate_total = None, None, None
            if separate_total is None or separate_total == combined_total:
                cheaper = bonus_tax.COMBINED if separate_total is None else "equal"
            else:
                cheaper = bonus_tax.SEPARATE if separate_total < combined_total else bonus_tax.COMBINED
            if method == BonusTaxMethod.AUTO:
                available = rule is not None and not used and not separate_lines
                chosen = bonus_tax.SEPARATE if available and cheaper == bonus_tax.SEPARATE else bonus_tax.COMBINED
                chosen_by = "auto"
            else:
                chosen, chosen_by = method, "officer"
            ln.source.update({
                "tax_method": chosen,
                "chosen_by": chosen_by,
                "cheaper": cheaper,
                "month_tax_if_separate": None if separate_total is None else str(separate_total),
                "month_tax_if_combined": str(combined_total),
                "separate": how,
                "rule": None if rule is None else {"id": rule.pk, "basis": rule.basis, "valid_until": str(rule.valid_until or "")},
            })
            if chosen == bonus_tax.SEPARATE:
                separate_lines.append(ln)
            else:
                combined_extra += ln.amount
            self._note(ctx, pay, ln, item)
        return separate_lines

    @staticmethod
    def _note(ctx, pay, ln, item) -> None:
        """A note before approval naming the method used and the month's tax both ways; a separate
        code when the recorded choice costs the doctor more."""
        source = ln.source
        costlier = source["cheaper"] not in ("equal", source["tax_method"])
        params = {
            "item": item.description, "bonus_amount": str(ln.amount), "method": source["tax_method"], "chosen_by": source["chosen_by"],
            "separate_total": source["month_tax_if_separate"] or "", "combined_total": source["month_tax_if_combined"],
        }
        shown = {"item": item.description, "amount": yuan(ln.amount), "separate": yuan(source["month_tax_if_separate"]),
                 "combined": yuan(source["month_tax_if_combined"])}
        methods = {bonus_tax.SEPARATE: _("separately"), bonus_tax.COMBINED: _("with the month's income")}
        if source["month_tax_if_separate"] is None:
            message = _("Bonus “%(item)s” %(amount)s is taxed with the month's income: no rule for separate taxation covers this month.")
        elif costlier:
            message = _("Bonus “%(item)s” %(amount)s is taxed %(used)s as recorded, which costs the doctor more: this month's tax "
                        "%(separate)s taxed separately, %(combined)s with the month's income.")
        else:
            message = _("Bonus “%(item)s” %(amount)s is taxed %(used)s (the cheaper for the doctor): this month's tax %(separate)s "
                        "taxed separately, %(combined)s with the month's income.")
        pay.warnings.append({
            "code": "bonus_tax_costlier" if costlier else "bonus_tax_method",
            "message": message % {**shown, "used": methods[source["tax_method"]]},
            "params": params,
        })


@register
class BonusIncomeTax(Withholding):
    """The tax on an annual one-off bonus taxed separately (written by `IncomeTax`, which decides
    the method; this component computes nothing itself)."""

    code = bonus_tax.BONUS_TAX_COMPONENT
    order = 212
    label = gettext_lazy("Income tax on the annual one-off bonus (taxed separately)")
    funding = ((FundingSource.DOCTOR, 1),)
    description = gettext_lazy("Income tax on the annual one-off bonus, taxed separately at %(rate)s%%")

    def compute(self, ctx, pays, data) -> None:
        return None

    @staticmethod
    def explain_source(facts) -> str:
        s = facts.source
        if "monthly_amount" not in s:
            return _("%(amount)s yuan") % {"amount": yuan(facts.amount)}
        rule = s.get("rule") or {}
        return _("Annual one-off bonus %(bonus)s ÷ 12 = %(monthly)s a month: monthly rate %(rate)s%%, quick deduction %(quick)s; "
                 "%(bonus)s × %(rate)s%% − %(quick)s = %(amount)s yuan (%(basis)s)") % {
            "bonus": yuan(s.get("bonus")), "monthly": yuan(s.get("monthly_amount")), "rate": _percent(s.get("rate")),
            "quick": yuan(s.get("quick_deduction")), "amount": yuan(facts.amount), "basis": rule.get("basis", "")}


def _percent(rate) -> str:
    try:
        return f"{(Decimal(str(rate)) * 100).normalize():f}"
    except (ArithmeticError, ValueError):
        return str(rate)


@explains("bonus")
def _bonus_line(facts):
    """A bonus line: the item it pays and, once taxed, how (the method, who chose, the month's tax both ways)."""
    s = facts.source
    text = _("Entered as one-off item no. %(id)s: %(amount)s yuan") % {"id": s.get("one_off_item_id", "—"), "amount": yuan(facts.amount)}
    if s.get("tax_method"):
        text += "；" + bonus_tax.bonus_sentence(s, facts.amount)
    return text, set(s)


BONUS_TAX = BonusIncomeTax()
