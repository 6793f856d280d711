"""Small server-side SVG bar charts for the dashboard: no JavaScript, no CDN, readable on a phone
(the SVG scales with its container), and each chart has its data table as the text equivalent."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#1f7a4d", "#4f9dd9", "#e8a33d", "#c2549d", "#7a6ad8", "#8c8c8c", "#2bb3a3", "#d9534f", "#5b8c2a", "#b07c3c"]


@dataclass
class Series:
    name: str
    values: list
    color: str = ""


@dataclass
class Chart:
    """A bar chart: one bar group per category; series stacked or side by side."""

    key: str
    title: str
    categories: list[str]
    series: list[Series] = field(default_factory=list)
    stacked: bool = True
    unit: str = ""

    def __post_init__(self):
        for index, serie in enumerate(self.series):
            serie.color = serie.color or PALETTE[index % len(PALETTE)]

    @property
    def is_empty(self) -> bool:
        return not any(float(v or 0) for s in self.series for v in s.values)

    @property
    def is_count(self) -> bool:
        """Every value a whole number held as an int (visits, consults, days): the axis then has
        whole-number ticks only. Amounts are Decimal and keep their ticks as they fall."""
        return all(isinstance(v, int) or v is None for s in self.series for v in s.values)

    @property
    def table(self) -> list[list]:
        """Rows of the text equivalent: category, then one value per series."""
        return [[category] + [s.values[i] for s in self.series] for i, category in enumerate(self.categories)]

    @property
    def display_table(self) -> list[list[str]]:
        """The text equivalent as a person reads it: values grouped like the bars' titles
        (12,345.60 for an amount, 1,234 for a count)."""
        return [[row[0], *(_plain(value or 0) for value in row[1:])] for row in self.table]

    def svg(self) -> SafeString:
        width, height, left, bottom, top = 640, 260, 56, 44, 12
        plot_w, plot_h = width - left - 10, height - bottom - top
        n = max(len(self.categories), 1)
        values = [[float(v or 0) for v in s.values] for s in self.series]
        if self.stacked:
            peak = max([sum(v for v in col if v > 0) for col in zip(*values, strict=True)] or [0])  # negatives are not drawn
        else:
            peak = max([v for row in values for v in row] or [0])
        counts = self.is_count
        peak = _count_ceiling(peak) if counts else _nice_ceiling(peak)
        group_w = plot_w / n
        legend = _legend_places(self.series, left=left, width=width - 10)  # (x, row): rows wrap under the plot
        extra = 16 * max((row for _x, row in legend), default=0)
        parts = [
            f'<svg class="chart" role="img" aria-labelledby="{self.key}-title" viewBox="0 0 {width} {height + extra}" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{self.key}-title">{escape(self.title)}</title>',
        ]
        for step in range(5):
            value = peak * step / 4
            y = top + plot_h - plot_h * step / 4
            parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
            parts.append(
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5f6368">{_short(value)}</text>'
            )
        for i, category in enumerate(self.categories):
            x0 = left + i * group_w
            if self.stacked:
                base = 0.0
                for s_index, serie in enumerate(self.series):
                    value = values[s_index][i]
                    if value <= 0:
                        continue
                    h = plot_h * value / peak if peak else 0
                    y = top + plot_h - plot_h * base / peak - h if peak else top + plot_h
                    parts.append(
                        f'<rect x="{x0 + group_w * 0.15:.1f}" y="{y:.1f}" width="{group_w * 0.7:.1f}" height="{h:.1f}" '
                        f'fill="{serie.color}"><title>{escape(category)} · {escape(serie.name)}: {_plain(serie.values[i] or 0)}</title></rect>'
                    )
                    base += value
            else:
                bar_w = group_w * 0.8 / max(len(self.series), 1)
                for s_index, serie in enumerate(self.series):
                    value = values[s_index][i]
                    h = plot_h * value / peak if peak else 0
                    x = x0 + group_w * 0.1 + s_index * bar_w
                    parts.append(
                        f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                        f'fill="{serie.color}"><title>{escape(category)} · {escape(serie.name)}: {_plain(serie.values[i] or 0)}</title></rect>'
                    )
            if n <= 14 or i % 2 == 0:
                parts.append(
                    f'<text x="{x0 + group_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                    f'fill="#3c4043">{escape(category)}</text>'
                )
        for serie, (legend_x, row) in zip(self.series, legend, strict=True):
            y = height + 16 * row
            parts.append(f'<rect x="{legend_x}" y="{y - 16}" width="10" height="10" fill="{serie.color}"/>')
            parts.append(f'<text x="{legend_x + 14}" y="{y - 7}" font-size="11" fill="#3c4043">{escape(serie.name)}</text>')
        parts.append("</svg>")
        return mark_safe("".join(parts))


def _legend_places(series, *, left: int, width: int) -> list[tuple[int, int]]:
    """Where each legend key goes: (x, row), starting a new row when the next would pass `width`."""
    places, x, row = [], left, 0
    for serie in series:
        step = 14 + 12 * len(serie.name) + 16
        if x > left and x + step - 16 > width:
            x, row = left, row + 1
        places.append((x, row))
        x += step
    return places


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _count_ceiling(value: float) -> float:
    """The top of a count axis with four whole-number steps of a nice size (1, 2, 5 × 10ⁿ), so
    no tick reads 1.2 or 3.8 on an axis of visits."""
    import math

    needed = max(math.ceil(value), 1) / 4
    magnitude = 10 ** max(len(str(math.ceil(needed))) - 1, 0)
    for factor in (1, 2, 2.5, 3, 5, 10):
        step = factor * magnitude
        if step >= needed and step == int(step):
            return float(step * 4)
    return float(10 * magnitude * 4)


def _short(value: float) -> str:
    if value >= 10000:
        return f"{value / 10000:.1f}万"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,.0f}" if float(value) == int(float(value)) else f"{float(value):,.2f}"
