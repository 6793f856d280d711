"""The seeded demo: the demo policy versions carry a demo contract fee, the Leye demo doctors a
demo contract register, and the October 2026 run pays the fee to each of them."""

from decimal import Decimal

import pytest

from staffing.payroll.contracts.models import ContractRegister
from staffing.payroll.models import PayPolicy, PayslipLine
from staffing.payroll.money import money
from staffing.payroll.seeding import seed_payroll
from tests.payroll.conftest import OCT, run_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def leye(db):
    from clinics.seeding import seed_register
    from staffing.seeding import seed_doctors

    counts = {}
    seed_register(counts)
    seed_doctors(counts)
    seed_payroll(counts)
    return counts


def test_seeds_are_demo_and_idempotent(leye):
    demo = PayPolicy.objects.filter(is_demo=True, township=None).order_by("effective_from")
    assert [(p.contract_fee_per_year, p.contract_fee_payment) for p in demo] == [(Decimal("10.00"), "monthly"), (Decimal("20.00"), "monthly")]
    entries = ContractRegister.objects.count()
    assert entries > 0 and not ContractRegister.objects.filter(is_demo=False).exists()
    assert ContractRegister.objects.filter(source__startswith="演示数据").count() == entries
    counts = {}
    seed_payroll(counts)
    assert ContractRegister.objects.count() == entries and counts["contract register entry"]["created"] == 0


def test_the_october_run_pays_the_demo_contract_fee(leye, visits):
    run = run_month(OCT)
    lines = PayslipLine.objects.filter(payslip__run=run, component="contract_service_fee").select_related("payslip").prefetch_related("funding")
    register = {r.doctor_id: r for r in ContractRegister.objects.filter(service_year=2026)}
    paid = {line.payslip.doctor_id: line for line in lines}
    full_month = {s.doctor_id for s in run.payslips.all() if s.payable_days == s.days_in_month}
    assert paid and full_month <= set(paid)
    for doctor_id in full_month:
        line = paid[doctor_id]
        assert line.amount == money(Decimal(20) * register[doctor_id].residents / 12)
        assert sum(f.amount for f in line.funding.all()) == line.amount
        assert {f.source for f in line.funding.all()} == {"medical_insurance", "public_health_fund", "resident"}
