"""Values as text: the one place that says how a count, a size, a ratio or a shape is written.

Every renderer (terminal, Markdown, CSV, JSON, HTML) draws cells and sentences through
:func:`cell_text` and :func:`prose_text`; the numbers themselves come from :mod:`archlens.units`.

>>> cell_text(Value(1582671872, "count")), cell_text(Value((22, 27), "int")), cell_text(Value(None, "ratio"))
('1,582,671,872 (1.58 G)', '22 / 27', '—')
"""

from __future__ import annotations

from typing import Any, Callable

from archlens.tables import Text, Value
from archlens.units import format_bytes, format_count, format_int

MISSING = "—"


def shape_text(shape: tuple[int, ...]) -> str:
    """``(1, 64, 112, 112)`` -> ``1x64x112x112``."""
    return "x".join(map(str, shape))


def times(value: float | None) -> str:
    """A ratio: ``8.7111`` -> ``8.71x``, ``0.000449`` -> ``0.00045x``; None -> an em dash."""
    if value is None:
        return MISSING
    return f"{value:.2f}x" if value == 0 or value >= 0.1 else f"{value:.2g}x"


def signed_share(value: float) -> str:
    """A signed share: ``0.055`` -> ``+5.5 %``; under 0.1 % two significant digits (``+0.021 %``)."""
    share = 100 * value
    return f"{share:+.2g} %" if 0 < abs(share) < 0.1 else f"{share:+.1f} %"


def count_text(value: int) -> str:
    """``1582671872`` -> ``1,582,671,872 (1.58 G)``; a small count stays as it is."""
    short = format_count(value)
    return format_int(value) if short == str(value) else f"{format_int(value)} ({short})"


def exact_bytes(value: int) -> str:
    """``39653056`` -> ``39,653,056 B (37.82 MiB)``; under a KiB ``512 B``."""
    return f"{format_int(value)} B ({format_bytes(value)})" if abs(value) >= 1024 else f"{value} B"


def _stated(value: int | float) -> str:
    """A factor as a claim states it: ``12`` -> ``12x``, ``8.7111`` -> ``8.71x``."""
    return f"{value:.2f}x" if isinstance(value, float) else f"{value}x"


def _printed(value: float) -> str:
    """A number as a paper prints it: one decimal where it has one (``2.7``), else none (``112``)."""
    return f"{value:,.1f}" if value != int(value) else f"{value:,.0f}"


UNITS: dict[str, Callable[[Any], str]] = {
    "int": format_int,
    "plain": str,
    "count": count_text,
    "short": format_count,
    "bytes": format_bytes,
    "exact_bytes": exact_bytes,
    "shape": shape_text,
    "share": lambda fraction: f"{100 * fraction:.1f}",
    "signed_share": signed_share,
    "signed_int": lambda value: f"{value:+,}" if value else "0",
    "signed_short": lambda value: ("+" if value > 0 else "") + format_count(value),
    "ratio": times,
    "times": _stated,
    "fixed1": lambda value: f"{value:,.1f}",
    "signed1": lambda value: f"{value:+,.1f}",
    "printed": _printed,
    "accuracy": lambda value: f"{value:.3f}",
}
"""Unit name -> how one number of that unit is written (:class:`archlens.tables.Value` lists them)."""


def value_text(value: Any, unit: str) -> str:
    """One value of ``unit``; a tuple (but a shape) shows each number joined by `` / ``; None an em dash."""
    if value is None:
        return MISSING
    if isinstance(value, (tuple, list)) and unit != "shape":
        return " / ".join(value_text(item, unit) for item in value)
    return UNITS[unit](value)


def cell_text(cell: Any, unit: str | None = None) -> str:
    """A table cell as text: a :class:`Value` by its unit, a :class:`Text` as its sentence, a bare value
    by the column's ``unit``; an empty cell (None) is empty."""
    if cell is None:
        return ""
    if isinstance(cell, Value):
        return value_text(cell.value, cell.unit)
    if isinstance(cell, Text):
        return prose_text(cell)
    if isinstance(cell, str) or unit is None:
        return str(cell)
    return value_text(cell, unit)


def prose_text(prose: Text | str) -> str:
    """A sentence with its placeholders filled: values by their unit, nested sentences as text."""
    if isinstance(prose, str):
        return prose
    filled = {key: cell_text(item) if isinstance(item, (Value, Text)) else item for key, item in prose.values.items()}
    return prose.template.format(**filled)
