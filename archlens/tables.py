"""The table model: what every result shows, as data, and the registry of the formats that draw it.

Every result (a profile, the Table 1 reproduction, a comparison, the Inception study, the paper's
claims, a budget check, a fit) says what it shows in three ways, and holds no display strings:

* ``view(**options)`` -> :class:`View`: its tables (title, columns with unit and alignment, rows,
  a total row, notes), then summary lines and a legend. Cells and prose hold values, not text: a
  :class:`Value` is a number with its unit (``Value(1582671872, "count")``), a :class:`Text` a
  sentence with placeholders for values.
* ``records(**options)`` -> flat dicts, one a row: what CSV holds.
* ``to_dict(**options)`` -> plain data: what JSON holds.

One renderer a format draws them all (:mod:`archlens.render.formats`: terminal table, Markdown,
CSV, JSON, HTML, notebook), and :mod:`archlens.render.cells` is the one place that turns a value into text.
Renderers register here with :func:`register`; ``import archlens`` loads them, so data modules
never import a renderer, and a new format is one function. :class:`Result` gives every result
``render(format)``, ``to_json()``, ``str()`` (the terminal table) and, in a notebook or IPython, a
styled self-contained HTML table (``_repr_html_``, the ``notebook`` format) with the terminal table as
its plain text (``_repr_pretty_``), all through that registry.

>>> str(Text("{n:,} MACs ({short})", n=1582671872, short=Value(1582671872, "short")))
'1,582,671,872 MACs (1.58 G)'
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from archlens.errors import ArchlensError

Align = Literal["left", "right"]


@dataclass(frozen=True, slots=True)
class Value:
    """A number (or a tuple of numbers, or a shape) and how it is shown, by unit name.

    The units (``render/cells.py`` draws them): ``int`` 1,234,567; ``plain`` 4944; ``count``
    1,582,671,872 (1.58 G); ``short`` 1.58 G; ``signed_int`` +10,985,389,184 (0 unsigned);
    ``signed_short`` +10.99 G; ``bytes`` 37.82 MiB; ``exact_bytes`` 39,653,056 B
    (37.82 MiB); ``shape`` 1x3x224x224; ``share`` 7.5 (a fraction, in percent); ``signed_share``
    +5.5 %; ``ratio`` 8.71x; ``times`` 12x or 8.71x (as stated); ``fixed1`` 2.7; ``signed1`` +0.1;
    ``printed`` a number as a paper prints it (2.7, 112); ``accuracy`` 71.592. A tuple (but a
    shape) shows each number, joined by `` / ``; None shows as an em dash.
    """

    value: Any
    unit: str


@dataclass(frozen=True, init=False)
class Text:
    """A sentence with ``{placeholders}``: a :class:`Value` shows by its unit, a nested ``Text`` as
    its text, anything else by Python's format spec (``{n:,}``, ``{ratio:.2f}``).

    ``str(text)`` is the sentence (drawn by the registered ``text`` renderer).
    """

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, template: str, /, **values: Any) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "values", values)

    def __str__(self) -> str:
        return render(self, "text")


Prose = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its heading, the unit of its values (None: each cell says) and its alignment."""

    title: str
    unit: str | None = None
    align: Align = "left"


@dataclass(frozen=True)
class Table:
    """A titled table. Cells are values of their column's unit, a :class:`Value`, a :class:`Text`,
    a string, or None (an empty cell). ``total`` is a footer row; ``notes`` are remarks under it."""

    title: Prose
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: tuple[Any, ...] | None = None
    notes: tuple[Prose, ...] = ()


@dataclass(frozen=True)
class View:
    """What a result shows: tables, then lines of figures (``summary``) and how to read them (``legend``)."""

    tables: tuple[Table, ...]
    summary: tuple[Prose, ...] = ()
    legend: Prose | None = None


# --- the registry of formats ---

Renderer = Callable[..., str]
_RENDERERS: dict[str, Renderer] = {}


def register(name: str) -> Callable[[Renderer], Renderer]:
    """Register ``renderer(result, **options) -> str`` as the format ``name``; a name is taken once."""

    def decorate(renderer: Renderer) -> Renderer:
        if name in _RENDERERS:
            raise ValueError(f"format {name!r} is registered twice")
        _RENDERERS[name] = renderer
        return renderer

    return decorate


def formats() -> tuple[str, ...]:
    """The registered format names, in registration order."""
    return tuple(_RENDERERS)


def render(result: Any, fmt: str, **options: Any) -> str:
    """``result`` drawn in format ``fmt`` (``table``, ``markdown``, ``csv``, ``json``, ``html``, ``text``)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ArchlensError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(formats())}") from None
    return renderer(result, **options)


class Result(ABC):
    """What every result has: ``view``/``records``/``to_dict`` (its own: a class missing one cannot be
    made), and, through the registered renderers, ``render(fmt)``, ``to_json()``, ``str()`` (the
    terminal table) and notebook HTML."""

    @abstractmethod
    def view(self, **options: Any) -> View:
        """Its tables, summary lines and legend, as data."""

    @abstractmethod
    def records(self, **options: Any) -> list[dict[str, Any]]:
        """Flat records, one a row (CSV)."""

    @abstractmethod
    def to_dict(self, **options: Any) -> dict[str, Any]:
        """Plain data (JSON)."""

    def render(self, fmt: str = "table", **options: Any) -> str:
        """This result as ``table``, ``markdown``, ``csv``, ``json`` or ``html`` text."""
        return render(self, fmt, **options)

    def to_json(self, **options: Any) -> str:
        """JSON with a stable key order: the same result gives the same bytes."""
        return render(self, "json", **options)

    def __str__(self) -> str:
        return render(self, "table")

    def _repr_html_(self) -> str:
        """A notebook's display: the tables as styled, self-contained HTML (the ``notebook`` format)."""
        return render(self, "notebook")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text display (a terminal IPython, a notebook's ``text/plain``): the table, not
        the fields of the data behind it."""
        printer.text(str(self))

    def __init_subclass__(cls, **options: Any) -> None:
        # IPython looks for _repr_pretty_ in each class's own namespace before the __repr__ a dataclass
        # writes there, so every result class gets it in its own (and keeps its repr for debugging).
        super().__init_subclass__(**options)
        if "_repr_pretty_" not in cls.__dict__:
            cls._repr_pretty_ = Result._repr_pretty_
