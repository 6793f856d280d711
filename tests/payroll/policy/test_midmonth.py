"""A policy version in force from a mid-month day: paid pro rata by days in force (one line per
version, parts adding up to the exact total) with PAYROLL_MIDMONTH_POLICY=prorate, refused at
entry with "refuse"."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from staffing.payroll import services
from staffing.payroll.models import PayPolicy, Payslip
from staffing.payroll.policies import prorated_parts
from tests.factories import PostingFactory, clinic_with_doctors
from tests.payroll.conftest import NOV, OCT, publish_roster, run_month
from tests.payroll.policy.helpers import lines, version_from

pytestmark = pytest.mark.django_db


def test_prorated_parts_put_the_remainder_cent_on_the_last_part():
    # 1,400 × 10/30 three times is 466.666…: rounded each is 466.67, three of them 1,400.01.
    assert prorated_parts([(Decimal("1400"), 10)] * 3, 30) == [Decimal("466.67"), Decimal("466.67"), Decimal("466.66")]
    assert sum(prorated_parts([(Decimal("1400"), 10)] * 3, 30)) == Decimal("1400.00")
    assert prorated_parts([(Decimal("1400"), 15), (Decimal("1600"), 16)], 31) == [Decimal("677.42"), Decimal("825.81")]
    assert prorated_parts([], 30) == []


def test_a_version_from_the_16th_splits_each_monthly_component_by_days_in_force(policies, visits, settings):
    settings.PAYROLL_MIDMONTH_POLICY = "prorate"
    clinic, (doctor, _other) = clinic_with_doctors(2)
    raised = version_from(datetime.date(2026, 10, 16), {"fixed_subsidy": "1600"})
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)

    fixed = lines(slip, "fixed_subsidy")
    assert [(ln.quantity, ln.amount, ln.policy.effective_from) for ln in fixed] == [
        (15, Decimal("677.42"), datetime.date(2019, 7, 1)),  # 1,400 × 15/31
        (16, Decimal("825.81"), datetime.date(2026, 10, 16)),  # 1,600 × 16/31
    ]
    assert fixed[0].rate == Decimal("45.1613") and fixed[1].rate == Decimal("51.6129")
    assert fixed[1].source["in_force_from"] == "2026-10-16" and fixed[1].source["share_of_month"] == "16/31"
    assert fixed[1].policy_id == raised.pk
    # The same amount under two versions still adds up to the full month.
    health = lines(slip, "public_health")
    assert [ln.amount for ln in health] == [Decimal("532.26"), Decimal("567.74")]
    assert sum(ln.amount for ln in health) == Decimal("1100.00")
    # Each part is funded for its whole amount.
    for ln in fixed + health:
        assert sum(f.amount for f in ln.funding.all()) == ln.amount


def test_three_versions_in_a_month_add_up_to_the_exact_month(policies, visits):
    posting = PostingFactory()
    version_from(datetime.date(2026, 11, 11))
    version_from(datetime.date(2026, 11, 21))
    run_month(OCT)
    from tests.payroll.conftest import approve

    approve(run_month(OCT))
    slip = Payslip.objects.get(run=run_month(NOV), doctor=posting.doctor)
    fixed = [ln for ln in lines(slip, "fixed_subsidy") if ln.reference_month == NOV]
    assert [(ln.quantity, ln.amount) for ln in fixed] == [(10, Decimal("466.67")), (10, Decimal("466.67")), (10, Decimal("466.66"))]
    assert sum(ln.amount for ln in fixed) == Decimal("1400.00")


def test_a_first_version_from_mid_month_pays_only_its_days(policies, visits):
    posting = PostingFactory()
    PayPolicy.objects.all().delete()
    from staffing.payroll.models import PolicyComponent

    first = PayPolicy.objects.create(name="首个版本", effective_from=datetime.date(2026, 10, 21))
    PolicyComponent.objects.create(policy=first, component="fixed_subsidy", amount=Decimal("1400"), funding_source="county_finance")
    slip = Payslip.objects.get(run=run_month(OCT), doctor=posting.doctor)
    [fixed] = lines(slip, "fixed_subsidy")
    assert (fixed.quantity, fixed.amount) == (11, money_of(1400, 11, 31))


def money_of(amount, days, total):
    from staffing.payroll.money import money

    return money(Decimal(amount) * days / total)


def test_on_call_days_are_paid_at_the_rate_in_force_that_day(policies, visits):
    clinic, (doctor, _other) = clinic_with_doctors(2)
    version_from(datetime.date(2026, 10, 16), {"duty_weekend": "100"})
    d = lambda n: datetime.date(2026, 10, n)  # noqa: E731
    publish_roster(clinic, OCT, [(doctor, d(10), "weekend"), (doctor, d(11), "weekend"), (doctor, d(17), "weekend")])
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    weekend = lines(slip, "duty_weekend")
    assert [(ln.quantity, ln.rate, ln.amount, ln.source["dates"]) for ln in weekend] == [
        (2, Decimal("80"), Decimal("160.00"), ["2026-10-10", "2026-10-11"]),
        (1, Decimal("100"), Decimal("100.00"), ["2026-10-17"]),
    ]


def test_refuse_setting_refuses_a_mid_month_version_in_the_service(policies, settings):
    settings.PAYROLL_MIDMONTH_POLICY = "refuse"
    policy = PayPolicy(name="年中调整", effective_from=datetime.date(2026, 10, 15))
    with pytest.raises(ValidationError) as exc:
        services.pay_policy_save(policy=policy, acting_user=None)
    assert exc.value.error_dict["effective_from"][0].code == "midmonth_policy"
    assert "2026-10-01" in exc.value.messages[0] and "2026-11-01" in exc.value.messages[0]
    assert not PayPolicy.objects.filter(effective_from=datetime.date(2026, 10, 15)).exists()
    # From the 1st it is accepted.
    services.pay_policy_save(policy=PayPolicy(name="年中调整", effective_from=datetime.date(2026, 11, 1)), acting_user=None)
    assert PayPolicy.objects.filter(effective_from=datetime.date(2026, 11, 1)).exists()


def test_prorate_setting_accepts_a_mid_month_version(policies, settings):
    settings.PAYROLL_MIDMONTH_POLICY = "prorate"
    services.pay_policy_save(policy=PayPolicy(name="年中调整", effective_from=datetime.date(2026, 10, 15)), acting_user=None)
    assert PayPolicy.objects.filter(effective_from=datetime.date(2026, 10, 15)).exists()


def _policy_post(**overrides):
    data = {
        "name": "年中调整", "township": "", "effective_from": "2026-10-15", "guaranteed_minimum": "", "notes": "",
        "contract_fee_per_year": "", "contract_fee_payment": "monthly", "contract_fee_insurance_share": "0",
        "contract_fee_public_health_share": "0", "contract_fee_resident_share": "0",
        "components-TOTAL_FORMS": "0", "components-INITIAL_FORMS": "0", "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_refuse_setting_refuses_a_mid_month_version_in_the_admin_form(policies, client, county_admin, settings):
    settings.PAYROLL_MIDMONTH_POLICY = "refuse"
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_paypolicy_add"), _policy_post())
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "effective_from" in errors
    assert not PayPolicy.objects.filter(effective_from=datetime.date(2026, 10, 15)).exists()


def test_contract_fee_shares_must_add_up_to_100_in_the_admin_and_the_database(policies, client, county_admin):
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_paypolicy_add"), _policy_post(
        effective_from="2026-11-01", contract_fee_per_year="20", contract_fee_insurance_share="60",
        contract_fee_public_health_share="30", contract_fee_resident_share="5"))
    assert response.status_code == 200
    assert "contract_fee_per_year" in response.context["adminform"].form.errors
    assert not PayPolicy.objects.filter(effective_from=datetime.date(2026, 11, 1)).exists()
    # The service refuses too, with its code; the database CHECK refuses a direct write.
    policy = PayPolicy(name="x", effective_from=datetime.date(2026, 11, 1), contract_fee_per_year=Decimal("20"),
                       contract_fee_insurance_share=Decimal("60"), contract_fee_public_health_share=Decimal("30"),
                       contract_fee_resident_share=Decimal("5"))
    with pytest.raises(ValidationError) as exc:
        services.pay_policy_save(policy=policy, acting_user=None)
    assert exc.value.error_dict["contract_fee_per_year"][0].code == "contract_fee_shares"
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        policy.save()
    # 60 + 30 + 10 = 100 is saved through the admin.
    response = client.post(reverse("admin:payroll_paypolicy_add"), _policy_post(
        effective_from="2026-11-01", contract_fee_per_year="20", contract_fee_insurance_share="60",
        contract_fee_public_health_share="30", contract_fee_resident_share="10"))
    assert response.status_code == 302
    assert PayPolicy.objects.get(effective_from=datetime.date(2026, 11, 1)).contract_fee_resident_share == Decimal("10")
