"""The pay-component registry: a component declared in one place (here, a throwaway one inside the
test) is computed, ordered, labelled and funded on payslips without touching any other file; the
funding split of every line adds up to its amount, to the cent."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from staffing.payroll import components, exports
from staffing.payroll.components import PayComponent, registered
from staffing.payroll.components.kinds import MonthlySubsidy
from staffing.payroll.models import (
    FundingSource,
    PayPolicy,
    Payslip,
    PayslipLine,
    PayslipLineFunding,
    PolicyComponent,
)
from staffing.payroll.money import split_by_shares
from tests.factories import clinic_with_doctors
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


class RemoteAreaAllowance(PayComponent):
    """A throwaway component: 100.01 a month for every doctor paid, 60 % county finance and 40 %
    township health centre, placed between the consultation fee (40) and the weekend on-call
    allowance (50)."""

    code = "remote_area_test"
    order = 45
    label = gettext_lazy("Remote-area allowance (test)")
    funding = ((FundingSource.COUNTY_FINANCE, Decimal("0.6")), (FundingSource.TOWNSHIP_CENTRE, Decimal("0.4")))

    def lines(self, ctx, pay, data):
        self.add(ctx, pay, description="边远地区补贴", quantity=1, rate=Decimal("100.01"), source={"test": True})


def test_a_component_registered_in_the_test_is_computed_ordered_and_funded(policies, visits):
    clinic, (a, b) = clinic_with_doctors(2)
    with registered(RemoteAreaAllowance):
        run = run_month(OCT)
        slip = Payslip.objects.get(run=run, doctor=a)
        lines = list(slip.lines.order_by("position"))
        codes = [ln.component for ln in lines]
        line = next(ln for ln in lines if ln.component == "remote_area_test")
        assert line.get_component_display() == "Remote-area allowance (test)"
        headers, _rows = exports.summary_rows(run)
        assert "Remote-area allowance (test)" in headers
        assert dict(components.choices())["remote_area_test"] == "Remote-area allowance (test)"

    # Ordered by the declared order: after the monthly subsidies, before the withholdings.
    assert codes == ["fixed_subsidy", "public_health", "essential_medicines", "remote_area_test", "social_insurance"]
    assert (line.quantity, line.rate, line.amount, line.kind) == (1, Decimal("100.01"), Decimal("100.01"), "earning")
    # Funded 60/40 to the cent: 100.01 → 60.01 + 40.00 (the odd cent to the larger remainder).
    funding = dict(line.funding.values_list("source", "amount"))
    assert funding == {"county_finance": Decimal("60.01"), "township_centre": Decimal("40.00")}
    assert line.funding_source == "county_finance"
    # It is taxable and in the totals: 1,400 + 1,100 + 600 + 100.01 gross, 200 insurance.
    assert slip.gross == Decimal("3200.01") and slip.net == Decimal("3000.01")
    # The per-source report sums the split: county finance has 2 × 1,400 + 2 × 60.01.
    report = dict(exports.funding_rows(run))
    assert report["县财政"] == Decimal("2920.02")
    assert report["乡镇卫生院"] == Decimal("80.00")
    # Gone from the registry when the test's block ends; the line keeps its code.
    assert "remote_area_test" not in dict(components.choices())
    assert components.order_of("remote_area_test") > components.order_of("income_tax")


class MountainSubsidy(MonthlySubsidy):
    """A throwaway policy-driven monthly component: its amount is a pay-policy row."""

    code = "mountain_test"
    order = 35
    label = gettext_lazy("Mountain subsidy (test)")
    funding = ((FundingSource.COUNTY_FINANCE, Decimal("1")),)


def test_a_policy_driven_component_takes_its_amount_and_source_from_the_policy(policies, visits):
    clinic, (doctor, _other) = clinic_with_doctors(2)
    policy = PayPolicy.objects.get(effective_from=datetime.date(2019, 7, 1))
    with registered(MountainSubsidy):
        part = PolicyComponent(policy=policy, component="mountain_test", amount=Decimal("250"), funding_source="township_centre")
        part.full_clean()  # a registered policy component is a valid choice
        part.save()
        line = PayslipLine.objects.get(payslip__run=run_month(OCT), payslip__doctor=doctor, component="mountain_test")
    assert line.description == "Mountain subsidy (test)，全月"
    assert (line.amount, line.policy_id, line.funding_source) == (Decimal("250.00"), policy.pk, "township_centre")
    assert list(line.funding.values_list("source", "amount")) == [("township_centre", Decimal("250.00"))]
    with pytest.raises(ValidationError) as exc:
        PolicyComponent(policy=policy, component="mountain_test", amount=Decimal("1"), funding_source="county_finance").full_clean()
    assert "component" in exc.value.message_dict  # no longer registered: not a choice


def test_a_component_that_is_not_policy_driven_is_not_a_policy_choice(policies):
    policy = PayPolicy.objects.first()
    with registered(RemoteAreaAllowance), pytest.raises(ValidationError) as exc:
        PolicyComponent(policy=policy, component="remote_area_test", amount=Decimal("1"), funding_source="county_finance").full_clean()
    assert "component" in exc.value.message_dict
    assert [code for code, _label in components.policy_choices()] == [
        "fixed_subsidy", "public_health", "essential_medicines", "consultation_fee", "duty_weekend", "duty_holiday",
    ]


def test_the_registry_refuses_a_taken_order_and_a_split_that_does_not_add_up():
    class SameOrder(RemoteAreaAllowance):
        code = "same_order_test"
        order = 10  # the county fixed subsidy's

    class BadSplit(RemoteAreaAllowance):
        code = "bad_split_test"
        order = 46
        funding = ((FundingSource.COUNTY_FINANCE, Decimal("0.6")), (FundingSource.TOWNSHIP_CENTRE, Decimal("0.3")))

    class CorrectedRunItem(RemoteAreaAllowance):
        code = "corrected_run_test"
        order = 47
        phase = components.RUN
        correctable = True

    for cls, words in ((SameOrder, "order 10"), (BadSplit, "sum to 1"), (CorrectedRunItem, "month-phase")):
        with pytest.raises(ValueError, match=words), registered(cls):
            pass
        assert cls.code not in dict(components.choices())


def test_the_built_in_components_in_payslip_order():
    assert [(c.code, c.phase, c.correctable) for c in components.all_components()] == [
        ("fixed_subsidy", "month", True), ("public_health", "month", True), ("essential_medicines", "month", True),
        ("consultation_fee", "month", True), ("contract_service_fee", "month", True), ("duty_weekend", "month", True), ("duty_holiday", "month", True),
        ("performance", "month", True), ("bonus", "run", False), ("back_pay", "run", False), ("one_off_deduction", "run", False),
        ("social_insurance", "withholding", False), ("income_tax", "withholding", False),
        ("bonus_income_tax", "withholding", False),
    ]


def test_every_line_is_funded_by_its_policy_source_for_its_whole_amount(policies, visits):
    clinic_with_doctors(2)
    run = run_month(OCT)
    lines = PayslipLine.objects.filter(payslip__run=run)
    assert lines.exists()
    for line in lines.prefetch_related("funding"):
        assert [(f.source, f.amount) for f in line.funding.all()] == [(line.funding_source, line.amount)]
    assert {ln.funding_source for ln in lines} == {
        "county_finance", "public_health_fund", "essential_medicines_fund", "doctor",
    }


def test_the_data_migration_fills_a_single_source_row_for_existing_lines(policies, visits):
    from importlib import import_module

    clinic_with_doctors(2)
    run = run_month(OCT)
    PayslipLineFunding.objects.filter(line__payslip__run=run).delete()
    PayslipLine.objects.filter(payslip__run=run, component="social_insurance").update(funding_source="")
    with connection.cursor() as cursor:
        cursor.execute(import_module("staffing.payroll.migrations.0008_fill_line_funding").FORWARD)
    for line in PayslipLine.objects.filter(payslip__run=run):
        expected = [] if line.component == "social_insurance" else [(line.funding_source, line.amount)]
        assert list(line.funding.values_list("source", "amount")) == expected


def test_the_database_freezes_the_funding_of_an_approved_run(policies, visits):
    clinic_with_doctors(2)
    run = approve(run_month(OCT))
    row = PayslipLineFunding.objects.filter(line__payslip__run=run).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        PayslipLineFunding.objects.filter(pk=row.pk).update(amount=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PayslipLineFunding.objects.create(line=row.line, source="medical_insurance", amount=Decimal("1"))
    assert PayslipLineFunding.objects.get(pk=row.pk).amount == row.amount


@given(
    cents=st.integers(min_value=1, max_value=10**10),
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=4),
)
def test_a_split_adds_up_to_the_amount_and_follows_the_shares(cents, weights):
    amount = Decimal(cents) / 100
    total = sum(weights)
    sources = FundingSource.values[: len(weights)]
    shares = [Decimal(w) / total for w in weights[:-1]]
    shares.append(1 - sum(shares))
    parts = dict(split_by_shares(amount, list(zip(sources, shares, strict=True))))
    assert sum(parts.values()) == amount
    assert set(parts) <= set(sources)
    for source, share in zip(sources, shares, strict=True):
        assert abs(parts.get(source, Decimal(0)) - amount * share) < Decimal("0.01")
