"""The funding-source report for the finance bureau: per month and township, what each funding
source pays (县财政, 基本公共卫生服务经费, 基本药物制度补助, 医保基金, and every other source of
`FundingSource`, a new one becoming a new column by itself).

Amounts are the earning lines' funding parts (`PayslipLineFunding`, each line split to the cent
between its sources) of the month's approved and paid runs, so a township's row adds up to the
gross pay of its payslips and the report's total to the runs' gross totals. Withholdings (social
insurance, income tax: source "doctor") are not a funder's money and are left out. Scoped to the
user's reach: a township admin sees his township only. Three queries whatever the number of
townships: the months, the townships in reach, the sums."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from clinics.models import Facility, Township
from clinics.scoping import scope_facilities, scope_queryset
from core.tabular import AUTO, MONEY, TEXT, xlsx_bytes
from staffing.payroll.models import FundingSource, PayRun, PayslipLine, PayslipLineFunding

RELEASED = (PayRun.Status.APPROVED, PayRun.Status.PAID)
# Always shown, in this order, even when a month has nothing from them (the finance bureau's four).
MAIN_SOURCES = (FundingSource.COUNTY_FINANCE, FundingSource.PUBLIC_HEALTH_FUND, FundingSource.ESSENTIAL_MEDICINES_FUND,
                FundingSource.MEDICAL_INSURANCE)
NOT_FUNDERS = (FundingSource.DOCTOR,)
ZERO = Decimal("0.00")


@dataclass
class FundingRow:
    township_id: int | None
    township: str
    code: str
    amounts: dict = field(default_factory=dict)  # source → Decimal

    def cells(self, sources) -> list[Decimal]:
        return [self.amounts.get(s, ZERO) for s in sources]

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


@dataclass
class FundingReport:
    month: datetime.date | None
    months: list  # the months with released pay in reach, newest first
    sources: list  # [(code, label)] the columns
    rows: list  # FundingRow per township
    totals: dict  # source → Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO)

    @property
    def total_cells(self) -> list[Decimal]:
        return [self.totals.get(code, ZERO) for code, _label in self.sources]

    def table(self):
        """Rows of (township, code, cells, total) for the page."""
        codes = [code for code, _label in self.sources]
        return [(row, row.cells(codes)) for row in self.rows]


def _lines_in_reach(user):
    return scope_queryset(PayslipLineFunding.objects.all(), user, facility_path="line__payslip__facility")


def funding_months(*, user) -> list[datetime.date]:
    return list(
        scope_queryset(PayslipLine.objects.filter(payslip__run__status__in=RELEASED), user, facility_path="payslip__facility")
        .order_by("-payslip__month").values_list("payslip__month", flat=True).distinct()
    )


def funding_report(*, user, month: datetime.date | None = None) -> FundingReport:
    months = funding_months(user=user)
    month = month.replace(day=1) if month else (months[0] if months else None)
    labels = dict(FundingSource.choices)
    # Townships in reach: those of the clinics the user may see.
    townships = list(
        Township.objects.filter(pk__in=scope_facilities(Facility.objects.all(), user).values("township_id")).order_by("code")
        .values_list("pk", "name", "code")
    )
    rows = {pk: FundingRow(pk, name, code or "") for pk, name, code in townships}
    totals: dict = defaultdict(lambda: ZERO)
    used = set()
    if month is not None:
        sums = (
            _lines_in_reach(user)
            .filter(line__payslip__month=month, line__payslip__run__status__in=RELEASED, line__kind=PayslipLine.Kind.EARNING)
            .exclude(source__in=NOT_FUNDERS)
            .values("line__payslip__township_id", "source")
            .annotate(amount=Sum("amount"))
            .order_by()
        )
        for item in sums:
            township_id, source, amount = item["line__payslip__township_id"], item["source"], item["amount"] or ZERO
            row = rows.get(township_id)
            if row is None:  # a payslip without a township (or outside the listed ones): its own row
                row = rows[township_id] = FundingRow(township_id, _("No township"), "")
            row.amounts[source] = row.amounts.get(source, ZERO) + amount
            totals[source] += amount
            used.add(source)
    sources = [(code, labels[code]) for code in FundingSource.values if code in MAIN_SOURCES or (code in used and code not in NOT_FUNDERS)]
    sources += [(code, code) for code in sorted(used - set(labels))]  # a source no longer in the choices still adds up
    return FundingReport(month=month, months=months, sources=sources, rows=list(rows.values()), totals=dict(totals))


def funding_report_xlsx(report: FundingReport) -> bytes:
    """The report as a sheet: township name and code (text), one money column per source and the
    total (numeric cells, #,##0.00), a total row."""
    headers = [pgettext("payroll", "Township"), pgettext("payroll", "Township code")] + [str(label) for _c, label in report.sources] + [
        pgettext("payroll", "Total")]
    body = [[row.township, row.code, *cells, row.total] for row, cells in report.table()]
    body.append([pgettext("payroll", "Total"), "", *report.total_cells, report.total])
    kinds = [AUTO, TEXT] + [MONEY] * (len(report.sources) + 1)
    title = f"{report.month:%Y-%m}" if report.month else "-"
    return xlsx_bytes(headers, body, sheet_title=title, kinds=kinds)
