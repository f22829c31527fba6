"""The GoogLeNet paper's Table 1, reproduced: every printed row beside what archlens measures.

Source: Szegedy et al., "Going deeper with convolutions" (arXiv:1409.4842), Table 1. Its "params"
column counts weights only (no biases) with K = 1024; its "ops" column is multiply-adds in millions.
We show the paper's figure, ours in the paper's units, and the difference; a row whose difference
is more than the printed precision can explain is flagged. The network is never bent to fit a
misprint: the README explains each disagreement from the channel arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archlens.counting.records import Profile
from archlens.errors import ArchlensError
from archlens.spec import NetworkSpec
from archlens.tables import Column, Result, Table, Text, Value, View

K = 1024  # the paper's K for parameters
M = 10**6  # the paper's M for ops

COLUMNS = (
    Column("Table 1 row"), Column("Patch/stride"), Column("Output (paper)", "shape"), Column("Output (ours)", "shape"),
    Column("Depth", "int"), Column("Params paper (K)", "printed", "right"), Column("Params ours (K)", "fixed1", "right"),
    Column("Diff (K)", "signed1", "right"), Column("Ops paper (M)", "printed", "right"),
    Column("Ops ours (M)", "fixed1", "right"), Column("Diff (M)", "signed1", "right"), Column("Verdict"),
)
UNITS_NOTE = (
    "Paper units: params are weights only (no biases), K = 1024; ops are multiply-adds in millions. "
    "Verdict: match = within the printed rounding; rounding = one printed unit off; differs = more "
    "(see the README's Table 1 section for each disagreement)."
)


@dataclass(frozen=True)
class PaperRow:
    """One printed row of Table 1 and the spec layers it stands for."""

    type: str
    patch_stride: str
    output: tuple[int, int, int]  # height, width, depth as printed (e.g. 112x112x64)
    depth: int
    reductions: tuple[int, ...] | None  # #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
    params_k: float | None  # printed params in K (1024), None where the table has none
    ops_m: float | None  # printed ops in millions
    layers: tuple[str, ...]  # top-level spec layers (names in the googlenet spec)


TABLE1: tuple[PaperRow, ...] = (
    PaperRow("convolution", "7x7/2", (112, 112, 64), 1, None, 2.7, 34, ("conv1",)),
    PaperRow("max pool", "3x3/2", (56, 56, 64), 0, None, None, None, ("pool1",)),
    PaperRow("convolution", "3x3/1", (56, 56, 192), 2, (0, 64, 192, 0, 0, 0), 112, 360, ("conv2_reduce", "conv2")),
    PaperRow("max pool", "3x3/2", (28, 28, 192), 0, None, None, None, ("pool2",)),
    PaperRow("inception (3a)", "", (28, 28, 256), 2, (64, 96, 128, 16, 32, 32), 159, 128, ("inception_3a",)),
    PaperRow("inception (3b)", "", (28, 28, 480), 2, (128, 128, 192, 32, 96, 64), 380, 304, ("inception_3b",)),
    PaperRow("max pool", "3x3/2", (14, 14, 480), 0, None, None, None, ("pool3",)),
    PaperRow("inception (4a)", "", (14, 14, 512), 2, (192, 96, 208, 16, 48, 64), 364, 73, ("inception_4a",)),
    PaperRow("inception (4b)", "", (14, 14, 512), 2, (160, 112, 224, 24, 64, 64), 437, 88, ("inception_4b",)),
    PaperRow("inception (4c)", "", (14, 14, 512), 2, (128, 128, 256, 24, 64, 64), 463, 100, ("inception_4c",)),
    PaperRow("inception (4d)", "", (14, 14, 528), 2, (112, 144, 288, 32, 64, 64), 580, 119, ("inception_4d",)),
    PaperRow("inception (4e)", "", (14, 14, 832), 2, (256, 160, 320, 32, 128, 128), 840, 170, ("inception_4e",)),
    PaperRow("max pool", "3x3/2", (7, 7, 832), 0, None, None, None, ("pool4",)),
    PaperRow("inception (5a)", "", (7, 7, 832), 2, (256, 160, 320, 32, 128, 128), 1072, 54, ("inception_5a",)),
    PaperRow("inception (5b)", "", (7, 7, 1024), 2, (384, 192, 384, 48, 128, 128), 1388, 71, ("inception_5b",)),
    PaperRow("avg pool", "7x7/1", (1, 1, 1024), 0, None, None, None, ("pool5",)),
    PaperRow("dropout (40%)", "", (1, 1, 1024), 0, None, None, None, ("dropout",)),
    PaperRow("linear", "", (1, 1, 1000), 1, None, 1000, 1, ("fc",)),
    PaperRow("softmax", "", (1, 1, 1000), 0, None, None, None, ("softmax",)),
)


@dataclass(frozen=True)
class Table1Row:
    """A printed row beside our measurement. Weights and MACs are exact integers."""

    paper: PaperRow
    output: tuple[int, int, int]
    depth: int
    weights: int
    macs: int

    @property
    def params_k(self) -> float:
        return self.weights / K

    @property
    def ops_m(self) -> float:
        return self.macs / M

    @property
    def params_diff_k(self) -> float | None:
        return None if self.paper.params_k is None else self.params_k - self.paper.params_k

    @property
    def ops_diff_m(self) -> float | None:
        return None if self.paper.ops_m is None else self.ops_m - self.paper.ops_m

    @staticmethod
    def _within(diff: float | None, printed: float | None, units: float) -> bool:
        if diff is None or printed is None:
            return True
        unit = 0.1 if printed != int(printed) else 1.0
        return abs(diff) <= units * unit + 1e-9

    @property
    def params_agree(self) -> bool:
        """Our weights equal the printed params within one printed unit."""
        return self._within(self.params_diff_k, self.paper.params_k, 1.0)

    @property
    def ops_agree(self) -> bool:
        """Our MACs equal the printed ops within one printed unit."""
        return self._within(self.ops_diff_m, self.paper.ops_m, 1.0)

    @property
    def paper_implied_ops_m(self) -> float | None:
        """The ops the paper's own params figure implies at this row's output size (weights x H x W)."""
        if self.paper.params_k is None:
            return None
        height, width, _ = self.paper.output
        return self.paper.params_k * K * height * width / M

    @property
    def paper_self_consistent(self) -> bool:
        """The paper's params and ops columns agree with each other (within one printed unit)."""
        implied = self.paper_implied_ops_m
        return implied is None or self.paper.ops_m is None or abs(implied - self.paper.ops_m) <= 1.0 + 1e-9

    @property
    def verdict(self) -> str:
        """``match`` (within the printed rounding), ``rounding`` (within one printed unit: the
        paper truncates or rounds), or ``differs``, judged on output shape, depth, params and ops."""
        if self.output != self.paper.output or self.depth != self.paper.depth:
            return "differs"
        worst = 0.0
        for diff, printed in ((self.params_diff_k, self.paper.params_k), (self.ops_diff_m, self.paper.ops_m)):
            if diff is not None:
                unit = 0.1 if printed is not None and printed != int(printed) else 1.0
                worst = max(worst, abs(diff) / unit)
        if worst <= 0.5 + 1e-9:
            return "match"
        if worst <= 1.0 + 1e-9:
            return "rounding"
        return "differs"

    def note(self) -> Text | None:
        """Why a flagged row differs, in words, from the numbers alone (None for a row that agrees)."""
        if self.verdict != "differs":
            return None
        if self.output != self.paper.output or self.depth != self.paper.depth:
            return Text("output size or depth differs")
        if self.params_agree:
            return Text("ops differ from the channel arithmetic")
        if self.ops_agree and not self.paper_self_consistent:
            return Text("printed params imply {implied:,.1f}M ops, not the printed {printed:g}M; our ops match the "
                        "printed ops, so the params figure is the odd one out",
                        implied=self.paper_implied_ops_m, printed=self.paper.ops_m)
        if self.ops_agree:
            height, width, _ = self.output
            extra = round(self.params_diff_k * K)
            return Text("the channel numbers give {extra:,} {more} weights than printed; at {height}x{width} that is "
                        "{ops:.2f}M ops, too few to show in the printed ops", extra=abs(extra),
                        more="more" if extra > 0 else "fewer", height=height, width=width,
                        ops=abs(extra) * height * width / 10**6)
        if self.paper_self_consistent:
            return Text("printed params and ops agree with each other, but the printed channel numbers give "
                        "{weights:,} weights ({params:,.1f}K) and {ops:,.1f}M ops", weights=self.weights,
                        params=self.params_k, ops=self.ops_m)
        return Text("params and ops both differ from the channel arithmetic, and from each other")

    def cells(self) -> tuple[Any, ...]:
        """The row as printed beside ours: empty where the paper prints nothing and we count nothing."""
        has_params = self.paper.params_k is not None
        return (self.paper.type, self.paper.patch_stride, self.paper.output, self.output,
                (self.paper.depth, self.depth), self.paper.params_k,
                self.params_k if (has_params or self.weights) else None, self.params_diff_k, self.paper.ops_m,
                self.ops_m if (self.paper.ops_m is not None or self.macs) else None, self.ops_diff_m, self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.paper.type,
            "patch_stride": self.paper.patch_stride,
            "layers": list(self.paper.layers),
            "output_paper": list(self.paper.output),
            "output": list(self.output),
            "depth_paper": self.paper.depth,
            "depth": self.depth,
            "params_paper_k": self.paper.params_k,
            "weights": self.weights,
            "ops_paper_m": self.paper.ops_m,
            "macs": self.macs,
            "paper_self_consistent": self.paper_self_consistent,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Table1(Result):
    """The whole reproduction, with the sums of the params and ops columns."""

    network: str
    rows: tuple[Table1Row, ...]

    @property
    def printed_params_k(self) -> float:
        return sum(row.paper.params_k or 0 for row in self.rows)

    @property
    def printed_ops_m(self) -> float:
        return sum(row.paper.ops_m or 0 for row in self.rows)

    @property
    def weights(self) -> int:
        return sum(row.weights for row in self.rows)

    @property
    def macs(self) -> int:
        return sum(row.macs for row in self.rows)

    def view(self) -> View:
        """Every printed row beside ours, the column sums, a note for each row that differs, the units."""
        weights_k, macs_m = self.weights / K, self.macs / M
        sums = ("sum of the column", None, None, None, None, Value(self.printed_params_k, "fixed1"), weights_k,
                weights_k - self.printed_params_k, self.printed_ops_m, macs_m, macs_m - self.printed_ops_m, None)
        notes = tuple(Text("{type}: {note}", type=row.paper.type, note=row.note()) for row in self.rows if row.note())
        title = Text("GoogLeNet paper, Table 1, reproduced on {network}", network=self.network)
        return View((Table(title, COLUMNS, (*(row.cells() for row in self.rows), sums), notes=notes),),
                    legend=UNITS_NOTE)

    def records(self) -> list[dict[str, Any]]:
        """One record a row: the spec layers joined by ``+``, outputs as ``112x112x64``."""
        return [{**row.to_dict(), "layers": "+".join(row.paper.layers)} for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "units": {"params": "weights only, K = 1024", "ops": "multiply-adds, M = 10^6"},
            "rows": [row.to_dict() for row in self.rows],
            "sums": {"params_paper_k": round(self.printed_params_k, 1), "weights": self.weights,
                     "ops_paper_m": self.printed_ops_m, "macs": self.macs},
        }


def reproduce_table1(spec: "NetworkSpec | str" = "googlenet") -> Table1:
    """Measure every Table 1 row on ``spec`` (default: the built-in ``googlenet``).

    >>> table = reproduce_table1()
    >>> [row.verdict for row in table.rows][4]    # inception (3a): 163,328 weights = 159.5K, 128M ops
    'match'
    """
    from archlens.counting.analytic import profile_spec
    from archlens.targets import resolve_spec

    spec = resolve_spec(spec, needed_by="Table 1").spec
    profile = profile_spec(spec)
    blocks = {row.name: row for row in profile.rollup(1)}
    missing = sorted({name for paper in TABLE1 for name in paper.layers} - set(blocks))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ArchlensError(
            f"Table 1 is GoogLeNet's: the paper prints it for GoogLeNet only, and {spec.name} has no layers named "
            f"{shown}",
            hint="it reads googlenet (or a variant with its layer names, such as googlenet-naive): "
                 "archlens profile googlenet --paper",
        )
    rows = []
    for paper in TABLE1:
        parts = [blocks[name] for name in paper.layers]
        batch, channels, *spatial = parts[-1].output_shape
        height, width = (spatial + [1, 1])[:2]
        rows.append(Table1Row(
            paper=paper,
            output=(height, width, channels),
            depth=_row_depth(spec, profile, paper.layers),
            weights=sum(part.weights for part in parts),
            macs=sum(part.macs for part in parts) // batch,
        ))
    return Table1(network=spec.name, rows=tuple(rows))


def _row_depth(spec: NetworkSpec, profile: Profile, names: tuple[str, ...]) -> int:
    """Layers with parameters on the longest path through the row's layers (Table 1's "depth")."""
    from archlens.counting.analytic import profile_spec
    from archlens.spec.schema import InputShape

    first = next(row for row in profile.layers if row.name.split(".")[0] == names[0])
    layers = [layer for layer in spec.layers if layer.name in names]
    shape = first.input_shape
    if len(shape) != 4:
        return sum(1 for layer in layers if layer.type in ("conv", "linear"))
    sub = spec.model_copy(update={
        "layers": layers, "input": InputShape(channels=shape[1], height=shape[2], width=shape[3]), "budget": None,
    })
    return profile_spec(sub).depth.weighted
