"""Small static SVG charts, written by hand so the same data gives the same bytes.

Markdown reports (for a repository or a pull request) cannot run JavaScript, and plotly's static
export needs a browser engine; these charts need nothing. Two kinds: horizontal bars (grouped, linear
or log scale) and a log-log scatter. Every label is XML-escaped.

>>> svg = bar_chart("MACs", ["googlenet", "vgg16"], [("MACs", "#0072B2", [1582671872, 15470264320])])
>>> svg.startswith("<svg") and "googlenet" in svg
True
"""

from __future__ import annotations

import math
from typing import Callable, Sequence
from xml.sax.saxutils import escape

from archlens.units import format_count

FONT = "Helvetica,Arial,sans-serif"
CHAR_WIDTH = 6.6  # average glyph width at 12px, to size the label column
INK, MUTED, GRID = "#1d2430", "#5b6472", "#e3e6ea"


def _n(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros: stable text for stable bytes."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", color: str = INK,
          weight: str = "normal") -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}"{bold}>'
            f"{escape(text)}</text>")


def _open(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
        _text(10, 20, title, size=14, weight="bold"),
    ]


def _decades(low: float, high: float) -> list[int]:
    return [10 ** e for e in range(int(math.floor(math.log10(low))), int(math.ceil(math.log10(high))) + 1)]


def bar_chart(title: str, categories: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]], *,
              log: bool = False, value_text: Callable[[int], str] = format_count, width: int = 760,
              note: str | None = None) -> str:
    """Horizontal bars: one row a category, one bar a series (``(name, color, values)``) within it.

    ``log`` puts the axis on a log scale with a grid line at each power of ten; bars carry their value.
    """
    label_width = max(CHAR_WIDTH * max((len(c) for c in categories), default=4) + 16, 60)
    value_width = 74
    plot_left, plot_right = label_width, width - value_width
    bar_height, gap = 16, 10
    legend = len(series) > 1
    top = 36 + (22 if legend else 0)
    row_height = bar_height * len(series) + gap
    plot_height = row_height * len(categories)
    height = top + plot_height + 28 + (18 if note else 0)
    values = [v for _, _, vs in series for v in vs if v > 0]
    high = max(values, default=1)
    if log:
        ticks = _decades(min(values, default=1), high)
        low_log, high_log = math.log10(ticks[0]), math.log10(ticks[-1])

        def scale(value: float) -> float:
            if value <= 0:
                return 0.0
            return (math.log10(value) - low_log) / (high_log - low_log or 1) * (plot_right - plot_left)
    else:
        ticks = []

        def scale(value: float) -> float:
            return value / high * (plot_right - plot_left) if high else 0.0

    out = _open(width, height, title)
    if legend:
        x = 10.0
        for name, color, _ in series:
            out.append(f'<rect x="{_n(x)}" y="32" width="12" height="12" fill="{color}"/>')
            out.append(_text(x + 16, 42, name, size=11))
            x += 16 + CHAR_WIDTH * len(name) + 18
    axis_y = top + plot_height
    for tick in ticks:
        x = plot_left + scale(tick)
        out.append(f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(axis_y)}" stroke="{GRID}"/>')
        out.append(_text(x, axis_y + 14, format_count(tick).replace(".00", ""), size=10, anchor="middle",
                         color=MUTED))
    for row, category in enumerate(categories):
        y = top + row * row_height
        out.append(_text(plot_left - 8, y + row_height / 2 + 4 - gap / 2, category, anchor="end"))
        for index, (name, color, vs) in enumerate(series):
            value = vs[row]
            bar_y = y + index * bar_height
            length = scale(value)
            out.append(f'<rect x="{_n(plot_left)}" y="{_n(bar_y + 1)}" width="{_n(max(length, 0))}" '
                       f'height="{bar_height - 2}" fill="{color}"><title>{escape(f"{category} {name}: {value:,}")}'
                       f"</title></rect>")
            out.append(_text(plot_left + length + 4, bar_y + bar_height - 4, value_text(value), size=10,
                             color=MUTED))
    out.append(f'<line x1="{_n(plot_left)}" y1="{_n(top - 4)}" x2="{_n(plot_left)}" y2="{_n(axis_y)}" '
               f'stroke="{MUTED}"/>')
    if note:
        out.append(_text(10, height - 8, note, size=10, color=MUTED))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def scatter_chart(title: str, points: Sequence[tuple[str, int, int, str]], *, x_label: str, y_label: str,
                  width: int = 760, height: int = 420) -> str:
    """A log-log scatter of ``(label, x, y, color)`` points, each labelled, with decade grid lines."""
    left, right, top, bottom = 70, width - 30, 40, height - 50
    xs = [p[1] for p in points if p[1] > 0]
    ys = [p[2] for p in points if p[2] > 0]
    x_ticks, y_ticks = _decades(min(xs), max(xs)), _decades(min(ys), max(ys))

    def sx(value: float) -> float:
        lo, hi = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
        return left + (math.log10(value) - lo) / (hi - lo or 1) * (right - left)

    def sy(value: float) -> float:
        lo, hi = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
        return bottom - (math.log10(value) - lo) / (hi - lo or 1) * (bottom - top)

    out = _open(width, height, title)
    for tick in x_ticks:
        out.append(f'<line x1="{_n(sx(tick))}" y1="{top}" x2="{_n(sx(tick))}" y2="{bottom}" stroke="{GRID}"/>')
        out.append(_text(sx(tick), bottom + 14, format_count(tick).replace(".00", ""), size=10, anchor="middle",
                         color=MUTED))
    for tick in y_ticks:
        out.append(f'<line x1="{left}" y1="{_n(sy(tick))}" x2="{right}" y2="{_n(sy(tick))}" stroke="{GRID}"/>')
        out.append(_text(left - 6, sy(tick) + 4, format_count(tick).replace(".00", ""), size=10, anchor="end",
                         color=MUTED))
    out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" '
               f'stroke="{MUTED}"/>')
    out.append(_text((left + right) / 2, height - 12, x_label, size=11, anchor="middle", color=MUTED))
    out.append(f'<text x="16" y="{_n((top + bottom) / 2)}" font-size="11" text-anchor="middle" fill="{MUTED}" '
               f'transform="rotate(-90 16 {_n((top + bottom) / 2)})">{escape(y_label)}</text>')
    for label, x, y, color in points:
        if x <= 0 or y <= 0:
            continue
        px, py = sx(x), sy(y)
        anchor = "end" if px > (left + right) / 2 else "start"
        dx = -9 if anchor == "end" else 9
        out.append(f'<circle cx="{_n(px)}" cy="{_n(py)}" r="6" fill="{color}"><title>'
                   f"{escape(f'{label}: x {x:,}, y {y:,}')}</title></circle>")
        out.append(_text(px + dx, py - 8, label, size=11, anchor=anchor))
    out.append("</svg>")
    return "\n".join(out) + "\n"
