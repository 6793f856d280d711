"""The sums over payslip lines that the dashboard and the pay-run list ask on every visit (a
province's month is 200,000 lines) are kept per reach and asked again as soon as any run changes
(issue 18): one small aggregate over the runs decides, so a figure is never older than the runs."""

from decimal import Decimal

import pytest

from clinics.models import Role
from staffing.payroll import services
from staffing.payroll.selectors import (
    component_totals_for_dashboard,
    monthly_component_totals,
    monthly_earnings_by_component,
)
from tests.factories import clinic_with_doctors, make_user
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


def _total(rows) -> Decimal:
    return sum((row["total"] for row in rows), Decimal("0"))


def test_kept_until_a_run_is_calculated_deleted_or_approved(policies, visits, county_admin, django_assert_num_queries):
    clinic_with_doctors(2)
    run = run_month(OCT)
    two_doctors = component_totals_for_dashboard(user=county_admin, month=OCT)
    assert _total(two_doctors) > 0
    with django_assert_num_queries(1):  # the runs' version only: the lines are not summed again
        assert component_totals_for_dashboard(user=county_admin, month=OCT) == two_doctors
    assert monthly_component_totals(months=12, user=county_admin) == []  # calculated, not released

    services.payrun_delete(run=run, acting_user=county_admin)
    assert component_totals_for_dashboard(user=county_admin, month=OCT) == []

    clinic_with_doctors(2)
    run = run_month(OCT)
    four_doctors = component_totals_for_dashboard(user=county_admin, month=OCT)
    assert _total(four_doctors) == 2 * _total(two_doctors)

    approve(run)
    released = monthly_component_totals(months=12, user=county_admin)
    assert [month for month, _ in released] == [OCT]
    earnings = monthly_earnings_by_component(user=county_admin, start=OCT, end=OCT)
    assert earnings and all(values[OCT] > 0 for _, values in earnings)


def test_each_reach_keeps_its_own_answer(policies, visits, county_admin):
    mine, _ = clinic_with_doctors(2)
    clinic_with_doctors(2)
    run_month(OCT)
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=mine.township)
    other_township = make_user(Role.TOWNSHIP_ADMIN, township=clinic_with_doctors(1)[0].township)
    county = _total(component_totals_for_dashboard(user=county_admin, month=OCT))
    township = _total(component_totals_for_dashboard(user=township_admin, month=OCT))
    assert 0 < township < county
    assert component_totals_for_dashboard(user=other_township, month=OCT) == []
    assert _total(component_totals_for_dashboard(user=county_admin, month=OCT)) == county
