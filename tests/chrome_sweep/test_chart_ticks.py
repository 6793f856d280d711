"""A count axis (visits, consults, days) has whole-number ticks; an amount axis keeps its own."""

import re
from decimal import Decimal

import pytest

from core.charts import Chart, Series


def ticks(chart: Chart) -> list[str]:
    """The y-axis labels, bottom to top (the text elements anchored at the end)."""
    return re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', str(chart.svg()))


@pytest.mark.parametrize("peak", [1, 3, 5, 7, 9, 13, 37, 99, 101, 250, 999, 1234])
def test_count_series_get_whole_number_ticks_only(peak):
    chart = Chart(key="c", title="t", categories=["1月", "2月"], series=[Series("2026", [peak, 0])], stacked=False)
    labels = ticks(chart)
    assert len(labels) == 5 and labels[0] == "0"
    assert all("." not in label for label in labels), labels
    values = [int(label) for label in labels]
    assert values[-1] >= peak  # the tallest bar fits
    assert len({b - a for a, b in zip(values, values[1:], strict=False)}) == 1  # evenly spaced


def test_the_settlement_chart_case_of_five_visits_no_longer_reads_1_2_2_5_3_8():
    chart = Chart(key="c", title="t", categories=["11月", "12月"], series=[Series("2026", [5, 2])], stacked=False)
    assert ticks(chart) == ["0", "2", "4", "6", "8"]


def test_amount_series_keep_decimal_ticks():
    chart = Chart(key="c", title="t", categories=["11月"], series=[Series("pay", [Decimal("5.00")])], unit="yuan")
    assert not chart.is_count
    assert ticks(chart) == ["0", "1.2", "2.5", "3.8", "5"]


def test_the_charts_text_equivalent_reads_grouped_while_its_data_stays_numbers():
    chart = Chart(key="c", title="t", categories=["10月"], series=[Series("pay", [Decimal("12345.6")]), Series("n", [1234])])
    assert chart.table == [["10月", Decimal("12345.6"), 1234]]
    assert chart.display_table == [["10月", "12,345.60", "1,234"]]
