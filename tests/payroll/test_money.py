"""Property tests for rounding, allocation and the cumulative withholding of income tax."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staffing.payroll.money import TAX_BRACKETS, allocate, cumulative_tax, money, withholding_this_month

amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("2000000"), places=2, allow_nan=False, allow_infinity=False)


@given(st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=4, allow_nan=False, allow_infinity=False))
def test_money_rounds_half_up_to_the_cent(value):
    rounded = money(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")
    assert rounded == value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_money_rounds_halves_away_from_zero_and_refuses_floats():
    assert money(Decimal("2.345")) == Decimal("2.35") and money(Decimal("-2.345")) == Decimal("-2.35")
    with pytest.raises(TypeError):
        money(0.1)


@given(amounts, amounts)
def test_cumulative_tax_never_decreases_and_never_taxes_more_than_the_increase_at_45_percent(a, b):
    low, high = sorted((a, b))
    assert Decimal("0") <= cumulative_tax(low) <= cumulative_tax(high)
    assert cumulative_tax(high) - cumulative_tax(low) <= (high - low) * Decimal("0.45") + Decimal("0.01")


@pytest.mark.parametrize("upper,rate,quick", [b for b in TAX_BRACKETS if b[0] is not None])
def test_quick_deductions_make_the_brackets_continuous(upper, rate, quick):
    above = TAX_BRACKETS[[b[0] for b in TAX_BRACKETS].index(upper) + 1]
    assert upper * rate - quick == upper * above[1] - above[2]


@given(st.lists(amounts.filter(lambda v: v < Decimal("60000")), min_size=1, max_size=12))
def test_monthly_withholding_adds_up_to_the_tax_on_the_year(monthly_income):
    withheld = Decimal("0")
    income = Decimal("0")
    for month, pay in enumerate(monthly_income, start=1):
        income += pay
        tax, _detail = withholding_this_month(cumulative_income=income, months_employed=month,
                                              cumulative_special_deductions=Decimal("0"), tax_already_withheld=withheld)
        assert tax >= 0
        withheld += tax
    final_due = cumulative_tax(max(income - Decimal("5000") * len(monthly_income), Decimal("0")))
    assert withheld >= final_due  # never under-withheld; over only when a later month's income dropped


@given(st.integers(min_value=0, max_value=10000), st.dictionaries(st.integers(1, 50), st.integers(0, 31), min_size=1, max_size=8))
def test_allocate_splits_whole_visits_exactly(total, weights):
    shares = allocate(total, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    if sum(weights.values()):
        for key, weight in weights.items():
            assert abs(shares[key] - total * weight / sum(weights.values())) < 1
