"""Payroll: dated pay policies, social-insurance schemes, assessments, one-off items, monthly pay
runs and their payslips.

- `PayPolicy` is one version of the pay rules, in force from `effective_from` until the next
  version. A county-wide version has no township; a township version overrides the county version
  component by component (components it does not list fall back to the county version).
- `PolicyComponent` is one component of a version: its amount (a monthly amount, a rate per
  visit or per on-call day) and the funding source that pays it.
- `PerformanceBand` maps an assessment score to a monthly bonus (positive) or deduction (negative).
- `PayRun` is the month's run for the county (or one township): draft → calculated → approved →
  paid. Once approved its payslips and lines are frozen: services refuse, the admin is read-only,
  and a database trigger refuses UPDATE/DELETE/INSERT of their rows. A run that pays a doctor
  whose bank account changed since their last paid run is approved only with an acknowledgement
  of those changes, recorded on the run.
- `Payslip` is one doctor's pay in a run (one per doctor per run, enforced by a constraint);
  `PayslipLine` one traceable line: component, quantity × rate, amount, policy version, source;
  `PayslipLineFunding` the line's split between funding sources (parts adding up to its amount).
- A line's or a policy row's `component` is a code of the pay-component registry
  (`staffing.payroll.components`, one module per component); the field's choices are read from it.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractYear
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Facility, Township
from staffing.models import Doctor

MONEY = {"max_digits": 12, "decimal_places": 2}


class _ComponentCodes(type):
    """`Component.FIXED_SUBSIDY` is the code "fixed_subsidy" of a registered component;
    `Component.choices` / `.values` list every registered one (staffing.payroll.components)."""

    def __getattr__(cls, name):
        code = name.lower()
        if name.isupper() and code in dict(component_choices()):
            return code
        raise AttributeError(name)

    @property
    def choices(cls) -> list[tuple[str, str]]:
        return component_choices()

    @property
    def values(cls) -> list[str]:
        return [code for code, _label in component_choices()]


class Component(metaclass=_ComponentCodes):
    """The pay components' codes by name, read from the registry (no enum to extend)."""


def component_choices() -> list[tuple[str, str]]:
    """Every registered pay component (a callable, so the field's choices never need a migration)."""
    from staffing.payroll import components

    return components.choices()


def policy_component_choices() -> list[tuple[str, str]]:
    """The registered components whose amount or rate a pay policy gives."""
    from staffing.payroll import components

    return components.policy_choices()


class FundingSource(models.TextChoices):
    COUNTY_FINANCE = "county_finance", _("County finance")
    PUBLIC_HEALTH_FUND = "public_health_fund", _("Basic public-health service funds")
    ESSENTIAL_MEDICINES_FUND = "essential_medicines_fund", _("Essential-medicines system funds")
    MEDICAL_INSURANCE = "medical_insurance", _("Medical-insurance fund")
    TOWNSHIP_CENTRE = "township_centre", _("Township health centre")
    PERFORMANCE_FUND = "performance_fund", _("Performance assessment fund")
    DOCTOR = "doctor", _("Withheld from the doctor")
    RESIDENT = "resident", _("Resident's own payment")


class ContractFeePayment(models.TextChoices):
    MONTHLY = "monthly", _("Monthly: fee × contracts ÷ 12")
    BY_ASSESSMENT = "by_assessment", _("By assessment: once the year's score is recorded, scaled by it")


class PayPolicy(models.Model):
    name = models.CharField(_("name"), max_length=100)
    township = models.ForeignKey(
        Township,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty for the county-wide policy; a township policy overrides it component by component."),
    )
    effective_from = models.DateField(_("effective from"), help_text=_("In force from this day until the next version."))
    guaranteed_minimum = models.DecimalField(
        _("guaranteed monthly minimum"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Gross pay of a full month below this is flagged before approval. Empty: taken from the county policy."),
    )
    notes = models.TextField(_("notes"), blank=True)
    is_demo = models.BooleanField(_("demo values"), default=False)
    # Family-doctor contract service fee (签约服务费, staffing.payroll.components.contract_service_fee):
    # a fee per contracted resident per service year, split between its funding sources by the
    # shares (percentages summing to 100), paid monthly (fee × contracts ÷ 12) or by assessment.
    contract_fee_per_year = models.DecimalField(
        _("contract service fee per contract per year"), **MONEY, null=True, blank=True,
        help_text=_("Yuan per contracted resident per service year. Empty: taken from the county version (none if it has none either)."),
    )
    contract_fee_payment = models.CharField(
        _("contract service fee paid"), max_length=15, choices=ContractFeePayment.choices, default=ContractFeePayment.MONTHLY,
    )
    contract_fee_insurance_share = models.DecimalField(_("share from the medical-insurance fund (%)"), max_digits=5, decimal_places=2,
                                                       default=Decimal("0"))
    contract_fee_public_health_share = models.DecimalField(_("share from basic public-health service funds (%)"), max_digits=5,
                                                           decimal_places=2, default=Decimal("0"))
    contract_fee_resident_share = models.DecimalField(_("share paid by the resident (%)"), max_digits=5, decimal_places=2,
                                                      default=Decimal("0"))

    class Meta:
        ordering = ["-effective_from", "township__code"]
        verbose_name = _("pay policy version")
        verbose_name_plural = _("pay policy versions")
        constraints = [
            models.UniqueConstraint(
                fields=["township", "effective_from"],
                name="payroll_policy_one_version_per_day",
                violation_error_message=_("This township already has a policy version from this day; edit that one."),
            ),
            models.UniqueConstraint(
                fields=["effective_from"],
                condition=Q(township__isnull=True),
                name="payroll_county_policy_one_version_per_day",
                violation_error_message=_("There is already a county-wide policy version from this day; edit that one."),
            ),
            models.CheckConstraint(
                condition=Q(guaranteed_minimum__isnull=True) | Q(guaranteed_minimum__gte=0),
                name="payroll_policy_minimum_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(contract_fee_per_year__isnull=True) | (
                    Q(contract_fee_per_year__gte=0) & Q(contract_fee_insurance_share__gte=0) & Q(contract_fee_public_health_share__gte=0)
                    & Q(contract_fee_resident_share__gte=0)
                    & Q(Exact(F("contract_fee_insurance_share") + F("contract_fee_public_health_share") + F("contract_fee_resident_share"),
                              Decimal("100")))
                ),
                name="payroll_policy_contract_fee_shares_100",
                violation_error_message=_("The contract service fee's shares (medical-insurance fund, public-health funds, resident) "
                                          "must each be 0 or more and add up to 100%."),
            ),
        ]

    def __str__(self):
        where = self.township.name if self.township_id else _("county-wide")
        demo = _("(demo)") if self.is_demo else ""
        return f"{self.name} · {where} · {self.effective_from}{demo}"


class PolicyComponent(models.Model):
    policy = models.ForeignKey(PayPolicy, verbose_name=_("policy version"), on_delete=models.CASCADE, related_name="components")
    component = models.CharField(_("component"), max_length=30, choices=policy_component_choices)
    amount = models.DecimalField(
        _("amount or rate"),
        **MONEY,
        help_text=_("Monthly amount for subsidies; yuan per insured visit for the consultation fee; yuan per on-call day for duty allowances."),
    )
    funding_source = models.CharField(_("funding source"), max_length=30, choices=FundingSource.choices)

    class Meta:
        ordering = ["policy", "component"]
        verbose_name = _("policy component")
        verbose_name_plural = _("policy components")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "component"],
                name="payroll_component_once_per_policy",
                violation_error_message=_("This component is already in this policy version."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payroll_component_amount_not_negative",
                                   violation_error_message=_("An amount or rate cannot be negative.")),
        ]

    def __str__(self):
        from staffing.payroll.money import yuan

        return f"{self.get_component_display()} {yuan(self.amount)}"


class PerformanceBand(models.Model):
    policy = models.ForeignKey(PayPolicy, verbose_name=_("policy version"), on_delete=models.CASCADE, related_name="bands")
    label = models.CharField(_("band"), max_length=30)
    min_score = models.DecimalField(_("from score"), max_digits=5, decimal_places=2, help_text=_("Scores from this value up to the next band's value fall in this band."))
    monthly_amount = models.DecimalField(_("monthly amount"), **MONEY, help_text=_("Positive: bonus; negative: deduction."))

    class Meta:
        ordering = ["policy", "-min_score"]
        verbose_name = _("performance band")
        verbose_name_plural = _("performance bands")
        constraints = [
            models.UniqueConstraint(fields=["policy", "min_score"], name="payroll_band_unique_threshold",
                                    violation_error_message=_("Two bands of a policy cannot start at the same score.")),
        ]

    def __str__(self):
        from staffing.payroll.money import yuan

        return f"{self.label} ≥{self.min_score}: {yuan(self.monthly_amount)}"


class InsuranceScheme(models.Model):
    """A social-insurance scheme and the employee share withheld from pay."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    contribution_base = models.DecimalField(_("monthly contribution base"), **MONEY, default=Decimal("0"))
    employee_rate = models.DecimalField(
        _("employee rate"), max_digits=6, decimal_places=4, default=Decimal("0"), help_text=_("For example 0.1050 for 8% pension, 2% medical and 0.5% unemployment.")
    )
    flat_amount = models.DecimalField(
        _("flat monthly amount"), **MONEY, null=True, blank=True, help_text=_("For schemes with a fixed contribution; overrides base × rate.")
    )
    is_default = models.BooleanField(_("default for doctors without a pay profile"), default=False)
    # The tax filing's split of the employee share (基本养老/基本医疗/失业保险费): medical and
    # unemployment are base × their rate; pension is the rest. A flat-amount scheme (the resident
    # pension scheme) leaves them 0, so its whole amount is pension.
    medical_rate = models.DecimalField(_("of which medical rate"), max_digits=6, decimal_places=4, default=Decimal("0"),
                                       help_text=_("For the tax filing: the part of the employee rate that is basic medical insurance, for example 0.0200."))
    unemployment_rate = models.DecimalField(_("of which unemployment rate"), max_digits=6, decimal_places=4, default=Decimal("0"),
                                            help_text=_("For the tax filing: the part of the employee rate that is unemployment insurance, for example 0.0050. The rest is pension."))
    is_demo = models.BooleanField(_("demo values"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("social-insurance scheme")
        verbose_name_plural = _("social-insurance schemes")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="payroll_one_default_scheme",
                                    violation_error_message=_("Only one scheme can be the default.")),
            models.CheckConstraint(condition=Q(employee_rate__gte=0) & Q(employee_rate__lt=1) & Q(contribution_base__gte=0),
                                   name="payroll_scheme_rate_in_range",
                                   violation_error_message=_("The employee rate must be between 0 and 1 and the base not negative.")),
            models.CheckConstraint(condition=Q(medical_rate__gte=0) & Q(unemployment_rate__gte=0)
                                   & Q(employee_rate__gte=models.F("medical_rate") + models.F("unemployment_rate")),
                                   name="payroll_scheme_split_within_rate",
                                   violation_error_message=_("The medical and unemployment rates are parts of the employee rate: not negative, and together not above it.")),
        ]

    def __str__(self):
        return f"{self.name}{_('(demo)')}" if self.is_demo else self.name


class PayProfile(models.Model):
    """Payroll facts about a doctor that the register does not hold."""

    doctor = models.OneToOneField(Doctor, verbose_name=_("doctor"), on_delete=models.CASCADE, related_name="pay_profile")
    scheme = models.ForeignKey(InsuranceScheme, verbose_name=_("social-insurance scheme"), on_delete=models.PROTECT, null=True, blank=True,
                               help_text=_("Empty: the default scheme."))
    exempt_from_insurance = models.BooleanField(_("no social-insurance deduction"), default=False,
                                                help_text=_("For example a doctor past retirement age who no longer contributes."))

    class Meta:
        ordering = ["doctor__name"]
        verbose_name = _("pay profile")
        verbose_name_plural = _("pay profiles")

    def __str__(self):
        return str(self.doctor)


class Assessment(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="assessments")
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.MONTH)
    period_start = models.DateField(_("period starts"), help_text=_("First day of the month, or of the quarter's first month."))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-period_start", "doctor__name"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.UniqueConstraint(fields=["doctor", "period", "period_start"], name="payroll_one_assessment_per_period",
                                    violation_error_message=_("This doctor already has an assessment for this period; edit it instead.")),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="payroll_score_0_100",
                                   violation_error_message=_("A score is between 0 and 100.")),
        ]
        indexes = [models.Index(fields=["period_start", "period"])]

    def __str__(self):
        return f"{self.doctor} {self.period_start:%Y-%m} {self.get_period_display()} {self.score}"


class BonusTaxMethod(models.TextChoices):
    AUTO = "auto", _("Automatic: the cheaper for the doctor")
    SEPARATE = "separate", _("Separately (annual one-off bonus)")
    COMBINED = "combined", _("With the month's income")


class OneOffItem(models.Model):
    class Kind(models.TextChoices):
        # The codes of the one-off components (staffing.payroll.components.bonus, …).
        BONUS = "bonus", _("One-off bonus")
        BACK_PAY = "back_pay", _("Back pay")
        DEDUCTION = "one_off_deduction", _("One-off deduction")

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="one_off_items")
    month = models.DateField(_("paid in month"), help_text=_("First day of the month whose run pays it."))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    description = models.CharField(_("description"), max_length=200)
    # How an annual one-off bonus is taxed (staffing.payroll.tax.bonus): separately on the monthly
    # rate table, with the month's income, or (auto) the cheaper of the two for the doctor, chosen
    # and recorded on the payslip line at calculation.
    tax_method = models.CharField(_("bonus tax method"), max_length=10, choices=BonusTaxMethod.choices, default=BonusTaxMethod.AUTO,
                                  help_text=_("For an annual one-off bonus only. Automatic: the calculation uses the cheaper method for the doctor and records it on the payslip."))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    entered_at = models.DateTimeField(_("entered"), default=timezone.now)

    class Meta:
        ordering = ["-month", "doctor__name"]
        verbose_name = _("one-off item")
        verbose_name_plural = _("one-off items")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payroll_one_off_positive",
                                   violation_error_message=_("Enter the amount as a positive number; the kind says whether it is paid or deducted.")),
            models.CheckConstraint(condition=Q(kind="bonus") | Q(tax_method="auto"), name="payroll_tax_method_only_for_bonus",
                                   violation_error_message=_("Only a one-off bonus has a tax method.")),
            models.UniqueConstraint(ExtractYear("month"), "doctor", condition=Q(kind="bonus", tax_method="separate"),
                                    name="payroll_one_separate_bonus_per_year",
                                    violation_error_message=_("This doctor already has a separately taxed annual bonus in this tax year; "
                                                              "only one a year may be taxed separately. Tax this one with the month's income.")),
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        from staffing.payroll.money import yuan

        return f"{self.doctor} {self.month:%Y-%m} {self.get_kind_display()} {yuan(self.amount)}"

    def clean(self):
        from staffing.payroll.tax.bonus import one_off_item_clean

        one_off_item_clean(self)


class PayRun(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CALCULATED = "calculated", _("Calculated")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    township = models.ForeignKey(Township, verbose_name=_("township"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 help_text=_("Empty for the county-wide run."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    doctor_count = models.PositiveIntegerField(_("doctors"), default=0)
    gross_total = models.DecimalField(_("gross total"), **MONEY, default=Decimal("0"))
    deduction_total = models.DecimalField(_("deductions total"), **MONEY, default=Decimal("0"))
    net_total = models.DecimalField(_("net total"), **MONEY, default=Decimal("0"))
    warnings = models.JSONField(_("run warnings"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    calculated_at = models.DateTimeField(_("calculated"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    # The approver's acknowledgement of the bank-account changes the run warned about: one entry
    # per change (its audit entry, doctor, clinic, masked old and new account, who changed it, when).
    bank_changes_acknowledged = models.JSONField(_("bank-account changes acknowledged"), default=list, blank=True)
    bank_changes_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("bank-account changes acknowledged by"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
    )
    bank_changes_acknowledged_at = models.DateTimeField(_("bank-account changes acknowledged at"), null=True, blank=True)

    class Meta:
        ordering = ["-month", "township__code"]
        verbose_name = _("pay run")
        verbose_name_plural = _("pay runs")
        constraints = [
            models.UniqueConstraint(fields=["month", "township"], name="payroll_one_run_per_township_month",
                                    violation_error_message=_("There is already a run for this township and month.")),
            models.UniqueConstraint(fields=["month"], condition=Q(township__isnull=True), name="payroll_one_county_run_per_month",
                                    violation_error_message=_("There is already a county-wide run for this month.")),
        ]

    def __str__(self):
        where = self.township.name if self.township_id else _("county-wide")
        return f"{self.month:%Y-%m} {where}"

    @property
    def is_locked(self) -> bool:
        return self.status in (self.Status.APPROVED, self.Status.PAID)


def payslip_label(doctor: str, month) -> str:
    """How a payslip is named (`Payslip.__str__`; also without an instance: a run's 28,000 in the
    audit trail)."""
    return f"{doctor} {month:%Y-%m}"


class Payslip(models.Model):
    run = models.ForeignKey(PayRun, verbose_name=_("pay run"), on_delete=models.CASCADE, related_name="payslips")
    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="payslips")
    month = models.DateField(_("month"))
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(Township, verbose_name=_("township"), on_delete=models.PROTECT, null=True, related_name="+")
    payable_days = models.PositiveSmallIntegerField(_("payable days"))
    days_in_month = models.PositiveSmallIntegerField(_("days in month"))
    gross = models.DecimalField(_("gross pay"), **MONEY)
    deductions = models.DecimalField(_("deductions"), **MONEY)
    net = models.DecimalField(_("net pay"), **MONEY)
    taxable_income = models.DecimalField(_("taxable income this month"), **MONEY, default=Decimal("0"))
    social_insurance = models.DecimalField(_("social insurance this month"), **MONEY, default=Decimal("0"))
    income_tax = models.DecimalField(_("income tax this month"), **MONEY, default=Decimal("0"))
    bank_name = models.CharField(_("bank"), max_length=50, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=30, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)

    class Meta:
        ordering = ["run", "township__code", "facility__code", "doctor__name"]
        verbose_name = _("payslip")
        verbose_name_plural = _("payslips")
        constraints = [
            models.UniqueConstraint(fields=["run", "doctor"], name="payroll_one_payslip_per_doctor_per_run",
                                    violation_error_message=_("This doctor already has a payslip in this run.")),
        ]
        indexes = [
            models.Index(fields=["doctor", "month"]),
            models.Index(fields=["month"]),
            # The admin list's order (PayslipAdmin.ordering): its first page reads 100 index entries
            # instead of sorting every payslip of the province through three joined names.
            models.Index(fields=["-month", "run", "township", "facility", "doctor"], name="payslip_list_order"),
        ]

    def __str__(self):
        return payslip_label(str(self.doctor), self.month)


class PayslipLine(models.Model):
    class Kind(models.TextChoices):
        EARNING = "earning", _("Earning")
        DEDUCTION = "deduction", _("Deduction")

    payslip = models.ForeignKey(Payslip, verbose_name=_("payslip"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    component = models.CharField(_("component"), max_length=30, choices=component_choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    rate = models.DecimalField(_("rate"), max_digits=14, decimal_places=4)
    amount = models.DecimalField(_("amount"), **MONEY)
    taxable = models.BooleanField(_("counts for income tax"), default=True)
    policy = models.ForeignKey(PayPolicy, verbose_name=_("policy version"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The main source (the first of the line's split); the split itself is in `funding`.
    funding_source = models.CharField(_("funding source"), max_length=30, choices=FundingSource.choices, blank=True)
    reference_month = models.DateField(_("for month"), help_text=_("The month this line pays for; differs from the run's month for corrections."))
    source = models.JSONField(_("source"), default=dict, blank=True)

    class Meta:
        ordering = ["payslip", "position", "id"]
        verbose_name = _("payslip line")
        verbose_name_plural = _("payslip lines")
        indexes = [models.Index(fields=["reference_month", "component"])]

    def __str__(self):
        from staffing.payroll.money import yuan

        return f"{self.get_component_display()} {yuan(self.amount)}"


class PayslipLineFunding(models.Model):
    """One funding source's part of a payslip line. A line's parts add up to its amount (split to
    the cent by the component's shares); a report per funding source sums them."""

    line = models.ForeignKey(PayslipLine, verbose_name=_("payslip line"), on_delete=models.CASCADE, related_name="funding")
    source = models.CharField(_("funding source"), max_length=30, choices=FundingSource.choices)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        ordering = ["line", "id"]
        verbose_name = _("payslip line funding")
        verbose_name_plural = _("payslip line funding")
        constraints = [
            models.UniqueConstraint(fields=["line", "source"], name="payroll_line_funding_once_per_source"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payroll_line_funding_not_negative"),
        ]
        # No index of its own on `source`: the funding report groups a month's rows by source
        # after reaching them through lines and payslips, so an index of a handful of values only
        # cost every pay run 360,000 entries to write.

    def __str__(self):
        from staffing.payroll.money import yuan

        return f"{self.get_source_display()} {yuan(self.amount)}"


# --- Bank payment files (代发工资): formats as data, a format per paying bank ------------------------
# Rendering and checks live in staffing.payroll.bankfiles; these rows only describe the files.


class BankFileFormat(models.Model):
    """One bank's batch-payment file: its type, encoding, line ending, header and trailer rules,
    amount rendering and records per file. Its columns are `BankFileColumn` rows, its header and
    trailer fields (or summary cells of a sheet) `BankFileSummaryField` rows."""

    class FileType(models.TextChoices):
        FIXED = "fixed", _("Text, fixed width")
        DELIMITED = "delimited", _("Text, delimited")
        XLSX = "xlsx", _("Spreadsheet (XLSX)")

    class Encoding(models.TextChoices):
        GBK = "gbk", "GBK"
        UTF8 = "utf-8", "UTF-8"

    class LineEnding(models.TextChoices):
        LF = "lf", _("LF (Unix, \\n)")
        CRLF = "crlf", _("CR LF (Windows, \\r\\n)")

    class AmountUnit(models.TextChoices):
        YUAN = "yuan", _("Yuan with a decimal point")
        FEN = "fen", _("Fen (cents), whole number without a point")

    code = models.CharField(_("code"), max_length=30, unique=True, help_text=_("A short ASCII name, used in file names: ABC, CCB, ICBC…"))
    name = models.CharField(_("name"), max_length=100)
    file_type = models.CharField(_("file type"), max_length=10, choices=FileType.choices)
    encoding = models.CharField(_("encoding"), max_length=10, choices=Encoding.choices, default=Encoding.GBK,
                                help_text=_("For text files. Fixed widths are counted in bytes of this encoding (a Chinese character is 2 bytes in GBK)."))
    line_ending = models.CharField(_("line ending"), max_length=4, choices=LineEnding.choices, default=LineEnding.CRLF)
    delimiter = models.CharField(_("delimiter"), max_length=5, blank=True, help_text=_("For delimited text: for example | or , (\\t for a tab)."))
    quote_char = models.CharField(_("quote character"), max_length=1, blank=True,
                                  help_text=_("For delimited text: a value holding the delimiter is quoted with it. Empty: such a value is refused."))
    title_row = models.BooleanField(_("column titles in the first row"), default=False,
                                    help_text=_("Writes each column's title as the first row (sheets) or line (text)."))
    sheet_name = models.CharField(_("sheet name"), max_length=31, blank=True)
    first_data_row = models.PositiveSmallIntegerField(
        _("first data row"), default=0, help_text=_("Sheets: the row number of the first payee (0: right after the titles, or row 1).")
    )
    amount_unit = models.CharField(_("amount unit"), max_length=5, choices=AmountUnit.choices, default=AmountUnit.YUAN)
    amount_decimals = models.PositiveSmallIntegerField(_("amount decimals"), default=2,
                                                       help_text=_("Digits after the point for amounts in yuan (ABC direct connect: 3)."))
    max_records = models.PositiveIntegerField(_("maximum records per file"), null=True, blank=True,
                                              help_text=_("More payees are split into numbered files. Empty: no limit."))
    file_extension = models.CharField(_("file extension"), max_length=10, blank=True, help_text=_("Empty: txt for text files, xlsx for sheets."))
    notes = models.TextField(_("notes"), blank=True)
    is_shipped = models.BooleanField(_("shipped with Cunyi"), default=False, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("bank file format")
        verbose_name_plural = _("bank file formats")
        constraints = [
            models.CheckConstraint(condition=Q(amount_decimals__lte=4), name="payroll_bankformat_decimals_0_4",
                                   violation_error_message=_("An amount has at most 4 decimals.")),
            models.CheckConstraint(condition=Q(max_records__isnull=True) | Q(max_records__gt=0), name="payroll_bankformat_max_records_positive",
                                   violation_error_message=_("The maximum records per file must be positive (or empty).")),
        ]

    def __str__(self):
        return f"{self.name}（{self.get_file_type_display()}）"


class BankFileColumn(models.Model):
    class Field(models.TextChoices):
        SEQUENCE = "sequence", _("Sequence number")
        NAME = "name", _("Payee name")
        ACCOUNT = "account", _("Account number")
        AMOUNT = "amount", _("Amount")
        ID_NUMBER = "id_number", _("Resident ID number")
        PURPOSE = "purpose", _("Purpose (paying bank's text)")
        BANK_NAME = "bank_name", _("Bank name")
        BRANCH_CODE = "branch_code", _("Branch code (联行行号)")
        CROSS_BANK = "cross_bank", _("Cross-bank flag")
        CONSTANT = "constant", _("Constant text")
        EMPTY = "empty", _("Empty")

    class Align(models.TextChoices):
        LEFT = "left", _("Left (padding after)")
        RIGHT = "right", _("Right (padding before)")

    file_format = models.ForeignKey(BankFileFormat, verbose_name=_("bank file format"), on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveSmallIntegerField(_("position"))
    field = models.CharField(_("content"), max_length=15, choices=Field.choices)
    title = models.CharField(_("title"), max_length=50, blank=True, help_text=_("The column's title in the title row."))
    width = models.PositiveSmallIntegerField(_("width (bytes)"), null=True, blank=True, help_text=_("Fixed-width text: the field's width in bytes."))
    align = models.CharField(_("alignment"), max_length=5, choices=Align.choices, default=Align.LEFT)
    fill = models.CharField(_("padding character"), max_length=1, default=" ", blank=True, help_text=_("Empty means a space."))
    value = models.CharField(_("value"), max_length=100, blank=True,
                             help_text=_("For constant text; for the cross-bank flag the value written (empty leaves it blank)."))

    class Meta:
        ordering = ["file_format", "position"]
        verbose_name = _("bank file column")
        verbose_name_plural = _("bank file columns")
        constraints = [
            models.UniqueConstraint(fields=["file_format", "position"], name="payroll_bankcolumn_one_per_position",
                                    violation_error_message=_("Two columns of a format cannot have the same position.")),
            models.CheckConstraint(condition=Q(width__isnull=True) | Q(width__gt=0), name="payroll_bankcolumn_width_positive",
                                   violation_error_message=_("A width must be positive.")),
        ]

    def __str__(self):
        return f"{self.position}. {self.title or self.get_field_display()}"


class BankFileSummaryField(models.Model):
    """A field of a text file's header or trailer record, or a summary cell of a sheet (for
    example 吉林银行's B2 = total amount, B3 = record count)."""

    class Part(models.TextChoices):
        HEADER = "header", _("Header (before the payees)")
        TRAILER = "trailer", _("Trailer (after the payees)")

    class Kind(models.TextChoices):
        TOTAL_AMOUNT = "total_amount", _("Total amount")
        RECORD_COUNT = "record_count", _("Record count")
        DATE = "date", _("Date (YYYYMMDD)")
        MONTH = "month", _("Pay month (YYYYMM)")
        CONSTANT = "constant", _("Constant text")

    file_format = models.ForeignKey(BankFileFormat, verbose_name=_("bank file format"), on_delete=models.CASCADE, related_name="summary_fields")
    part = models.CharField(_("part"), max_length=10, choices=Part.choices, default=Part.HEADER)
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("content"), max_length=15, choices=Kind.choices)
    cell = models.CharField(_("cell"), max_length=10, blank=True, help_text=_("Sheets: the cell it goes in, for example B2."))
    width = models.PositiveSmallIntegerField(_("width (bytes)"), null=True, blank=True)
    align = models.CharField(_("alignment"), max_length=5, choices=BankFileColumn.Align.choices, default=BankFileColumn.Align.LEFT)
    fill = models.CharField(_("padding character"), max_length=1, default=" ", blank=True)
    value = models.CharField(_("value"), max_length=100, blank=True, help_text=_("For constant text."))

    class Meta:
        ordering = ["file_format", "part", "position"]
        verbose_name = _("bank file header or trailer field")
        verbose_name_plural = _("bank file header and trailer fields")
        constraints = [
            models.UniqueConstraint(fields=["file_format", "part", "position"], name="payroll_banksummary_one_per_position",
                                    violation_error_message=_("Two header or trailer fields cannot have the same position.")),
            models.CheckConstraint(condition=Q(width__isnull=True) | Q(width__gt=0), name="payroll_banksummary_width_positive",
                                   violation_error_message=_("A width must be positive.")),
        ]

    def __str__(self):
        return f"{self.get_part_display()} {self.position}. {self.get_kind_display()}"


class PayingBank(models.Model):
    """A bank the doctors are paid at, by the name the register holds (`Doctor.bank_name`), and
    the file format its batch payment takes."""

    bank_name = models.CharField(_("bank (as in the register)"), max_length=50, unique=True)
    file_format = models.ForeignKey(
        BankFileFormat, verbose_name=_("bank file format"), on_delete=models.PROTECT, null=True, blank=True, related_name="banks",
        help_text=_("广西农信 and 邮储 use the generic 网银 sheet until the bank's own template is entered as a format. "
                    "Empty: doctors paid at this bank block the approval of a run."),
    )
    branch_code = models.CharField(_("branch code (联行行号)"), max_length=20, blank=True)
    purpose = models.CharField(_("purpose"), max_length=60, blank=True, default="{year}年{month}月村医报酬",
                               help_text=_("Text of the purpose column; {year} and {month} are replaced by the pay month."))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["bank_name"]
        verbose_name = _("paying bank")
        verbose_name_plural = _("paying banks")

    def __str__(self):
        return self.bank_name


class PaymentOutsideFile(models.Model):
    """The payroll officer's explicit choice that a doctor's pay in a run is paid outside the bank
    file (cash, a transfer by hand): who, when and why. Kept per run and doctor, so it survives a
    recalculation of the run (which rewrites the payslips)."""

    run = models.ForeignKey(PayRun, verbose_name=_("pay run"), on_delete=models.CASCADE, related_name="payments_outside_file")
    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("marked by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    marked_at = models.DateTimeField(_("marked"), default=timezone.now)

    class Meta:
        ordering = ["run", "doctor__name"]
        verbose_name = _("payment outside the bank file")
        verbose_name_plural = _("payments outside the bank file")
        constraints = [
            models.UniqueConstraint(fields=["run", "doctor"], name="payroll_outside_file_once_per_run",
                                    violation_error_message=_("This doctor's pay in this run is already marked paid outside the bank file.")),
        ]

    def __str__(self):
        return f"{self.doctor} · {self.run}"


# --- Income tax: special additional deductions, the annual one-off bonus rule (issue 14, tax) -----
# Owned by the tax part (staffing.payroll.tax). `SpecialDeduction` is one doctor's special
# additional deductions (专项附加扣除) for one month, as the tax client reports them; the month's
# income tax subtracts the year's rows up to that month. `BonusTaxRule` is a dated rule for taxing
# an annual one-off bonus separately (全年一次性奖金单独计税): the bonus ÷ 12 picks a row of its
# monthly rate table, tax = bonus × rate − quick deduction (once).


class SpecialDeduction(models.Model):
    class Source(models.TextChoices):
        ENTERED = "entered", _("Entered in admin")
        IMPORTED = "imported", _("Imported from the tax client's export")

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="special_deductions")
    month = models.DateField(_("month"), help_text=_("First day of the month the deductions are for."))
    children_education = models.DecimalField(_("children's education"), **MONEY, default=Decimal("0"))
    continuing_education = models.DecimalField(_("continuing education"), **MONEY, default=Decimal("0"))
    mortgage_interest = models.DecimalField(_("housing loan interest"), **MONEY, default=Decimal("0"))
    housing_rent = models.DecimalField(_("housing rent"), **MONEY, default=Decimal("0"))
    elderly_care = models.DecimalField(_("elderly care"), **MONEY, default=Decimal("0"))
    infant_care = models.DecimalField(_("infant care (under 3)"), **MONEY, default=Decimal("0"))
    personal_pension = models.DecimalField(_("personal pension"), **MONEY, default=Decimal("0"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ENTERED)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    entered_at = models.DateTimeField(_("entered"), default=timezone.now)

    CATEGORIES = ("children_education", "continuing_education", "mortgage_interest", "housing_rent", "elderly_care", "infant_care",
                  "personal_pension")

    class Meta:
        ordering = ["-month", "doctor__name"]
        verbose_name = _("special additional deduction")
        verbose_name_plural = _("special additional deductions")
        constraints = [
            models.UniqueConstraint(fields=["doctor", "month"], name="payroll_one_special_deduction_per_month",
                                    violation_error_message=_("This doctor already has special deductions for this month; edit that row.")),
            models.CheckConstraint(
                condition=Q(children_education__gte=0) & Q(continuing_education__gte=0) & Q(mortgage_interest__gte=0)
                & Q(housing_rent__gte=0) & Q(elderly_care__gte=0) & Q(infant_care__gte=0) & Q(personal_pension__gte=0),
                name="payroll_special_deduction_not_negative",
                violation_error_message=_("A deduction cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(mortgage_interest=0) | Q(housing_rent=0),
                name="payroll_mortgage_or_rent",
                violation_error_message=_("Housing loan interest and housing rent cannot both be deducted in the same month."),
            ),
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.doctor} {self.month:%Y-%m}"

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, name) for name in self.CATEGORIES), Decimal("0"))


class BonusTaxRule(models.Model):
    name = models.CharField(_("name"), max_length=100)
    basis = models.CharField(_("legal basis"), max_length=200, help_text=_("The announcement that sets the rule, for example 财政部 税务总局公告2023年第30号."))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Empty: until further notice."))
    brackets = models.JSONField(
        _("monthly rate table"),
        help_text=_('Rows of [upper bound of bonus ÷ 12, rate, quick deduction], the last with no bound, for example '
                    '[["3000", "0.03", "0"], …, [null, "0.45", "15160"]].'),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("one-off bonus tax rule")
        verbose_name_plural = _("one-off bonus tax rules")
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                                   name="payroll_bonus_rule_dates_in_order",
                                   violation_error_message=_("A rule cannot end before it starts.")),
        ]

    def __str__(self):
        until = self.valid_until or "…"
        return f"{self.name}（{self.valid_from} – {until}）"

    def clean(self):
        from staffing.payroll.tax.bonus import rule_clean

        rule_clean(self)


from staffing.payroll.contracts.models import ContractRegister, ResidentContract  # noqa: E402, F401  the contract register
