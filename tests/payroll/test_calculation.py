"""Worked examples of the pay calculation (demo policy from 2019-07-01: fixed subsidy 1,400,
public health 1,100, essential medicines 600, 9 yuan a visit, 80 a weekend on-call day, 150 a
public-holiday on-call day; resident insurance scheme 200 a month)."""

import datetime
from decimal import Decimal

import pytest

from clinics.settlements.selectors import VisitCount
from staffing.payroll import services
from staffing.payroll.models import Component, OneOffItem, PayPolicy, Payslip, PolicyComponent
from staffing.rosters.models import LeaveRequest
from tests.factories import PostingFactory, clinic_with_doctors
from tests.payroll.conftest import OCT, lines_of, publish_roster, run_month

pytestmark = pytest.mark.django_db


def d(day):
    return datetime.date(2026, 10, day)


def test_weekend_and_holiday_on_call_days_are_paid_at_their_own_rates(policies, visits):
    clinic, (doctor, other) = clinic_with_doctors(2)
    publish_roster(clinic, OCT, [
        (doctor, d(1), "holiday"), (doctor, d(2), "holiday"),
        (doctor, d(17), "weekend"), (doctor, d(18), "weekend"), (doctor, d(24), "weekend"),
        (doctor, d(9), "day"), (other, d(12), "day"),
    ])
    run = run_month(OCT)
    slip = Payslip.objects.get(run=run, doctor=doctor)
    lines = lines_of(slip)

    weekend = lines[(Component.DUTY_WEEKEND, OCT)]
    holiday = lines[(Component.DUTY_HOLIDAY, OCT)]
    assert (weekend.quantity, weekend.rate, weekend.amount) == (3, Decimal("80"), Decimal("240.00"))
    assert (holiday.quantity, holiday.rate, holiday.amount) == (2, Decimal("150"), Decimal("300.00"))
    assert holiday.source["dates"] == ["2026-10-01", "2026-10-02"]
    assert weekend.policy.effective_from == datetime.date(2019, 7, 1)
    assert lines[(Component.FIXED_SUBSIDY, OCT)].amount == Decimal("1400.00")
    # 1,400 + 1,100 + 600 + 240 + 300 = 3,640 gross; 200 insurance; no tax below 5,000.
    assert slip.gross == Decimal("3640.00")
    assert slip.deductions == Decimal("200.00")
    assert slip.net == Decimal("3440.00")
    assert slip.gross == sum(ln.amount for ln in slip.lines.all() if ln.kind == "earning")
    assert slip.net == slip.gross - slip.deductions
    assert run.net_total == sum(s.net for s in Payslip.objects.filter(run=run))


def test_part_month_hire_and_unpaid_leave_pro_rate_monthly_components(policies, visits):
    posting = PostingFactory(doctor__hire_date=d(11), start_date=d(11))
    doctor = posting.doctor
    LeaveRequest.objects.create(doctor=doctor, facility=posting.facility, kind=LeaveRequest.Kind.PERSONAL, start_date=d(20),
                                end_date=d(21), reason="家事", status="approved")
    LeaveRequest.objects.create(doctor=doctor, facility=posting.facility, kind=LeaveRequest.Kind.SICK, start_date=d(27),
                                end_date=d(27), reason="病假", status="approved")
    run = run_month(OCT)
    slip = Payslip.objects.get(run=run, doctor=doctor)
    fixed = lines_of(slip)[(Component.FIXED_SUBSIDY, OCT)]

    # Employed 11–31 October = 21 days, minus 2 days of unpaid personal leave = 19 payable days;
    # sick leave is paid. Daily rate 1,400 / 31 = 45.1613; 19 × 45.1613 = 858.0647 → 858.06.
    assert (slip.payable_days, slip.days_in_month) == (19, 31)
    assert (fixed.quantity, fixed.rate, fixed.amount) == (19, Decimal("45.1613"), Decimal("858.06"))
    assert fixed.source["unpaid_leave_dates"] == ["2026-10-20", "2026-10-21"]
    assert lines_of(slip)[(Component.PUBLIC_HEALTH, OCT)].amount == Decimal("674.19")  # 19 × 35.4839
    # 858.06 + 674.19 + 367.74 (19 × 19.3548): each line rounded on its own, so 1,899.99 rather
    # than 3,100 × 19/31 = 1,900.00. The minimum is pro-rated too: 3,000 × 19/31 = 1,838.71.
    assert slip.gross == Decimal("1899.99")
    assert not any(w["code"] == "below_minimum" for w in slip.warnings)


def test_consultation_fee_named_visits_and_shared_unnamed_visits_by_duty_days(policies, visits):
    clinic, (a, b) = clinic_with_doctors(2)
    publish_roster(clinic, OCT, [(a, d(n), "day") for n in (9, 10, 11)] + [(b, d(12), "day")])
    visits(OCT, {clinic.pk: VisitCount(total=110, by_practitioner={a.insurance_code: 30}, unnamed=80)})
    run = run_month(OCT)
    fee_a = lines_of(Payslip.objects.get(run=run, doctor=a))[(Component.CONSULTATION_FEE, OCT)]
    fee_b = lines_of(Payslip.objects.get(run=run, doctor=b))[(Component.CONSULTATION_FEE, OCT)]
    # 80 unnamed visits shared 3:1 by day duties → 60 and 20.
    assert (fee_a.quantity, fee_a.amount) == (90, Decimal("810.00"))
    assert (fee_b.quantity, fee_b.amount) == (20, Decimal("180.00"))
    assert fee_a.source["named_visits"] == 30 and fee_a.source["shared_visits"] == 60


def test_no_published_roster_and_no_settlements_pay_zero_with_warnings(policies, visits):
    clinic, (doctor, _other) = clinic_with_doctors(2)
    run = run_month(OCT)
    slip = Payslip.objects.get(run=run, doctor=doctor)
    components = {ln.component for ln in slip.lines.all()}
    assert Component.DUTY_WEEKEND not in components and Component.CONSULTATION_FEE not in components
    assert {w["code"] for w in run.warnings} == {"roster_unpublished", "no_settlements"}
    assert "排班" in run.warnings[0]["message"]
    assert any(w["code"] == "roster_unpublished" for w in slip.warnings)


def test_reform_date_switches_the_fixed_subsidy_from_300_to_1400(policies, visits):
    doctor = PostingFactory(doctor__hire_date=datetime.date(2018, 3, 1)).doctor
    june, july = datetime.date(2019, 6, 1), datetime.date(2019, 7, 1)
    june_run = run_month(june)
    fixed = lines_of(Payslip.objects.get(run=june_run, doctor=doctor))[(Component.FIXED_SUBSIDY, june)]
    assert fixed.amount == Decimal("300.00") and "改革前" in fixed.policy.name
    services.payrun_approve(run=june_run, acting_user=None, acknowledge_warnings=True)
    july_slip = Payslip.objects.get(run=run_month(july), doctor=doctor)
    assert lines_of(july_slip)[(Component.FIXED_SUBSIDY, july)].amount == Decimal("1400.00")


def test_township_policy_overrides_a_component_of_the_county_policy(policies, visits):
    clinic, (doctor, _other) = clinic_with_doctors(2)
    local = PayPolicy.objects.create(name="山区补贴", township=clinic.township, effective_from=datetime.date(2026, 1, 1))
    PolicyComponent.objects.create(policy=local, component=Component.FIXED_SUBSIDY, amount=Decimal("1600"), funding_source="county_finance")
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    lines = lines_of(slip)
    assert lines[(Component.FIXED_SUBSIDY, OCT)].amount == Decimal("1600.00")
    assert lines[(Component.FIXED_SUBSIDY, OCT)].policy == local
    assert lines[(Component.PUBLIC_HEALTH, OCT)].amount == Decimal("1100.00")  # still the county's


def test_performance_bands_and_one_off_items(policies, visits, county_admin):
    from staffing.payroll.models import Assessment

    clinic, (good, poor) = clinic_with_doctors(2)
    Assessment.objects.create(doctor=good, period="month", period_start=OCT, score=Decimal("92"))
    Assessment.objects.create(doctor=poor, period="month", period_start=OCT, score=Decimal("55"))
    OneOffItem.objects.create(doctor=good, month=OCT, kind="back_pay", amount=Decimal("120.50"), description="9月补发")
    run = run_month(OCT)
    good_lines = lines_of(Payslip.objects.get(run=run, doctor=good))
    poor_lines = lines_of(Payslip.objects.get(run=run, doctor=poor))
    assert good_lines[(Component.PERFORMANCE, OCT)].amount == Decimal("300.00")
    assert good_lines[(Component.PERFORMANCE, OCT)].kind == "earning"
    assert good_lines[(Component.BACK_PAY, OCT)].amount == Decimal("120.50")
    assert poor_lines[(Component.PERFORMANCE, OCT)].kind == "deduction"
    assert poor_lines[(Component.PERFORMANCE, OCT)].amount == Decimal("200.00")
    assert poor_lines[(Component.PERFORMANCE, OCT)].source["band"] == "不合格"


def test_quarterly_assessment_is_paid_in_the_quarters_last_month(policies, visits, county_admin):
    from core.models import AuditEntry
    from staffing.payroll.models import Assessment

    clinic, (doctor, _other) = clinic_with_doctors(2)
    assessment = services.assessment_save(
        assessment=Assessment(doctor=doctor, period="quarter", period_start=datetime.date(2026, 8, 15), score=Decimal("85")),
        acting_user=county_admin,
    )
    assert assessment.period_start == datetime.date(2026, 7, 1) and assessment.recorded_by == county_admin
    assert AuditEntry.objects.filter(action="assessment.create", object_id=str(assessment.pk)).exists()
    august = run_month(datetime.date(2026, 8, 1))
    assert Component.PERFORMANCE not in {ln.component for ln in Payslip.objects.get(run=august, doctor=doctor).lines.all()}
    services.payrun_approve(run=august, acting_user=county_admin, acknowledge_warnings=True)
    september = datetime.date(2026, 9, 1)
    line = lines_of(Payslip.objects.get(run=run_month(september), doctor=doctor))[(Component.PERFORMANCE, september)]
    assert (line.quantity, line.rate, line.amount) == (3, Decimal("150"), Decimal("450.00"))  # 良好 band, 3 months
    assert line.source["assessment_id"] == assessment.pk
