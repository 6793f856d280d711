"""Run lifecycle: idempotent recalculation, the approval lock (service and database), corrections
after approval, and income tax crossing into the 10% bracket after a year-end bonus."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from core.models import AuditEntry
from staffing.payroll import services
from staffing.payroll.models import Component, OneOffItem, PayRun, Payslip, PayslipLine
from staffing.payroll.money import withholding_this_month
from tests.factories import PostingFactory, clinic_with_doctors
from tests.payroll.conftest import NOV, OCT, approve, lines_of, publish_roster, run_month

pytestmark = pytest.mark.django_db


def snapshot(run):
    return sorted(
        (ln.payslip.doctor_id, ln.component, ln.reference_month, ln.quantity, ln.rate, ln.amount)
        for ln in PayslipLine.objects.filter(payslip__run=run).select_related("payslip")
    )


def test_recalculating_a_draft_gives_the_same_payslips_without_duplicates(policies, visits, county_admin):
    clinic, (a, b) = clinic_with_doctors(2)
    publish_roster(clinic, OCT, [(a, datetime.date(2026, 10, 3), "holiday")])
    run = run_month(OCT, county_admin)
    first = snapshot(run)
    ids = set(Payslip.objects.filter(run=run).values_list("pk", flat=True))
    run = services.payrun_calculate(run=run, acting_user=county_admin)
    assert snapshot(run) == first
    assert set(Payslip.objects.filter(run=run).values_list("pk", flat=True)) == ids
    assert Payslip.objects.filter(run=run).count() == 2
    assert AuditEntry.objects.filter(action="payrun.calculate", object_id=str(run.pk)).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Payslip.objects.create(run=run, doctor=a, month=OCT, facility=clinic, payable_days=31, days_in_month=31,
                               gross=0, deductions=0, net=0)


def test_an_approved_run_refuses_changes_in_services(policies, visits, county_admin):
    clinic, (a, _b) = clinic_with_doctors(2)
    run = run_month(OCT, county_admin)
    with pytest.raises(ValidationError) as exc:
        services.payrun_approve(run=run, acting_user=county_admin)
    assert "提示" in exc.value.messages[0]  # warnings must be acknowledged
    approve(run, county_admin)
    with pytest.raises(ValidationError) as exc:
        services.payrun_calculate(run=run, acting_user=county_admin)
    assert "不能再修改" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        services.payrun_delete(run=run, acting_user=county_admin)
    with pytest.raises(ValidationError) as exc:
        services.one_off_item_save(item=OneOffItem(doctor=a, month=OCT, kind="bonus", amount=Decimal("100"), description="奖"), acting_user=county_admin)
    assert "已审批" in exc.value.messages[0]
    services.payrun_mark_paid(run=run, acting_user=county_admin)
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.PAID


def test_the_database_refuses_a_stray_update_or_delete_of_an_approved_run(policies, visits):
    clinic, (a, _b) = clinic_with_doctors(2)
    run = approve(run_month(OCT))
    slip = Payslip.objects.get(run=run, doctor=a)
    with pytest.raises(DatabaseError), transaction.atomic():
        PayslipLine.objects.filter(payslip=slip).update(amount=Decimal("9999"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Payslip.objects.filter(pk=slip.pk).update(net=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PayslipLine.objects.create(payslip=slip, component="bonus", kind="earning", description="x", quantity=1, rate=1,
                                   amount=Decimal("1"), reference_month=OCT)
    with pytest.raises(DatabaseError), transaction.atomic():
        PayRun.objects.filter(pk=run.pk).update(net_total=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PayRun.objects.filter(pk=run.pk).update(status=PayRun.Status.DRAFT)
    assert Payslip.objects.get(pk=slip.pk).net == slip.net


@pytest.mark.postgres
def test_postgres_also_refuses_a_stray_delete_of_an_approved_run(policies, visits):
    clinic_with_doctors(2)
    run = approve(run_month(OCT))
    with pytest.raises(DatabaseError), transaction.atomic():
        PayslipLine.objects.filter(payslip__run=run).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Payslip.objects.filter(run=run).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM payroll_payrun WHERE id = %s", [run.pk])
    assert Payslip.objects.filter(run=run).count() == 2


@pytest.mark.postgres
def test_postgres_triggers_guard_payslips_and_lines():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'payroll_%%' ORDER BY tgname")
        names = [row[0] for row in cursor.fetchall()]
    assert names == [
        "payroll_payrun_locked",
        "payroll_payslip_locked_del", "payroll_payslip_locked_ins", "payroll_payslip_locked_upd",
        "payroll_payslipline_locked_del", "payroll_payslipline_locked_ins", "payroll_payslipline_locked_upd",
    ]


def test_a_holiday_added_to_a_paid_month_becomes_an_adjustment_line_naming_it(policies, visits, county_admin):
    clinic, (a, b) = clinic_with_doctors(2)
    roster = publish_roster(clinic, OCT, [(a, datetime.date(2026, 10, 4), "holiday")])
    october = approve(run_month(OCT, county_admin), county_admin)
    services.payrun_mark_paid(run=october, acting_user=county_admin)
    # A roster amendment after payment: doctor a also covered 5 October.
    publish_roster(clinic, OCT, [(a, datetime.date(2026, 10, 5), "holiday")])
    assert roster.duties.count() == 2

    november = run_month(NOV, county_admin)
    lines = lines_of(Payslip.objects.get(run=november, doctor=a))
    correction = lines[(Component.DUTY_HOLIDAY, OCT)]
    assert (correction.quantity, correction.rate, correction.amount) == (1, Decimal("150"), Decimal("150.00"))
    assert correction.description == "更正 2026-10：法定节假日值班补贴"
    assert correction.source["paid"] == "150.00" and correction.source["now"] == "300.00"
    assert correction.source["now_source"]["dates"] == ["2026-10-04", "2026-10-05"]
    assert not any(ln.reference_month == OCT for ln in Payslip.objects.get(run=november, doctor=b).lines.all())
    # The paid October payslip is untouched, and recalculating November does not double the correction.
    assert Payslip.objects.get(run=october, doctor=a).gross == october.payslips.get(doctor=a).gross
    services.payrun_calculate(run=november, acting_user=county_admin)
    assert PayslipLine.objects.filter(payslip__run=november, reference_month=OCT).count() == 1
    # Once November is approved, December has nothing left to correct for October.
    approve(november, county_admin)
    december = run_month(datetime.date(2026, 12, 1), county_admin)
    assert not PayslipLine.objects.filter(payslip__run=december, reference_month=OCT).exists()


def test_months_are_approved_in_order(policies, visits):
    clinic_with_doctors(2)
    run_month(OCT)
    with pytest.raises(ValidationError) as exc:
        run_month(NOV)
    assert "2026-10" in exc.value.messages[0]


def test_tax_is_zero_all_year_until_a_year_end_bonus_crosses_into_10_percent(policies, visits):
    doctor = PostingFactory(doctor__hire_date=datetime.date(2020, 1, 1)).doctor
    for month in range(1, 12):
        run = approve(run_month(datetime.date(2026, month, 1)))
        assert Payslip.objects.get(run=run, doctor=doctor).income_tax == 0
    OneOffItem.objects.create(doctor=doctor, month=datetime.date(2026, 12, 1), kind="bonus", amount=Decimal("70000"), description="年终奖")
    december = run_month(datetime.date(2026, 12, 1))
    slip = Payslip.objects.get(run=december, doctor=doctor)
    tax = lines_of(slip)[(Component.INCOME_TAX, datetime.date(2026, 12, 1))]
    # 12 × 3,100 + 70,000 = 107,200 income; − 12 × 5,000 basic deduction − 12 × 200 insurance
    # = 44,800 taxable: 10% bracket, 4,480 − 2,520 quick deduction = 1,960 (nothing withheld before).
    assert tax.source["cumulative_taxable"] == "44800.00"
    assert tax.source["rate"] == "0.10"
    assert tax.amount == Decimal("1960.00") == slip.income_tax
    assert "10%" in tax.description
    assert slip.net == Decimal("73100.00") - Decimal("200.00") - Decimal("1960.00")


def test_withholding_takes_off_what_was_withheld_earlier_in_the_year():
    tax, detail = withholding_this_month(cumulative_income=Decimal("60000"), months_employed=3,
                                         cumulative_special_deductions=Decimal("0"), tax_already_withheld=Decimal("900"))
    # 60,000 − 15,000 = 45,000 → 4,500 − 2,520 = 1,980 cumulative, 1,080 this month.
    assert (tax, detail["cumulative_tax"]) == (Decimal("1080.00"), "1980.00")
