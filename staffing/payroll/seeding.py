"""Demo pay policies and social-insurance schemes. Every amount here is a demo value (labelled so
in admin and on payslips): the county's real amounts are entered by the payroll officer as new
policy versions. The reform: the county fixed subsidy rose from 300 to 1,400 yuan a month on the
demo reform date."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Township
from clinics.seeding import seed_note, seed_today
from core.months import month_start
from staffing.payroll.models import (
    BonusTaxRule,
    FundingSource,
    InsuranceScheme,
    PayPolicy,
    PayRun,
    PerformanceBand,
    PolicyComponent,
)
from staffing.payroll.selectors import bank_account_changes
from staffing.payroll.services.runs import payrun_approve, payrun_calculate, payrun_create, payrun_mark_paid
from staffing.payroll.tax.bonus import RULE_2023_30

DEMO_REFORM_DATE = datetime.date(2019, 7, 1)
DEMO_FIRST_POLICY_DATE = datetime.date(2015, 1, 1)

# component -> (amount before the reform, amount from the reform, funding source)
DEMO_COMPONENTS = {
    "fixed_subsidy": (Decimal("300"), Decimal("1400"), FundingSource.COUNTY_FINANCE),
    "public_health": (Decimal("800"), Decimal("1100"), FundingSource.PUBLIC_HEALTH_FUND),
    "essential_medicines": (Decimal("400"), Decimal("600"), FundingSource.ESSENTIAL_MEDICINES_FUND),
    "consultation_fee": (Decimal("6"), Decimal("9"), FundingSource.MEDICAL_INSURANCE),
    "duty_weekend": (Decimal("40"), Decimal("80"), FundingSource.COUNTY_FINANCE),
    "duty_holiday": (Decimal("80"), Decimal("150"), FundingSource.COUNTY_FINANCE),
}
DEMO_BANDS = [
    ("优秀", Decimal("90"), Decimal("300")),
    ("良好", Decimal("80"), Decimal("150")),
    ("合格", Decimal("60"), Decimal("0")),
    ("不合格", Decimal("0"), Decimal("-200")),
]
DEMO_SCHEMES = [
    # code, name, base, rate, flat, default
    ("resident", "城乡居民基本养老保险", Decimal("0"), Decimal("0"), Decimal("200"), True),
    ("employee", "职工养老、医疗、失业保险（灵活就业）", Decimal("3500"), Decimal("0.1050"), None, False),
]

# The tax filing's split of the employee share (8% pension, 2% medical, 0.5% unemployment); the
# resident scheme's flat amount is all pension (城乡居民基本养老保险).
DEMO_SCHEME_SPLIT = {"employee": {"medical_rate": Decimal("0.0200"), "unemployment_rate": Decimal("0.0050")}}


def _count(counts: dict, key: str, created: bool) -> None:
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1


@transaction.atomic
def seed_payroll(counts: dict) -> None:
    from staffing.payroll.bankfiles.seeding import seed_bank_formats

    seed_bank_formats(counts)
    for code, name, base, rate, flat, default in DEMO_SCHEMES:
        _scheme, created = InsuranceScheme.objects.get_or_create(
            code=code,
            defaults={"name": name, "contribution_base": base, "employee_rate": rate, "flat_amount": flat, "is_default": default, "is_demo": True,
                      **DEMO_SCHEME_SPLIT.get(code, {})},
        )
        _count(counts, "insurance scheme", created)
    _rule, created = BonusTaxRule.objects.get_or_create(basis=RULE_2023_30["basis"], defaults=RULE_2023_30)
    _count(counts, "bonus tax rule", created)
    for effective_from, index, name in (
        (DEMO_FIRST_POLICY_DATE, 0, "乡村医生报酬（改革前，演示值）"),
        (DEMO_REFORM_DATE, 1, "乡村医生报酬（改革后，演示值）"),
    ):
        policy, created = PayPolicy.objects.get_or_create(
            township=None,
            effective_from=effective_from,
            defaults={
                "name": name,
                "guaranteed_minimum": Decimal("3000") if index else Decimal("1500"),
                "notes": "演示值：金额仅供演示，正式使用前请按县财政文件录入新版本。",
                "is_demo": True,
            },
        )
        _count(counts, "pay policy", created)
        if created:
            PolicyComponent.objects.bulk_create(
                PolicyComponent(policy=policy, component=component, amount=amounts[index], funding_source=amounts[2])
                for component, amounts in DEMO_COMPONENTS.items()
            )
            PerformanceBand.objects.bulk_create(
                PerformanceBand(policy=policy, label=label, min_score=score, monthly_amount=amount) for label, score, amount in DEMO_BANDS
            )
    from staffing.payroll.contracts.seeding import seed_contracts  # the demo contract service fee and register

    seed_contracts(counts)


def _payroll_officer():
    return get_user_model().objects.filter(username="payroll_officer").first()


def seed_demo_pay_run(counts: dict) -> None:
    """Last month's pay run (relative to the day the demo is built for), through the payroll
    services: created, calculated from the month's postings, published duties, leave and
    settlements, approved by the demo payroll officer (its warnings and first-time bank accounts
    acknowledged, as the officer would after checking) and marked paid. A run already paid is left
    alone; one stopped on the way is taken on from where it stands. A run the services refuse
    (an earlier month still open, a blocking warning) is left with a note saying why."""
    counts.setdefault("pay run", {"created": 0, "existing": 0})
    today = seed_today(counts)
    month = month_start(month_start(today) - datetime.timedelta(days=1))
    officer = _payroll_officer()
    townships = list(Township.objects.order_by("code")) if settings.PAYROLL_RUN_SCOPE == "township" else [None]
    Status = PayRun.Status
    for township in townships:
        run = PayRun.objects.filter(month=month, township=township).first()
        if run is not None and run.status == Status.PAID:
            counts["pay run"]["existing"] += 1
            continue
        try:
            with transaction.atomic():
                if run is None:
                    run = payrun_create(month=month, township=township, acting_user=officer)
                    counts["pay run"]["created"] += 1
                else:
                    counts["pay run"]["existing"] += 1
                if run.status in (Status.DRAFT, Status.CALCULATED):
                    run = payrun_calculate(run=run, acting_user=officer)
                if run.status == Status.CALCULATED:
                    run = payrun_approve(run=run, acting_user=officer, acknowledge_warnings=True,
                                         acknowledged_bank_changes=[change.entry_id for change in bank_account_changes(run=run)])
                if run.status == Status.APPROVED:
                    payrun_mark_paid(run=run, acting_user=officer)
        except ValidationError as refused:
            seed_note(counts, _("The demo pay run for %(month)s was not completed: %(reason)s")
                      % {"month": f"{month:%Y-%m}", "reason": "；".join(refused.messages)})
