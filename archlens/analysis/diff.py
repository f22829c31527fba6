"""Two networks layer by layer: what changed between A and B, where, and how much it costs.

Rows are the layers of both profiles rolled up to ``depth`` (1: top-level blocks, as ``archlens
profile`` shows them; None: every layer). They are matched **by name** first, in network order (the
longest common run of names, as ``diff`` matches lines); in a stretch where the names differ,
layers of the same kind are matched **by position** (``conv3 -> conv3_new``); what is left exists
on one side only. Each matched row carries both sides' kind, shapes, params, MACs, other ops and
activations, and the change; the totals and the change by kind say where a difference comes from.

GoogLeNet with every Inception module naive (paper figure 2a) costs 7.94x the MACs, and the nine
modules are where it goes (the classifier reads more channels too):

>>> result = diff("googlenet", "googlenet-naive")
>>> result.totals["macs"].b, round(result.totals["macs"].ratio, 2)
(12568061056, 7.94)
>>> [(kind, round(share, 3)) for kind, _, share in result.change_by_kind("macs")][:2]
[('inception', 1.0), ('linear', 0.0)]
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, NamedTuple

from archlens.counting.records import LayerStats, Profile
from archlens.tables import Column, Result, Table, Text, Value, View

FIGURES = ("params", "macs", "flops", "other_ops", "activation_bytes")
LABELS = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "other_ops": "Other ops",
          "activation_bytes": "Activations"}
UNITS = {"params": "int", "macs": "int", "flops": "int", "other_ops": "int", "activation_bytes": "bytes"}
STATUSES = ("same", "changed", "only_a", "only_b")
SHOWN = ("changed", "all")

COLUMNS = (
    Column("Layer"), Column("Kind"), Column("Output shape"), Column("Params A", "int", "right"),
    Column("Params B", "int", "right"), Column("Params +/-", None, "right"), Column("MACs A", "int", "right"),
    Column("MACs B", "int", "right"), Column("MACs +/-", None, "right"), Column("MACs B/A", "ratio", "right"),
    Column("% of change", "share", "right"), Column("Status"),
)
LEGEND = (
    "A → B: the first network, then the second; +/- = B - A; B/A = B's MACs over A's. % of change: the row's part "
    "of the change in total MACs. Rows are matched by name, and by position (same kind) where names differ; "
    "\"only in A\"/\"only in B\": layers one side lacks. MACs: conv/linear/matmul multiply-accumulates; "
    "FLOPs = 2 x MACs; activations: bytes of every layer output summed."
)


class Change(NamedTuple):
    """One figure on both sides: ``a``, ``b``, ``change`` (b - a) and ``ratio`` (b / a; None when a is 0)."""

    a: int
    b: int

    @property
    def change(self) -> int:
        return self.b - self.a

    @property
    def ratio(self) -> float | None:
        return self.b / self.a if self.a else None

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "change": self.change,
                "ratio": None if self.ratio is None else round(self.ratio, 6)}


@dataclass(frozen=True, slots=True)
class DiffRow:
    """A layer (or block) of A matched with one of B; ``a`` or ``b`` is None where one side lacks it.

    ``matched_by`` is ``name``, ``position`` or None (one side only).
    """

    a: LayerStats | None
    b: LayerStats | None
    matched_by: str | None

    @property
    def status(self) -> str:
        """``same``, ``changed``, ``only_a`` or ``only_b``."""
        if self.b is None:
            return "only_a"
        if self.a is None:
            return "only_b"
        same = (self.a.kind, self.a.input_shape, self.a.output_shape, self.a.params, self.a.ops) == \
               (self.b.kind, self.b.input_shape, self.b.output_shape, self.b.params, self.b.ops)
        return "same" if same else "changed"

    @property
    def name(self) -> str:
        """The row's name: A's, or ``a → b`` when matched by position under another name."""
        if self.a is None or self.b is None:
            return (self.a or self.b).name
        return self.a.name if self.a.name == self.b.name else f"{self.a.name} → {self.b.name}"

    def figure(self, figure: str) -> Change:
        """``figure`` (params, macs, flops, other_ops, activation_bytes) on both sides; 0 for a missing side."""
        return Change(getattr(self.a, figure) if self.a else 0, getattr(self.b, figure) if self.b else 0)

    def to_dict(self) -> dict[str, Any]:
        def side(layer: LayerStats | None) -> dict[str, Any] | None:
            if layer is None:
                return None
            return {"name": layer.name, "kind": layer.kind, "input_shape": list(layer.input_shape),
                    "output_shape": list(layer.output_shape), "params": layer.params, "macs": layer.macs,
                    "other_ops": layer.other_ops, "activation_bytes": layer.activation_bytes}

        return {"status": self.status, "matched_by": self.matched_by, "a": side(self.a), "b": side(self.b),
                **{f"{figure}_change": self.figure(figure).change for figure in ("params", "macs", "other_ops",
                                                                                 "activation_bytes")}}


def match_layers(a: Iterable[LayerStats], b: Iterable[LayerStats]) -> tuple[DiffRow, ...]:
    """Pair the layers of ``a`` and ``b``: by name in order, then by position (same kind) where names differ.

    >>> from archlens.counting.records import LayerStats as L
    >>> from archlens.counting.formulas import OpCount
    >>> def layer(name, kind): return L(name, kind, (1,), (1,), 0, 0, OpCount(), 0, 0)
    >>> rows = match_layers([layer("conv1", "conv"), layer("fc", "linear")],
    ...                     [layer("conv1", "conv"), layer("conv2", "conv"), layer("head", "linear")])
    >>> [(row.name, row.matched_by) for row in rows]
    [('conv1', 'name'), ('conv2', None), ('fc → head', 'position')]
    """
    a, b = list(a), list(b)
    rows: list[DiffRow] = []
    names = difflib.SequenceMatcher(None, [layer.name for layer in a], [layer.name for layer in b], autojunk=False)
    for tag, a0, a1, b0, b1 in names.get_opcodes():
        if tag == "equal":
            rows += [DiffRow(x, y, "name") for x, y in zip(a[a0:a1], b[b0:b1])]
            continue
        # names differ here: layers of one kind, in order, are the same layer renamed (or resized)
        kinds = difflib.SequenceMatcher(None, [x.kind for x in a[a0:a1]], [y.kind for y in b[b0:b1]], autojunk=False)
        for kind_tag, i0, i1, j0, j1 in kinds.get_opcodes():
            if kind_tag == "equal":
                rows += [DiffRow(x, y, "position") for x, y in zip(a[a0 + i0:a0 + i1], b[b0 + j0:b0 + j1])]
            else:
                rows += [DiffRow(x, None, None) for x in a[a0 + i0:a0 + i1]]
                rows += [DiffRow(None, y, None) for y in b[b0 + j0:b0 + j1]]
    return tuple(rows)


@dataclass(frozen=True)
class Diff(Result):
    """Networks ``a`` and ``b`` layer by layer, rolled up to ``depth`` (None: every layer).

    ``str(diff)`` is the table of the rows that differ; ``diff.render("markdown")``, ``"csv"``,
    ``"json"`` and the notebook's display show the same; ``view(show="all")`` lists every row.
    """

    a: Profile
    b: Profile
    depth: int | None = 1

    @cached_property
    def rows(self) -> tuple[DiffRow, ...]:
        return match_layers(self.a.rollup(self.depth), self.b.rollup(self.depth))

    @cached_property
    def totals(self) -> dict[str, Change]:
        """Each figure of :data:`FIGURES` for the whole network, both sides."""
        return {figure: Change(getattr(self.a.totals, figure), getattr(self.b.totals, figure)) for figure in FIGURES}

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    def change_by_kind(self, figure: str = "macs") -> list[tuple[str, int, float]]:
        """``(kind, change, share of the total change)`` of ``figure`` summed by row kind (B's kind where a
        row has one), largest change first; kinds that did not change are left out."""
        changes: dict[str, int] = {}
        for row in self.rows:
            kind = (row.b or row.a).kind
            changes[kind] = changes.get(kind, 0) + row.figure(figure).change
        total = self.totals[figure].change
        ranked = sorted(((kind, change) for kind, change in changes.items() if change),
                        key=lambda item: -abs(item[1]))
        return [(kind, change, change / total if total else 0.0) for kind, change in ranked]

    # --- what it shows ---

    def heading(self) -> Text:
        level = "every layer" if self.depth is None else "top-level blocks" if self.depth == 1 else f"depth {self.depth}"
        return Text("A = {a} ({a_shape}), B = {b} ({b_shape}): {level}, matched by name", a=self.a.name,
                    a_shape=Value(self.a.input_shape, "shape"), b=self.b.name,
                    b_shape=Value(self.b.input_shape, "shape"), level=level)

    def _cells(self, row: DiffRow) -> tuple[Any, ...]:
        a, b = row.a, row.b
        params, macs = row.figure("params"), row.figure("macs")
        total_change = self.totals["macs"].change

        def both(text_a: str, text_b: str) -> str:
            return text_a if text_a == text_b else f"{text_a} → {text_b}"

        if a is not None and b is not None:
            kind = both(a.kind, b.kind)
            shape = both(_shape(a.output_shape), _shape(b.output_shape))
        else:
            kind, shape = (a or b).kind, Value((a or b).output_shape, "shape")
        status = {"same": "same", "changed": "changed", "only_a": "only in A", "only_b": "only in B"}[row.status]
        if row.matched_by == "position":
            status += " (by position)"
        return (row.name, kind, shape, a.params if a else None, b.params if b else None,
                Value(params.change, "signed_int"), a.macs if a else None, b.macs if b else None,
                Value(macs.change, "signed_int"), macs.ratio if a and b else None,
                macs.change / total_change if total_change and macs.change else None, status)

    def table(self, show: str = "changed") -> Table:
        """The rows (``show="changed"``: those that differ; ``"all"``: every row), the totals, what is not shown."""
        if show not in SHOWN:
            raise ValueError(f"show must be one of {SHOWN}, not {show!r}")
        rows = tuple(self._cells(row) for row in self.rows if show == "all" or row.status != "same")
        params, macs = self.totals["params"], self.totals["macs"]
        inputs = None if self.a.input_shape == self.b.input_shape else \
            f"input {_shape(self.a.input_shape)} → {_shape(self.b.input_shape)}"
        total = ("Total", None, inputs,
                 params.a, params.b, Value(params.change, "signed_int"), macs.a, macs.b,
                 Value(macs.change, "signed_int"), macs.ratio, 1.0 if macs.change else None, None)
        notes: list[Text] = []
        same = [row.name for row in self.rows if row.status == "same"]
        if same and show == "changed":
            shown = ", ".join(same[:12]) + (f" and {len(same) - 12} more" if len(same) > 12 else "")
            notes.append(Text("{n} row{s} the same in both, not shown: {names}", n=len(same),
                              s="s" if len(same) != 1 else "", names=shown))
        return Table(self.heading(), COLUMNS, rows, total=total, notes=tuple(notes))

    def summary(self) -> tuple[Text, ...]:
        """The totals A -> B, where the MACs change comes from (by kind), how the rows matched."""
        lines = []
        for figure in FIGURES:
            change = self.totals[figure]
            unit = "bytes" if figure == "activation_bytes" else "short"
            lines.append(Text("{label}: {a:,} → {b:,} ({change}; B/A {ratio}; {a_short} → {b_short})",
                              label=LABELS[figure], a=change.a, b=change.b, change=Value(change.change, "signed_int"),
                              ratio=Value(change.ratio, "ratio"), a_short=Value(change.a, unit),
                              b_short=Value(change.b, unit)))
        by_kind = self.change_by_kind("macs")
        if by_kind:
            parts = "; ".join(f"{{kind{i}}} {{change{i}}} ({{share{i}}} %)" for i in range(len(by_kind)))
            values: dict[str, Any] = {}
            for i, (kind, change, share) in enumerate(by_kind):
                rows = sum(1 for row in self.rows if (row.b or row.a).kind == kind and row.figure("macs").change)
                values.update({f"kind{i}": f"{kind} x{rows}" if rows > 1 else kind,
                               f"change{i}": Value(change, "signed_short"), f"share{i}": Value(share, "share")})
            lines.append(Text("Where the MACs change comes from, by kind: " + parts, **values))
        lines.append(Text("Rows: {name} matched by name, {position} by position, {only_a} only in A, {only_b} only in "
                          "B; {changed} changed, {same} the same", name=sum(r.matched_by == "name" for r in self.rows),
                          position=sum(r.matched_by == "position" for r in self.rows), only_a=self.count("only_a"),
                          only_b=self.count("only_b"), changed=self.count("changed"), same=self.count("same")))
        return tuple(lines)

    def view(self, show: str = "changed") -> View:
        """The table of rows (those that differ, or ``show="all"``), the totals in words, how to read it."""
        return View((self.table(show),), summary=self.summary(), legend=LEGEND)

    def records(self) -> list[dict[str, Any]]:
        """One flat record a row, every row (``status`` says which changed): both sides' figures, the change."""
        records = []
        for row in self.rows:
            a, b = row.a, row.b
            record: dict[str, Any] = {"status": row.status, "matched_by": row.matched_by,
                                      "name_a": a.name if a else None, "name_b": b.name if b else None,
                                      "kind_a": a.kind if a else None, "kind_b": b.kind if b else None,
                                      "input_shape_a": list(a.input_shape) if a else None,
                                      "input_shape_b": list(b.input_shape) if b else None,
                                      "output_shape_a": list(a.output_shape) if a else None,
                                      "output_shape_b": list(b.output_shape) if b else None}
            for figure in ("params", "macs", "other_ops", "activation_bytes"):
                change = row.figure(figure)
                record.update({f"{figure}_a": getattr(a, figure) if a else None,
                               f"{figure}_b": getattr(b, figure) if b else None, f"{figure}_change": change.change})
            ratio = row.figure("macs").ratio if a and b else None
            record["macs_ratio"] = None if ratio is None else round(ratio, 6)
            records.append(record)
        return records

    def to_dict(self) -> dict[str, Any]:
        def network(profile: Profile) -> dict[str, Any]:
            return {"name": profile.name, "engine": profile.engine, "input_shape": list(profile.input_shape),
                    "dtype": profile.dtype, "train": profile.train}

        return {
            "a": network(self.a),
            "b": network(self.b),
            "depth": self.depth,
            "totals": {figure: change.to_dict() for figure, change in self.totals.items()},
            "macs_change_by_kind": [{"kind": kind, "change": change, "share": round(share, 6)}
                                    for kind, change, share in self.change_by_kind("macs")],
            "counts": {status: self.count(status) for status in STATUSES},
            "rows": [row.to_dict() for row in self.rows],
        }


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def diff_profiles(a: Profile, b: Profile, *, depth: int | None = 1) -> Diff:
    """The :class:`Diff` of two profiles (``depth``: 1 top-level blocks, None every layer)."""
    if depth is not None and depth < 1:
        raise ValueError("depth must be at least 1 (None: every layer)")
    return Diff(a, b, depth)


def diff(a: Any, b: Any, *, depth: int | None = 1, train: bool = False, batch: int | None = None,
         dtype: str = "float32", engine: str | None = None, input_shape: tuple[int, ...] | None = None) -> Diff:
    """What changed from network ``a`` to network ``b``, layer by layer.

    ``a`` and ``b`` are anything :func:`archlens.profile` takes (a built-in name, a spec file, a
    fitted spec, a spec, a module, ``pkg.module:callable``) or profiles already made. ``depth`` 1
    (the default) compares top-level blocks, N sums layers N name levels deep, None compares every
    layer. The other options mean what they mean for :func:`archlens.profile`, for both networks.

    >>> print(diff("googlenet", "googlenet-naive").table().rows[0][:3])
    ('inception_3a', 'inception', '1x256x28x28 → 1x416x28x28')
    """
    from archlens.profiler import profile

    def profiled(target: Any) -> Profile:
        if isinstance(target, Profile):
            return target
        return profile(target, engine=engine, batch=batch, train=train, dtype=dtype, input_shape=input_shape)

    return diff_profiles(profiled(a), profiled(b), depth=depth)


def related(a: Profile, b: Profile, *, threshold: float = 0.8) -> bool:
    """Whether two networks are variants of one design, worth a layer-by-layer diff in a report: at least
    ``threshold`` of their top-level blocks (of the larger) share name and kind.

    >>> import archlens
    >>> related(archlens.profile("googlenet"), archlens.profile("googlenet-naive"))
    True
    >>> related(archlens.profile("googlenet"), archlens.profile("alexnet"))
    False
    """
    blocks_a = {(row.name, row.kind) for row in a.rollup(1)}
    blocks_b = {(row.name, row.kind) for row in b.rollup(1)}
    larger = max(len(blocks_a), len(blocks_b))
    return larger > 0 and len(blocks_a & blocks_b) / larger >= threshold
