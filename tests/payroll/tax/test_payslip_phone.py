"""The phone payslip with special deductions and a separately taxed bonus, in a real browser."""

from decimal import Decimal

import pytest

from clinics.models import Role
from staffing.payroll import services
from staffing.payroll.models import OneOffItem, PayRun, SpecialDeduction
from staffing.payroll.seeding import seed_payroll
from staffing.payroll.tax.deductions import special_deduction_save
from tests.browser import follow, login, shot
from tests.factories import PostingFactory, make_user
from tests.payroll.conftest import OCT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_phone_payslip_shows_deductions_and_the_bonus_method(live_server, phone):
    seed_payroll({})
    doctor = PostingFactory(doctor__name="韦秀英", doctor__hire_date=OCT).doctor
    make_user(Role.VILLAGE_DOCTOR, doctor=doctor, username="weixiuying")
    OneOffItem.objects.create(doctor=doctor, month=OCT, kind="back_pay", amount=Decimal("150000"), description="补发")
    OneOffItem.objects.create(doctor=doctor, month=OCT, kind="bonus", amount=Decimal("36000"), description="年终奖")
    special_deduction_save(deduction=SpecialDeduction(doctor=doctor, month=OCT, children_education=Decimal("2000")), acting_user=None)
    run = services.payrun_calculate(run=services.payrun_create(month=OCT, acting_user=None), acting_user=None)
    services.payrun_approve(run=PayRun.objects.get(pk=run.pk), acting_user=None, acknowledge_warnings=True)

    login(phone, live_server.url, "weixiuying")
    follow(phone, "a[data-menu=payslips]")
    follow(phone, "a[data-payslip='2026-10']")
    assert phone.locator("tr[data-deduction=children_education]").count() == 1
    assert phone.locator("p.bonus-tax[data-method=separate]").count() == 1
    assert "2,000.00" in phone.inner_text("tr[data-deduction=children_education]")
    assert phone.locator("tr[data-component=bonus_income_tax]").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "the phone page must not scroll sideways"
    shot(phone, "payroll-payslip-tax-phone")
