"""The annual one-off bonus (全年一次性奖金) taxed separately, 财政部 税务总局公告2023年第30号 (in
force to 2027-12-31): the bonus ÷ 12 picks a row of the monthly rate table, and the tax is the
whole bonus × that rate − that row's quick deduction (once, not × 12). The rule is a dated row
(`BonusTaxRule`), so a later announcement is entered as data; a bonus paid in a month no rule
covers cannot be taxed separately (refused at entry and at calculation, in Chinese).

Which method a bonus uses (`OneOffItem.tax_method`):
- separately or with the month's income, as the payroll officer chose; or
- automatic (the default): the calculation works out this month's tax both ways and uses the
  cheaper for the doctor (a tie: with the month's income), and records the choice, both figures and
  the rule on the bonus's payslip line (`source`), frozen with the payslip once the run is approved.
At most one bonus per doctor and tax year is taxed separately: a database constraint on the
officer's explicit choices, the same check in front of it with a friendly message (which also
counts bonuses an approved run taxed separately by the automatic choice), and the automatic
choice never picks "separately" a second time in a year.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from staffing.payroll.money import ZERO, money

BONUS = "bonus"
SEPARATE = "separate"
COMBINED = "combined"
AUTO = "auto"
BONUS_TAX_COMPONENT = "bonus_income_tax"

# 财政部 税务总局公告2023年第30号: the monthly rate table (月度税率表), upper bounds inclusive.
RULE_2023_30 = {
    "name": "全年一次性奖金单独计税",
    "basis": "财政部 税务总局公告2023年第30号",
    "valid_from": datetime.date(2023, 1, 1),
    "valid_until": datetime.date(2027, 12, 31),
    "brackets": [
        ["3000", "0.03", "0"],
        ["12000", "0.10", "210"],
        ["25000", "0.20", "1410"],
        ["35000", "0.25", "2660"],
        ["55000", "0.30", "4410"],
        ["80000", "0.35", "7160"],
        [None, "0.45", "15160"],
    ],
}


def parse_brackets(rows) -> list[tuple[Decimal | None, Decimal, Decimal]]:
    """The rate table as Decimals, checked: ascending bounds, the last open, rates in (0, 1),
    quick deductions not negative. Raises ValueError with a Chinese message."""
    if not isinstance(rows, list) or not rows:
        raise ValueError(_("The rate table needs at least one row."))
    parsed = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            raise ValueError(_("Row %(n)d of the rate table must be [upper bound, rate, quick deduction].") % {"n": number})
        try:
            upper = None if row[0] in (None, "") else Decimal(str(row[0]))
            rate, quick = Decimal(str(row[1])), Decimal(str(row[2]))
        except (InvalidOperation, TypeError) as exc:
            raise ValueError(_("Row %(n)d of the rate table has a value that is not a number.") % {"n": number}) from exc
        if not (ZERO < rate < 1) or quick < 0:
            raise ValueError(_("Row %(n)d of the rate table: the rate must be between 0 and 1 and the quick deduction not negative.") % {"n": number})
        parsed.append((upper, rate, quick))
    bounds = [upper for upper, _rate, _quick in parsed]
    if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
        raise ValueError(_("Only the last row of the rate table has no upper bound, and it must have none."))
    finite = bounds[:-1]
    if any(a <= 0 for a in finite) or any(a >= b for a, b in zip(finite, finite[1:], strict=False)):
        raise ValueError(_("The upper bounds of the rate table must rise from row to row."))
    return parsed


def separate_tax(amount: Decimal, brackets) -> tuple[Decimal, dict]:
    """The tax on a bonus taxed separately, and how it was found."""
    table = parse_brackets(brackets)
    monthly = amount / 12
    upper, rate, quick = next(row for row in table if row[0] is None or monthly <= row[0])
    tax = max(money(amount * rate - quick), ZERO)
    return tax, {"bonus": str(money(amount)), "monthly_amount": str(money(monthly)), "rate": str(rate), "quick_deduction": str(quick),
                 "tax": str(tax)}


def rule_covering(day: datetime.date, rules=None):
    """The rule in force on `day` (the latest start wins), or None."""
    from staffing.payroll.models import BonusTaxRule

    rules = BonusTaxRule.objects.all() if rules is None else rules
    found = None
    for rule in rules:
        if rule.valid_from <= day and (rule.valid_until is None or rule.valid_until >= day):
            if found is None or rule.valid_from > found.valid_from:
                found = rule
    return found


def no_rule_message(day: datetime.date) -> str:
    return _("No rule for taxing an annual one-off bonus separately covers %(month)s (财政部 税务总局公告2023年第30号 applies until "
             "2027-12-31). Enter a newer rule under “one-off bonus tax rules”, or tax this bonus with the month's income.") % {
        "month": f"{day:%Y-%m}"}


def rule_clean(rule) -> None:
    """A rule's own checks (its model's clean): a readable rate table, no overlap with another rule."""
    from staffing.payroll.models import BonusTaxRule

    errors = {}
    try:
        parse_brackets(rule.brackets)
    except ValueError as exc:
        errors["brackets"] = [str(exc)]
    if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
        errors["valid_until"] = [_("A rule cannot end before it starts.")]
    elif rule.valid_from:
        others = BonusTaxRule.objects.exclude(pk=rule.pk)
        for other in others:
            starts_before_other_ends = other.valid_until is None or rule.valid_from <= other.valid_until
            ends_after_other_starts = rule.valid_until is None or rule.valid_until >= other.valid_from
            if starts_before_other_ends and ends_after_other_starts:
                errors["valid_from"] = [_("The dates overlap the rule “%(rule)s”; end that rule first.") % {"rule": other}]
                break
    if errors:
        raise ValidationError(errors)


def separate_bonus_elsewhere(*, doctor_id: int, year: int, exclude_item_id=None):
    """Another bonus of the doctor's tax year taxed separately: an item the officer marked so, or
    one an approved run taxed separately by the automatic choice. Returns its month, or None."""
    from staffing.payroll.models import BonusTaxMethod, OneOffItem, PayRun, PayslipLine

    items = OneOffItem.objects.filter(doctor_id=doctor_id, kind=BONUS, tax_method=BonusTaxMethod.SEPARATE, month__year=year)
    if exclude_item_id:
        items = items.exclude(pk=exclude_item_id)
    month = items.values_list("month", flat=True).first()
    if month:
        return month
    for reference_month, item_id in PayslipLine.objects.filter(
        payslip__doctor_id=doctor_id, payslip__month__year=year, component=BONUS, source__tax_method=SEPARATE,
        payslip__run__status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID],
    ).values_list("payslip__month", "source__one_off_item_id"):
        if item_id != exclude_item_id:
            return reference_month
    return None


def one_off_item_clean(item) -> None:
    """A one-off item's tax-method checks (its model's clean, so every save through a form or a
    service meets them): only a bonus has a method; a separately taxed bonus needs a rule covering
    its month, and is the doctor's only one in its tax year."""
    from staffing.payroll.models import BonusTaxMethod

    method = item.tax_method or BonusTaxMethod.AUTO
    if item.kind != BONUS:
        if method != BonusTaxMethod.AUTO:
            raise ValidationError({"tax_method": _("Only a one-off bonus has a tax method.")})
        return
    if method != BonusTaxMethod.SEPARATE or not item.month or not item.doctor_id:
        return
    month = item.month.replace(day=1)
    if rule_covering(month) is None:
        raise ValidationError({"tax_method": no_rule_message(month)})
    other = separate_bonus_elsewhere(doctor_id=item.doctor_id, year=month.year, exclude_item_id=item.pk)
    if other:
        raise ValidationError({"tax_method": _(
            "This doctor's bonus of %(month)s is already taxed separately; only one annual one-off bonus a tax year may be. "
            "Tax this one with the month's income.") % {"month": f"{other:%Y-%m}"}})


RULE_FIELDS = ["name", "basis", "valid_from", "valid_until", "brackets", "notes"]


def bonus_tax_rule_save(*, rule, acting_user):
    """Enter or change a bonus tax rule (county-wide users only), validated and audited."""
    from django.db import transaction

    from clinics.scoping import require_county_wide
    from staffing.payroll.services.audited import save_audited

    with transaction.atomic():
        require_county_wide(acting_user, what=_("Entering a one-off bonus tax rule"))
        rule.full_clean()
        return save_audited(rule, fields=RULE_FIELDS, action="bonus_tax_rule", acting_user=acting_user)


def bonus_sentence(source: dict, amount) -> str:
    """How a bonus was taxed, in one sentence (the payslip and its admin page)."""
    from staffing.payroll.money import yuan as _yuan

    used = _("separately") if source.get("tax_method") == SEPARATE else _("with the month's income")
    who = _("as the payroll officer chose") if source.get("chosen_by") == "officer" else _("the cheaper for the doctor, chosen automatically")
    if source.get("month_tax_if_separate") is None:
        return _("Bonus %(amount)s taxed %(used)s (no rule for separate taxation covers this month); this month's tax %(combined)s.") % {
            "amount": _yuan(amount), "used": used, "combined": _yuan(source.get("month_tax_if_combined"))}
    return _("Bonus %(amount)s taxed %(used)s (%(who)s): this month's tax would be %(separate)s taxed separately, %(combined)s with the "
             "month's income.") % {"amount": _yuan(amount), "used": used, "who": who, "separate": _yuan(source["month_tax_if_separate"]),
                                   "combined": _yuan(source["month_tax_if_combined"])}
