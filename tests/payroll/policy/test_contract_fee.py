"""The contract service fee component: monthly (fee × contracts ÷ 12) or by assessment (fee ×
contracts × score ÷ 100), split between the policy's funding sources to the cent."""

import datetime
from decimal import Decimal

import pytest

from staffing.payroll.contracts.models import ContractRegister
from staffing.payroll.contracts.services import contract_assessment_record
from staffing.payroll.models import Payslip
from tests.factories import PostingFactory
from tests.payroll.conftest import NOV, OCT, approve, run_month
from tests.payroll.policy.helpers import demo_version, lines, version_from

pytestmark = pytest.mark.django_db


def _fee(policy, *, fee="20", payment="monthly", shares=("60", "30", "10")):
    policy.contract_fee_per_year, policy.contract_fee_payment = Decimal(fee), payment
    policy.contract_fee_insurance_share, policy.contract_fee_public_health_share, policy.contract_fee_resident_share = map(Decimal, shares)
    policy.save()
    return policy


def _register(doctor, residents=331, year=2026, **fields):
    return ContractRegister.objects.create(doctor=doctor, service_year=year, residents=residents, source="测试名单.xlsx", **fields)


def test_monthly_fee_is_fee_times_contracts_over_12_split_by_the_shares(policies, visits):
    _fee(demo_version())
    doctor = PostingFactory().doctor
    _register(doctor)
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    [line] = lines(slip, "contract_service_fee")
    # 20 × 331 ÷ 12 = 551.666… → 551.67
    assert (line.quantity, line.rate, line.amount) == (331, Decimal("1.6667"), Decimal("551.67"))
    assert line.source == {"register_id": line.source["register_id"], "service_year": 2026, "contracts": 331, "fee_per_contract": "20.00",
                           "months": 12, "payment": "monthly",
                           "shares": {"medical_insurance": "60.00", "public_health_fund": "30.00", "resident": "10.00"}}
    funding = {f.source: f.amount for f in line.funding.all()}
    # 60% = 331.002, 30% = 165.501, 10% = 55.167: the cent left over goes to the largest remainder (the resident's).
    assert funding == {"medical_insurance": Decimal("331.00"), "public_health_fund": Decimal("165.50"), "resident": Decimal("55.17")}
    assert sum(funding.values()) == line.amount
    assert line.funding_source == "medical_insurance" and line.taxable


def test_no_register_entry_or_no_fee_means_no_line(policies, visits):
    doctor = PostingFactory().doctor
    other = PostingFactory().doctor
    _register(other, year=2025)  # another year only
    run = run_month(OCT)
    assert not Payslip.objects.get(run=run, doctor=doctor).lines.filter(component="contract_service_fee").exists()
    assert not Payslip.objects.get(run=run, doctor=other).lines.filter(component="contract_service_fee").exists()


def test_monthly_fee_is_pro_rated_by_payable_days_and_by_a_mid_month_fee_change(policies, visits):
    _fee(demo_version())
    version_from(datetime.date(2026, 10, 16))  # a copy of the demo version, with its fee: a line of its own
    raised = version_from(datetime.date(2026, 10, 21))
    _fee(raised, fee="32")
    hired = PostingFactory(doctor__hire_date=datetime.date(2026, 10, 11), start_date=datetime.date(2026, 10, 11)).doctor
    _register(hired, residents=120)
    slip = Payslip.objects.get(run=run_month(OCT), doctor=hired)
    parts = lines(slip, "contract_service_fee")
    # 20 × 120 ÷ 12 = 200 a month: 11–15 and 16–20 October (5 days each, 200 × 5/31 = 32.258…), 21–31 at
    # 32 a year (320 × 11/31 = 113.548…); exact total 178.064… → 178.06, the last part takes the remainder.
    assert [(ln.source["payable_days"], ln.source["fee_per_contract"], ln.amount) for ln in parts] == [
        (5, "20.00", Decimal("32.26")), (5, "20.00", Decimal("32.26")), (11, "32.00", Decimal("113.54"))]
    assert [ln.policy.effective_from.day for ln in parts] == [1, 16, 21]
    assert sum(ln.amount for ln in parts) == Decimal("178.06")
    for ln in parts:
        assert sum(f.amount for f in ln.funding.all()) == ln.amount


def test_by_assessment_the_fee_is_paid_once_when_the_score_is_recorded_scaled_by_it(policies, visits):
    _fee(demo_version(), payment="by_assessment", shares=("50", "50", "0"))
    doctor = PostingFactory().doctor
    entry = _register(doctor)
    october = approve(run_month(OCT))
    assert not Payslip.objects.get(run=october, doctor=doctor).lines.filter(component="contract_service_fee").exists()
    entry = contract_assessment_record(register=entry, score="87.5", acting_user=None)
    assert entry.assessment_paid_month == NOV  # the next run of the area
    slip = Payslip.objects.get(run=run_month(NOV), doctor=doctor)
    [line] = lines(slip, "contract_service_fee")
    # 20 × 331 × 87.5 ÷ 100 = 5,792.50
    assert (line.quantity, line.amount, line.source["score"], line.source["payment"]) == (331, Decimal("5792.50"), "87.50", "by_assessment")
    assert "months" not in line.source
    assert {f.source: f.amount for f in line.funding.all()} == {"medical_insurance": Decimal("2896.25"), "public_health_fund": Decimal("2896.25")}
    # The December run does not pay it again.
    approve(run_month(NOV))
    december = run_month(datetime.date(2026, 12, 1))
    assert not Payslip.objects.get(run=december, doctor=doctor).lines.filter(component="contract_service_fee").exists()


def test_a_corrected_score_after_payment_is_an_adjustment_in_the_next_run(policies, visits):
    _fee(demo_version(), payment="by_assessment")
    doctor = PostingFactory().doctor
    entry = _register(doctor, residents=100)
    approve(run_month(OCT))
    contract_assessment_record(register=entry, score="80", acting_user=None)
    approve(run_month(NOV))  # pays 20 × 100 × 0.80 = 1,600.00
    contract_assessment_record(register=entry, score="90", acting_user=None)
    slip = Payslip.objects.get(run=run_month(datetime.date(2026, 12, 1)), doctor=doctor)
    correction = slip.lines.get(component="contract_service_fee", reference_month=NOV)
    assert (correction.kind, correction.amount) == ("earning", Decimal("200.00"))


def test_a_change_of_payment_mode_takes_effect_on_1_january(policies):
    from django.core.exceptions import ValidationError

    from staffing.payroll import services
    from staffing.payroll.models import PayPolicy

    demo = demo_version()
    mid_year = PayPolicy(name="改按考核", effective_from=datetime.date(2026, 7, 1), contract_fee_per_year=Decimal("20"),
                         contract_fee_payment="by_assessment", contract_fee_insurance_share=Decimal("100"))
    with pytest.raises(ValidationError) as exc:
        services.pay_policy_save(policy=mid_year, acting_user=None)
    assert exc.value.error_dict["contract_fee_payment"][0].code == "contract_fee_mode"
    assert "2027-01-01" in exc.value.messages[0]
    mid_year.effective_from = datetime.date(2027, 1, 1)
    services.pay_policy_save(policy=mid_year, acting_user=None)
    # The same mode from mid-year (a new fee) is fine.
    services.pay_policy_save(policy=PayPolicy(name="提标", effective_from=datetime.date(2026, 7, 1), contract_fee_per_year=Decimal("25"),
                                              contract_fee_payment=demo.contract_fee_payment, contract_fee_insurance_share=Decimal("100")),
                             acting_user=None)


def test_the_fee_line_reads_as_a_chinese_sentence_without_codes(policies, visits):
    from django.utils import translation

    from staffing.payroll.review.sentences import line_sentence

    _fee(demo_version())
    doctor = PostingFactory().doctor
    _register(doctor)
    [line] = lines(Payslip.objects.get(run=run_month(OCT), doctor=doctor), "contract_service_fee")
    with translation.override("zh-hans"):
        text = line_sentence(line)
    assert "331" in text and "20.00" in text and "60%" in text
    for code in ("register_id", "fee_per_contract", "payment", "monthly", "shares", "medical_insurance", "{"):
        assert code not in text, (code, text)
