"""What the calculation produces before it is written: a doctor's pay for the month (`DoctorPay`)
and its lines (`Line`), each with its funding split."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from staffing.payroll.models import PayslipLine
from staffing.payroll.money import ZERO

EARNING = PayslipLine.Kind.EARNING
DEDUCTION = PayslipLine.Kind.DEDUCTION


@dataclass(slots=True)
class Line:
    component: str
    kind: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    reference_month: datetime.date
    taxable: bool = True
    policy_id: int | None = None
    # Who pays the line: ((funding source, share), ...), shares summing to 1. Written as one
    # PayslipLineFunding row per source, the amount split to the cent (`money.split_by_shares`).
    funding: tuple = ()
    source: dict = field(default_factory=dict)

    @property
    def signed(self) -> Decimal:
        return self.amount if self.kind == EARNING else -self.amount

    @property
    def funding_source(self) -> str:
        """The line's main source (the first of its split), shown on the line."""
        return self.funding[0][0] if self.funding else ""


@dataclass(slots=True)
class DoctorPay:
    doctor: object
    facility_id: int
    township_id: int | None
    payable_days: int
    days_in_month: int
    employed_days: int
    employed: tuple = ()  # (first day, last day) employed in the month
    employed_ranges: tuple = ()  # ((first day, last day), ...) of each posting in the month
    unpaid_dates: list = field(default_factory=list)  # days of unpaid leave
    lines: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    gross: Decimal = ZERO
    deductions: Decimal = ZERO
    net: Decimal = ZERO
    taxable_income: Decimal = ZERO
    social_insurance: Decimal = ZERO
    income_tax: Decimal = ZERO

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})

    def total_up(self) -> None:
        self.gross = sum((ln.amount for ln in self.lines if ln.kind == EARNING), ZERO)
        self.deductions = sum((ln.amount for ln in self.lines if ln.kind == DEDUCTION), ZERO)
        self.net = self.gross - self.deductions
