"""The Inception study: what the 1x1 reductions buy (paper sections 4 and 5, figure 2).

Two views:

* **Per module**: each Inception module of a network, naive (figure 2a) and reduced (figure 2b),
  profiled alone on the same input (the input it sees in the reduced network). GoogLeNet's
  inception_3a on 192x28x28: reduced 163,328 weights, 128,049,152 MACs, 256 channels out; naive
  387,072 weights (192*64 + 192*9*128 + 192*25*32), 303,464,448 MACs, 416 channels out (the pool
  branch passes all 192 input channels through).
* **Cascade**: the whole network with every module naive against the network as given, block by
  block: the naive modules' extra output channels become the next module's input, so the cost
  compounds from stage to stage (GoogLeNet: 1.58 G MACs reduced, 12.57 G naive).

>>> study = inception_study("googlenet")
>>> study.modules[0].naive.macs, study.modules[0].reduced.macs
(303464448, 128049152)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archlens.counting.records import LayerStats, Profile
from archlens.errors import ArchlensError
from archlens.spec.schema import InputShape, Inception, NetworkSpec
from archlens.tables import Column, Result, Table, Text, Value, View

PARTS = ("all", "modules", "cascade")
MODULE_COLUMNS = (
    Column("Module"), Column("Input", "shape"), Column("Params naive", "int", "right"),
    Column("Params reduced", "int", "right"), Column("Saved", "int", "right"), Column("MACs naive", "int", "right"),
    Column("MACs reduced", "int", "right"), Column("Saved", "int", "right"), Column("Naive/reduced", "ratio", "right"),
    Column("Out naive", "plain", "right"), Column("Out reduced", "plain", "right"),
)
CASCADE_COLUMNS = (
    Column("Block"), Column("Channels naive", "plain", "right"), Column("Channels reduced", "plain", "right"),
    Column("MACs naive", "int", "right"), Column("MACs reduced", "int", "right"),
    Column("Naive/reduced", "ratio", "right"), Column("Cumulative naive", "int", "right"),
    Column("Cumulative reduced", "int", "right"),
)
NOTE = (
    "Per module: each module alone on the input it sees in the reduced network (naive = figure 2a: 1x1, 3x3, 5x5 "
    "convolutions and a 3x3 max pool side by side, the pool passing all its input channels through; reduced = "
    "figure 2b). Cascade: the whole network with every module naive against as given; blocks without MACs are "
    "left out of this table (the JSON has them)."
)


@dataclass(frozen=True, slots=True)
class ModuleFigures:
    """One module variant profiled alone: parameters, MACs and output channels."""

    params: int
    weights: int
    macs: int
    other_ops: int
    out_channels: int
    activation_bytes: int


@dataclass(frozen=True, slots=True)
class ModuleComparison:
    """One Inception module, naive and reduced, on the same input ``(channels, height, width)``."""

    name: str
    input_shape: tuple[int, int, int]
    naive: ModuleFigures
    reduced: ModuleFigures

    @property
    def params_saved(self) -> int:
        return self.naive.params - self.reduced.params

    @property
    def macs_saved(self) -> int:
        return self.naive.macs - self.reduced.macs

    @property
    def params_ratio(self) -> float:
        """naive / reduced parameters."""
        return self.naive.params / self.reduced.params

    @property
    def macs_ratio(self) -> float:
        """naive / reduced MACs."""
        return self.naive.macs / self.reduced.macs

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "naive": asdict(self.naive),
            "reduced": asdict(self.reduced),
            "params_saved": self.params_saved,
            "macs_saved": self.macs_saved,
            "params_ratio": round(self.params_ratio, 6),
            "macs_ratio": round(self.macs_ratio, 6),
        }


@dataclass(frozen=True, slots=True)
class CascadeRow:
    """One top-level block of the network in both versions: output channels, params, MACs, and the
    MACs summed from the input up to and including this block."""

    name: str
    kind: str
    naive_channels: int
    reduced_channels: int
    naive_params: int
    reduced_params: int
    naive_macs: int
    reduced_macs: int
    naive_cumulative_macs: int
    reduced_cumulative_macs: int

    @property
    def macs_ratio(self) -> float | None:
        """naive / reduced MACs of this block (None for a block without MACs)."""
        return self.naive_macs / self.reduced_macs if self.reduced_macs else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["macs_ratio"] = None if self.macs_ratio is None else round(self.macs_ratio, 6)
        return data


@dataclass(frozen=True)
class InceptionStudy(Result):
    """Per-module naive-vs-reduced figures and the whole-network cascade."""

    network: str
    modules: tuple[ModuleComparison, ...]
    cascade: tuple[CascadeRow, ...]
    naive_params: int
    reduced_params: int
    naive_macs: int
    reduced_macs: int

    def modules_table(self) -> Table:
        rows = [(m.name, m.input_shape, m.naive.params, m.reduced.params, m.params_saved, m.naive.macs,
                 m.reduced.macs, m.macs_saved, m.macs_ratio, m.naive.out_channels, m.reduced.out_channels)
                for m in self.modules]
        naive_params = sum(m.naive.params for m in self.modules)
        reduced_params = sum(m.reduced.params for m in self.modules)
        naive_macs = sum(m.naive.macs for m in self.modules)
        reduced_macs = sum(m.reduced.macs for m in self.modules)
        rows.append(("all modules", None, naive_params, reduced_params, naive_params - reduced_params, naive_macs,
                     reduced_macs, naive_macs - reduced_macs, naive_macs / reduced_macs, None, None))
        title = Text("Inception modules of {network}: naive (fig. 2a) vs reduced (fig. 2b), same input",
                     network=self.network)
        return Table(title, MODULE_COLUMNS, tuple(rows))

    def cascade_table(self) -> Table:
        rows = [(row.name, row.naive_channels, row.reduced_channels, row.naive_macs, row.reduced_macs,
                 Value(row.macs_ratio, "ratio"), row.naive_cumulative_macs, row.reduced_cumulative_macs)
                for row in self.cascade if row.naive_macs or row.reduced_macs]
        rows.append(("whole network", None, None, self.naive_macs, self.reduced_macs,
                     self.naive_macs / self.reduced_macs, None, None))
        title = Text("Cascade: {network} with every module naive, block by block", network=self.network)
        return Table(title, CASCADE_COLUMNS, tuple(rows))

    def view(self, part: str = "all") -> View:
        """``part``: ``modules`` (each module alone), ``cascade`` (the whole network) or ``all``."""
        if part not in PARTS:
            raise ArchlensError(f"unknown part {part!r}", hint=f"use one of: {', '.join(PARTS)}")
        tables = []
        if part in ("all", "modules"):
            tables.append(self.modules_table())
        if part in ("all", "cascade"):
            tables.append(self.cascade_table())
        summary = Text("Whole network: {naive_params:,} params naive against {reduced_params:,} reduced "
                       "({params_ratio}); {naive_macs:,} MACs against {reduced_macs:,} ({macs_ratio}).",
                       naive_params=self.naive_params, reduced_params=self.reduced_params,
                       params_ratio=Value(self.naive_params / self.reduced_params, "ratio"),
                       naive_macs=self.naive_macs, reduced_macs=self.reduced_macs,
                       macs_ratio=Value(self.naive_macs / self.reduced_macs, "ratio"))
        return View(tuple(tables), summary=(summary,), legend=NOTE)

    def records(self, part: str = "modules") -> list[dict[str, Any]]:
        """One table's records: ``part`` ``modules`` (one a module) or ``cascade`` (one a top-level block)."""
        if part == "cascade":
            return [row.to_dict() for row in self.cascade]
        if part != "modules":
            raise ArchlensError("CSV holds one table", hint="use --part modules or --part cascade")
        records = []
        for module in self.modules:
            data = module.to_dict()
            record = {"name": data["name"], "input_shape": data["input_shape"]}
            for variant in ("naive", "reduced"):
                record.update({f"{variant}_{key}": value for key, value in data[variant].items()})
            record.update({key: data[key] for key in ("params_saved", "macs_saved", "params_ratio", "macs_ratio")})
            records.append(record)
        return records

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "modules": [module.to_dict() for module in self.modules],
            "cascade": [row.to_dict() for row in self.cascade],
            "totals": {
                "naive_params": self.naive_params,
                "reduced_params": self.reduced_params,
                "naive_macs": self.naive_macs,
                "reduced_macs": self.reduced_macs,
                "params_ratio": round(self.naive_params / self.reduced_params, 6),
                "macs_ratio": round(self.naive_macs / self.reduced_macs, 6),
            },
        }

    def modules_dataframe(self):
        """One row a module: name, input, naive and reduced figures, savings and ratios."""
        import pandas as pd

        rows = self.records("modules")
        for row in rows:
            row["input_shape"] = "x".join(map(str, row["input_shape"]))
        return pd.DataFrame(rows)

    def cascade_dataframe(self):
        """One row a top-level block, both versions side by side."""
        import pandas as pd

        return pd.DataFrame([row.to_dict() for row in self.cascade])


def naive_variant(spec: NetworkSpec) -> NetworkSpec:
    """``spec`` with every top-level Inception module naive (paper figure 2a), named ``<name>-naive``."""
    layers = [layer.model_copy(update={"variant": "naive"}) if isinstance(layer, Inception) else layer
              for layer in spec.layers]
    return spec.model_copy(update={"name": f"{spec.name}-naive", "layers": layers})


def reduced_variant(spec: NetworkSpec) -> NetworkSpec:
    """``spec`` with every top-level Inception module reduced (needs the reduce and proj numbers)."""
    layers = []
    for index, layer in enumerate(spec.layers):
        if isinstance(layer, Inception) and layer.variant != "reduced":
            missing = [f for f in ("ch3x3_reduce", "ch5x5_reduce", "pool_proj") if getattr(layer, f) is None]
            if missing:
                raise ArchlensError(
                    f"module {layer.name or f'inception_{index}'} has no {', '.join(missing)}, so it has no "
                    "reduced form to compare with", where=spec.name, hint="give all six numbers of each Inception module",
                )
            layer = layer.model_copy(update={"variant": "reduced"})
        layers.append(layer)
    return spec.model_copy(update={"layers": layers})


def _module_figures(module: Inception, variant: str, shape: tuple[int, int, int]) -> ModuleFigures:
    from archlens.counting.analytic import profile_spec

    channels, height, width = shape
    alone = NetworkSpec(name=f"{module.name}-{variant}",
                        input=InputShape(channels=channels, height=height, width=width),
                        layers=[module.model_copy(update={"variant": variant})])
    result = profile_spec(alone)
    totals = result.totals
    out_channels = result.layers[-1].output_shape[1]
    return ModuleFigures(params=totals.params, weights=totals.weights, macs=totals.macs, other_ops=totals.other_ops,
                         out_channels=out_channels, activation_bytes=totals.activation_bytes)


def _cascade(naive: Profile, reduced: Profile) -> tuple[CascadeRow, ...]:
    naive_rows: dict[str, LayerStats] = {row.name: row for row in naive.rollup(1)}
    rows = []
    naive_sum = reduced_sum = 0
    for row in reduced.rollup(1):
        other = naive_rows[row.name]
        naive_sum += other.macs
        reduced_sum += row.macs
        rows.append(CascadeRow(
            name=row.name, kind=row.kind,
            naive_channels=other.output_shape[1], reduced_channels=row.output_shape[1],
            naive_params=other.params, reduced_params=row.params,
            naive_macs=other.macs, reduced_macs=row.macs,
            naive_cumulative_macs=naive_sum, reduced_cumulative_macs=reduced_sum,
        ))
    return tuple(rows)


def inception_study(target: Any = "googlenet") -> InceptionStudy:
    """Naive against reduced Inception modules of ``target`` (a built-in name, spec file or spec).

    The network's top-level ``inception`` layers are studied; naive modules in the spec are turned
    reduced for the baseline (so ``googlenet-naive`` gives the same study as ``googlenet``).
    """
    from archlens.counting.analytic import profile_spec
    from archlens.targets import resolve_spec

    spec = reduced_variant(resolve_spec(target, needed_by="the Inception study").spec)
    # unnamed layers are called <type>_<position>, as expansion names them
    modules = [layer if layer.name else layer.model_copy(update={"name": f"{layer.type}_{index}"})
               for index, layer in enumerate(spec.layers) if isinstance(layer, Inception)]
    if not modules:
        raise ArchlensError(f"{spec.name} has no top-level Inception modules to study",
                            hint="try googlenet, or a spec with inception layers")
    reduced = profile_spec(spec)
    naive = profile_spec(naive_variant(spec))
    inputs = {}
    for layer in reduced.layers:
        top = layer.name.split(".", 1)[0]
        if top not in inputs:
            inputs[top] = tuple(layer.input_shape[1:])
    comparisons = []
    for module in modules:
        shape = inputs[module.name]
        if len(shape) != 3:
            raise ArchlensError(f"module {module.name} sees a flat input", where=spec.name)
        comparisons.append(ModuleComparison(
            name=module.name, input_shape=shape,
            naive=_module_figures(module, "naive", shape), reduced=_module_figures(module, "reduced", shape),
        ))
    return InceptionStudy(
        network=spec.name,
        modules=tuple(comparisons),
        cascade=_cascade(naive, reduced),
        naive_params=naive.totals.params, reduced_params=reduced.totals.params,
        naive_macs=naive.totals.macs, reduced_macs=reduced.totals.macs,
    )
