"""Helpers of the policy tests: policy versions copied from the demo one, with changes."""

import datetime
from decimal import Decimal

from staffing.payroll.models import PayPolicy, PolicyComponent
from staffing.payroll.seeding import DEMO_REFORM_DATE


def demo_version() -> PayPolicy:
    return PayPolicy.objects.get(township=None, effective_from=DEMO_REFORM_DATE)


def version_from(day: datetime.date, changes: dict | None = None, **fields) -> PayPolicy:
    """A county version from `day` with the demo version's components, `changes` overriding amounts."""
    demo = demo_version()
    policy = PayPolicy.objects.create(name=f"测试版本 {day}", effective_from=day, guaranteed_minimum=demo.guaranteed_minimum,
                                      contract_fee_per_year=demo.contract_fee_per_year, contract_fee_payment=demo.contract_fee_payment,
                                      contract_fee_insurance_share=demo.contract_fee_insurance_share,
                                      contract_fee_public_health_share=demo.contract_fee_public_health_share,
                                      contract_fee_resident_share=demo.contract_fee_resident_share, **fields)
    for part in demo.components.all():
        amount = Decimal((changes or {}).get(part.component, part.amount))
        PolicyComponent.objects.create(policy=policy, component=part.component, amount=amount, funding_source=part.funding_source)
    for band in demo.bands.all():
        policy.bands.create(label=band.label, min_score=band.min_score, monthly_amount=band.monthly_amount)
    return policy


def lines(slip, component):
    return list(slip.lines.filter(component=component).order_by("position"))
