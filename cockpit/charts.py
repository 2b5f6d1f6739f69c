"""Charts drawn on the server as SVG (no script, nothing fetched): a line chart per day and a bar
chart of buckets. Every name and label from the data is escaped."""

from __future__ import annotations

import datetime as dt

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
WIDTH, HEIGHT = 660, 230
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40
DATE_LABELS = 7  # along a line chart's days: about every fortnight over 90 days


def _nice_max(value: int) -> int:
    """A round axis top at or above value (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _frame(top: int, title: str, counted: str, empty: bool) -> list[str]:
    """The axes: `counted` names what the vertical axis counts; an empty chart says so."""
    inner_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" class="cockpit-chart">',
             f"<title>{escape(title)}</title>",
             f'<text transform="translate(11 {TOP + inner_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
             f'font-size="11" fill="#555">{escape(counted)}</text>']
    if empty:
        parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{TOP + inner_h / 2:.1f}" text-anchor="middle" '
                     'font-size="13" fill="#777" class="no-data">No data yet</text>')
    for fraction in (0, 0.5, 1):
        y = TOP + inner_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        value = top * fraction
        label = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f"{label}</text>")
    return parts


def _is_empty(series: dict[str, list[int]]) -> bool:
    return not any(any(values) for values in series.values())


def _legend(names: list[str]) -> list[str]:
    parts, x = [], LEFT
    for position, name in enumerate(names):
        colour = PALETTE[position % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="11" fill="#333">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    return parts


def line_chart(*, title: str, counted: str, days: list[dt.date], series: dict[str, list[int]]) -> SafeString:
    """One line per series over the days; DATE_LABELS days from the first to the last are labelled."""
    top = _nice_max(max((max(values, default=0) for values in series.values()), default=0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(top, title, counted, _is_empty(series))
    step = inner_w / max(len(days) - 1, 1)
    for position, (name, values) in enumerate(series.items()):
        points = " ".join(f"{LEFT + i * step:.1f},{TOP + inner_h * (1 - value / top):.1f}"
                          for i, value in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{PALETTE[position % len(PALETTE)]}" stroke-width="1.6" '
                     f'points="{points}"><title>{escape(name)}</title></polyline>')
    labelled = {round(n * (len(days) - 1) / (DATE_LABELS - 1)) for n in range(DATE_LABELS)} if days else set()
    for i in sorted(labelled):
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        parts.append(f'<text x="{LEFT + i * step:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="{anchor}" '
                     f'font-size="11" fill="#555">{days[i]:%b %d}</text>')
    parts += _legend(list(series)) + ["</svg>"]
    return mark_safe("".join(parts))


def bar_chart(*, title: str, counted: str, buckets: list[str], series: dict[str, list[int]]) -> SafeString:
    """Grouped bars: for each bucket one bar per series, its count on hover."""
    top = _nice_max(max((max(values, default=0) for values in series.values()), default=0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(top, title, counted, _is_empty(series))
    group = inner_w / max(len(buckets), 1)
    width = group * 0.8 / max(len(series), 1)
    for b, label in enumerate(buckets):
        for s, (name, values) in enumerate(series.items()):
            value = values[b] if b < len(values) else 0
            height = inner_h * value / top
            x = LEFT + b * group + group * 0.1 + s * width
            parts.append(f'<rect x="{x:.1f}" y="{TOP + inner_h - height:.1f}" width="{width:.1f}" '
                         f'height="{height:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                         f"<title>{escape(name)}, {escape(label)}: {value:,}</title></rect>")
        parts.append(f'<text x="{LEFT + b * group + group / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                     f'text-anchor="middle" font-size="11" fill="#555">{escape(label)}</text>')
    parts += _legend(list(series)) + ["</svg>"]
    return mark_safe("".join(parts))


def bucket_labels(edges: tuple[int, ...], unit: str) -> list[str]:
    labels, previous = [], 0
    for edge in edges:
        labels.append(f"{previous}–{edge} {unit}")
        previous = edge
    return labels + [f"≥ {previous} {unit}"]
