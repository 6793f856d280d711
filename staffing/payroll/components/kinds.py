"""Shared forms of pay components (no component is registered here)."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import RUN, WITHHOLDING, PayComponent
from staffing.payroll.money import money
from staffing.payroll.pay import DEDUCTION, EARNING

RATE_PLACES = Decimal("0.0001")


def iso(dates) -> list[str]:
    return [d.isoformat() for d in dates]


class MonthlySubsidy(PayComponent):
    """A monthly amount from the pay policy: in full for a full month, else payable days × the
    daily rate (the monthly amount ÷ calendar days, rounded to 0.0001)."""

    policy = True
    monthly = True
    correctable = True
    full_month = _("%(component)s, full month")
    part_month = _("%(component)s, %(days)d of %(total)d days")

    def lines(self, ctx, pay, data) -> None:
        part = self.part(ctx, pay)
        if part is None:
            return
        label = ctx.label(self.code)
        full = pay.payable_days == ctx.days_in_month
        source = {"payable_days": pay.payable_days, "days_in_month": ctx.days_in_month}
        if full:
            self.add(ctx, pay, description=ctx.text(self.full_month) % {"component": label}, quantity=1, rate=part.amount,
                     part=part, source=source)
            return
        source["employed_from"] = pay.employed[0].isoformat()
        source["employed_until"] = pay.employed[1].isoformat()
        if pay.unpaid_dates:
            source["unpaid_leave_dates"] = iso(pay.unpaid_dates)
        daily = (part.amount / ctx.days_in_month).quantize(RATE_PLACES)
        description = ctx.text(self.part_month) % {"component": label, "days": pay.payable_days, "total": ctx.days_in_month}
        self.add(ctx, pay, description=description, quantity=pay.payable_days, rate=daily, part=part, source=source)


class OnCallAllowance(PayComponent):
    """A rate per on-call day of a kind on the published roster (no roster, no allowance)."""

    policy = True
    correctable = True
    duty_days = _("%(component)s: %(days)d days")

    def dates(self, facts) -> list:
        raise NotImplementedError

    def lines(self, ctx, pay, data) -> None:
        facts = ctx.duty.get(pay.doctor.pk)
        part = self.part(ctx, pay)
        if part is None or not facts or not facts.published:
            return
        dates = self.dates(facts)
        if not dates:
            return
        description = ctx.text(self.duty_days) % {"component": ctx.label(self.code), "days": len(dates)}
        self.add(ctx, pay, description=description, quantity=len(dates), rate=part.amount, part=part, source={"dates": iso(dates)})


class OneOffKind(PayComponent):
    """The month's one-off items of one kind (OneOffItem.kind == code), in the order entered."""

    phase = RUN

    def prepare(self, ctx):
        from staffing.payroll.models import OneOffItem

        return ctx.shared("one_off_items", lambda: list(OneOffItem.objects.filter(month=ctx.month).order_by("pk")))

    def compute(self, ctx, pays, data) -> None:
        for item in data:
            if item.kind != self.code or item.doctor_id not in pays:
                continue  # another kind, or not in this run's area
            self.add(ctx, pays[item.doctor_id], description=item.description, quantity=1, rate=item.amount, amount=money(item.amount),
                     source={"one_off_item_id": item.pk})


class Withholding(PayComponent):
    """Withheld from the doctor's pay after every earning; not taxable."""

    phase = WITHHOLDING
    kind = DEDUCTION
    taxable = False


__all__ = ["DEDUCTION", "EARNING", "MonthlySubsidy", "OnCallAllowance", "OneOffKind", "Withholding", "iso"]
