"""Payslip lines' sources as sentences: every component's sentence carries its facts (days, rates,
visits, scores, tax steps, the policy version) in the one money format, unknown keys as
"label：value", never JSON."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from clinics.models import Township
from staffing.payroll.models import PayPolicy
from staffing.payroll.money import yuan
from staffing.payroll.review.sentences import LineFacts, line_sentence_from


def sentence(component, quantity, rate, amount, source, policy=None, lang="en"):
    with translation.override(lang):
        return line_sentence_from(LineFacts(component=component, quantity=quantity, rate=rate, amount=amount, source=source, policy=policy))


def test_yuan_is_the_one_money_format():
    assert yuan(Decimal("545600")) == "545,600.00"
    assert yuan(Decimal("105600.005")) == "105,600.01"
    assert yuan("-1234.5") == "-1,234.50"
    assert yuan(0) == "0.00"
    assert yuan(None) == ""
    with pytest.raises(TypeError):
        yuan(1.5)


def test_full_month_subsidy_names_days_rate_and_policy_version():
    policy = PayPolicy(name="县级", effective_from=datetime.date(2019, 7, 1))
    text = sentence("fixed_subsidy", 1, Decimal("1400.0000"), Decimal("1400.00"), {"payable_days": 30, "days_in_month": 30}, policy)
    assert text == "Payable days 30 / 30 days in the month × 1,400.00 yuan(policy version in force from July 1, 2019, county-wide)"
    zh = sentence("fixed_subsidy", 1, Decimal("1400"), Decimal("1400"), {"payable_days": 30, "days_in_month": 30}, policy, lang="zh-hans")
    assert "30" in zh and "1,400.00" in zh and "2019年7月1日" in zh and "{" not in zh


def test_part_month_subsidy_names_employment_and_unpaid_leave():
    township = Township(pk=1, name="甘田镇", code="451028101")
    policy = PayPolicy(name="甘田", effective_from=datetime.date(2026, 1, 1), township=township)
    source = {"payable_days": 18, "days_in_month": 31, "employed_from": "2026-10-12", "employed_until": "2026-10-31",
              "unpaid_leave_dates": ["2026-10-20", "2026-10-21"]}
    text = sentence("public_health", 18, Decimal("45.1613"), Decimal("812.90"), source, policy)
    assert "18 days × 45.1613 yuan a day" in text
    assert "October 12 to October 31" in text and "October 20、October 21" in text
    assert "甘田镇" in text


def test_on_call_consultation_performance_and_insurance_sentences():
    duty = sentence("duty_weekend", 2, Decimal("50"), Decimal("100"), {"dates": ["2026-10-03", "2026-10-04"]})
    assert duty == "2 on-call days on the published roster (October 3、October 4) × 50.00 yuan a day"
    fee = sentence("consultation_fee", 42, Decimal("5"), Decimal("210"), {
        "facility_id": 7, "named_visits": 12, "shared_visits": 30, "clinic_unnamed_visits": 60, "share_basis": 10, "share_basis_total": 20})
    assert "12 own" in fee and "30 shared" in fee and "60 visits" in fee and "10 of 20" in fee and "5.00 yuan a visit" in fee
    assert "facility" not in fee
    perf = sentence("performance", 3, Decimal("200"), Decimal("600"), {
        "assessment_id": 4, "period": "quarter", "period_start": "2026-07-01", "score": "92.50", "band": "优秀"})
    assert "Score 92.5" in perf and "优秀" in perf and "July 2026" in perf and "3 months × 200.00 yuan" in perf
    insurance = sentence("social_insurance", Decimal("3600"), Decimal("0.1050"), Decimal("378"), {"scheme": "employee"})
    assert insurance == "Contribution base 3,600.00 yuan × employee rate 10.5% (scheme employee)"


def test_income_tax_shows_the_cumulative_steps():
    source = {"cumulative_income": "40000.00", "months": 10, "basic_deduction": "50000.00", "social_insurance": "3780.00",
              "cumulative_taxable": "0.00", "rate": "0.03", "quick_deduction": "0", "cumulative_tax": "0.00", "withheld_before": "0.00"}
    text = sentence("income_tax", 1, Decimal("0"), Decimal("0"), source)
    assert "40,000.00" in text and "50,000.00" in text and "(10 months)" in text and "3%" in text and "3,780.00" in text


def test_correction_names_the_month_and_the_difference_and_the_source_now():
    source = {"correction_of": "2026-09", "paid": "0.00", "now": "100.00", "now_source": {"dates": ["2026-09-05", "2026-09-06"]}}
    text = sentence("duty_weekend", 2, Decimal("50"), Decimal("100"), source)
    assert "September 2026" in text and "+100.00" in text and "September 5" in text


def test_unknown_keys_and_components_read_as_label_and_value_never_json():
    text = sentence("contract_fee", 3, Decimal("20"), Decimal("60"), {"payable_days": 30, "residents": ["张三", "李四"],
                                                                       "paid": "12.5", "nested": {"score": "9"}})
    assert "{" not in text and "[" not in text and '"' not in text
    assert "payable days：30" in text and "residents：张三、李四" in text and "paid then：12.50 yuan" in text and "score：9" in text
    assert sentence("bonus", 1, Decimal("500"), Decimal("500"), {"one_off_item_id": 3}) == "Entered as one-off item no. 3: 500.00 yuan"
    assert "{" not in sentence("bonus", 1, Decimal("500"), Decimal("500"), "raw text")


def test_a_component_may_bring_its_own_sentence():
    from staffing.payroll.components import PayComponent, registered

    class ContractFee(PayComponent):
        code = "test_contract_fee"
        order = 9_999
        label = "contract fee"

        def explain_source(self, facts):
            return f"{facts.source['contracts']} contracts × {yuan(facts.rate)}"

    with registered(ContractFee):
        assert sentence("test_contract_fee", 3, Decimal("1200"), Decimal("3600"), {"contracts": 3}) == "3 contracts × 1,200.00"
