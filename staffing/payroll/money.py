"""Money rules: Decimal only, every line rounded to 0.01 half-up, and individual income tax by
the cumulative withholding method (累计预扣法)."""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BASIC_DEDUCTION_PER_MONTH = Decimal("5000")

# Annual brackets on cumulative taxable income: (upper bound, rate, quick deduction).
TAX_BRACKETS: tuple[tuple[Decimal | None, Decimal, Decimal], ...] = (
    (Decimal("36000"), Decimal("0.03"), Decimal("0")),
    (Decimal("144000"), Decimal("0.10"), Decimal("2520")),
    (Decimal("300000"), Decimal("0.20"), Decimal("16920")),
    (Decimal("420000"), Decimal("0.25"), Decimal("31920")),
    (Decimal("660000"), Decimal("0.30"), Decimal("52920")),
    (Decimal("960000"), Decimal("0.35"), Decimal("85920")),
    (None, Decimal("0.45"), Decimal("181920")),
)


def money(value) -> Decimal:
    """Round to the cent, half up. Floats are refused: they have already lost cents."""
    if type(value) is Decimal:  # the usual case, a million times in a province's run
        return value.quantize(CENT, ROUND_HALF_UP)
    if isinstance(value, float):
        raise TypeError("money amounts must be Decimal or int, never float")
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def bracket_for(cumulative_taxable: Decimal) -> tuple[Decimal, Decimal]:
    for upper, rate, quick in TAX_BRACKETS:
        if upper is None or cumulative_taxable <= upper:
            return rate, quick
    raise AssertionError("unreachable")


def cumulative_tax(cumulative_taxable: Decimal) -> Decimal:
    """Tax due on the year's cumulative taxable income so far (never negative)."""
    if cumulative_taxable <= 0:
        return ZERO
    rate, quick = bracket_for(cumulative_taxable)
    return money(cumulative_taxable * rate - quick)


def withholding_this_month(
    *,
    cumulative_income: Decimal,
    months_employed: int,
    cumulative_special_deductions: Decimal,
    tax_already_withheld: Decimal,
) -> tuple[Decimal, dict]:
    """This month's withholding = tax on (cumulative income − 5,000 × months − cumulative social
    insurance) − tax withheld earlier in the year; never below zero (no refunds through payroll)."""
    taxable = cumulative_income - BASIC_DEDUCTION_PER_MONTH * months_employed - cumulative_special_deductions
    taxable = max(taxable, ZERO)
    due = cumulative_tax(taxable)
    rate, quick = bracket_for(taxable)
    this_month = max(due - tax_already_withheld, ZERO)
    return money(this_month), {
        "cumulative_income": str(money(cumulative_income)),
        "months": months_employed,
        "basic_deduction": str(money(BASIC_DEDUCTION_PER_MONTH * months_employed)),
        "social_insurance": str(money(cumulative_special_deductions)),
        "cumulative_taxable": str(money(taxable)),
        "rate": str(rate),
        "quick_deduction": str(quick),
        "cumulative_tax": str(due),
        "withheld_before": str(money(tax_already_withheld)),
    }


def allocate(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split `total` whole units in proportion to `weights` by the largest-remainder method, so
    the shares add up exactly; ties go to the lower key. All-zero weights split equally."""
    keys = sorted(weights)
    if not keys or total <= 0:
        return dict.fromkeys(keys, 0)
    if sum(weights.values()) <= 0:
        weights = dict.fromkeys(keys, 1)
    weight_sum = sum(weights.values())
    shares = {k: total * weights[k] // weight_sum for k in keys}
    remainders = sorted(keys, key=lambda k: (-(total * weights[k] % weight_sum), k))
    for k in remainders[: total - sum(shares.values())]:
        shares[k] += 1
    return shares


def split_by_shares(amount: Decimal, shares) -> list[tuple[str, Decimal]]:
    """Split a line's amount between its funding sources ((source, share), ...; shares summing to
    1) to the cent, so the parts add up exactly: each source gets its exact share rounded down to
    the cent, the cents left over go to the largest remainders (a tie to the source listed first).
    A source whose part is 0 gets no part."""
    # A line's funding is a tuple of (source, share) pairs already: the cache's key as it is.
    key = shares if type(shares) is tuple else tuple(tuple(pair) for pair in shares)
    return list(_split(amount, key))


@lru_cache(maxsize=65536)
def _split(amount: Decimal, shares: tuple) -> tuple:
    """`split_by_shares`, kept per (amount, shares): a pay run splits the same amount the same way
    for thousands of lines (a province's 250,000), so each split is worked out once. Amounts that
    differ only in trailing zeros share an entry, and round to the same cents."""
    shares = tuple((source, Decimal(share)) for source, share in shares)
    cents = int((money(amount) * 100).to_integral_value())
    exact = [cents * share for _source, share in shares]
    parts = [int(e) for e in exact]
    for i in sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))[: cents - sum(parts)]:
        parts[i] += 1
    return tuple((source, (Decimal(part) / 100).quantize(CENT)) for (source, _share), part in zip(shares, parts, strict=True) if part)


def yuan(value) -> str:
    """The one display form of an amount: thousands separators and two decimals, half up to the
    cent ("545,600.00", "-1,234.50"); empty for None. Accepts Decimal, int or a decimal string
    (as the lines' sources hold them). For what people read: files keep numeric cells."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = Decimal(value.replace(",", ""))
    return f"{money(value):,.2f}"
