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

    by_version = _("%(component)s, %(days)d of %(total)d days under the version from %(from)s")

    def lines(self, ctx, pay, data) -> None:
        entries = version_days(ctx, pay, self.code)
        if len(entries) == 1 and entries[0][2] == pay.payable_days:
            self.one_version(ctx, pay, entries[0][1])
        elif entries:
            self.by_versions(ctx, pay, entries)

    def by_versions(self, ctx, pay, entries) -> None:
        """A month under several versions (one in force from a mid-month day): one line per version,
        payable days in force × the version's daily rate, the parts rounded so they add up to the
        exact total (`policies.prorated_parts`)."""
        from staffing.payroll.policies import prorated_parts

        label = ctx.label(self.code)
        amounts = prorated_parts([(part.amount, days) for _seg, part, days in entries], ctx.days_in_month)
        for (segment, part, days), amount in zip(entries, amounts, strict=True):
            source = {"payable_days": days, "days_in_month": ctx.days_in_month, "in_force_from": segment.start.isoformat(),
                      "in_force_until": segment.end.isoformat(), "monthly_amount": str(part.amount), "share_of_month": f"{days}/{ctx.days_in_month}"}
            if pay.unpaid_dates:
                source["unpaid_leave_dates"] = iso(d for d in pay.unpaid_dates if segment.covers(d))
            description = ctx.text(self.by_version) % {"component": label, "days": days, "total": ctx.days_in_month,
                                                         "from": segment.start.isoformat()}
            self.add(ctx, pay, description=description, quantity=days, rate=(part.amount / ctx.days_in_month).quantize(RATE_PLACES),
                     amount=amount, part=part, source=source)

    def one_version(self, ctx, pay, part) -> None:
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


def version_days(ctx, pay, code: str) -> list:
    """(segment, policy row, payable days) for each run of days the month's versions give
    component `code` the same row (`policies.PolicySegment`); days without a row are not paid."""
    segments = ctx.policies.segments(pay.township_id, ctx.month, ctx.last_day)
    if len(segments) == 1:  # the usual month, one version throughout
        segment = segments[0]
        part = segment.policy.components.get(code)
        days = payable_days_in(pay, segment.start, segment.end) if part is not None else 0
        return [(segment, part, days)] if days else []
    entries = []
    for segment in segments:
        part = segment.policy.components.get(code)
        if part is None:
            continue
        days = payable_days_in(pay, segment.start, segment.end)
        if not days:
            continue
        if entries and entries[-1][1] == part:
            previous, _part, previous_days = entries[-1]
            entries[-1] = (type(previous)(previous.start, segment.end, segment.policy), part, previous_days + days)
            continue
        entries.append((segment, part, days))
    return entries


def payable_days_in(pay, start, end) -> int:
    """The doctor's payable days between `start` and `end` (employed days minus unpaid leave)."""
    employed = 0
    for r_start, r_end in pay.employed_ranges or ((pay.employed,) if pay.employed else ()):
        first, last = max(start, r_start), min(end, r_end)
        if first <= last:
            employed += (last - first).days + 1
    if pay.unpaid_dates:
        employed -= sum(1 for d in pay.unpaid_dates if start <= d <= end)
    return employed


class OnCallAllowance(PayComponent):
    """A rate per on-call day of a kind on the published roster (no roster, no allowance)."""

    policy = True
    correctable = True
    duty_days = _("%(component)s: %(days)d days")

    def dates(self, facts) -> list:
        raise NotImplementedError

    def lines(self, ctx, pay, data) -> None:
        facts = ctx.duty.get(pay.doctor.pk)
        if not facts or not facts.published:
            return
        dates = self.dates(facts)
        if not dates:
            return
        # Each on-call day at the rate of the version in force that day (a mid-month version).
        by_part = []
        for segment in ctx.policies.segments(pay.township_id, ctx.month, ctx.last_day):
            segment_part = segment.policy.components.get(self.code)
            in_segment = [d for d in dates if segment.covers(d)]
            if segment_part is None or not in_segment:
                continue
            if by_part and by_part[-1][0] == segment_part:
                by_part[-1][1].extend(in_segment)
            else:
                by_part.append((segment_part, in_segment))
        for segment_part, segment_dates in by_part:
            description = ctx.text(self.duty_days) % {"component": ctx.label(self.code), "days": len(segment_dates)}
            self.add(ctx, pay, description=description, quantity=len(segment_dates), rate=segment_part.amount, part=segment_part,
                     source={"dates": iso(segment_dates)})


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


__all__ = ["DEDUCTION", "EARNING", "MonthlySubsidy", "OnCallAllowance", "OneOffKind", "Withholding", "iso", "payable_days_in", "version_days"]
