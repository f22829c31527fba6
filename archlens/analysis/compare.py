"""Networks side by side: params, MACs, FLOPs, other ops, activations, depth, published accuracy,
and each figure's ratio to the first network (the baseline).

>>> import archlens
>>> table = archlens.compare("googlenet", "alexnet")
>>> int(table.loc[1, "params"]), round(float(table.loc[1, "params_ratio"]), 2)
(60965224, 8.71)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Iterable

from archlens.counting.records import Profile
from archlens.errors import ArchlensError

# The figures that get a ratio to the baseline, in column order.
RATIO_FIGURES = ("params", "macs", "flops", "other_ops", "activation_bytes")


@dataclass(frozen=True, slots=True)
class NetworkFigures:
    """One network's headline figures. Accuracy is what the spec's metadata publishes (or None)."""

    name: str
    input_shape: tuple[int, ...]
    params: int
    weights: int
    biases: int
    macs: int
    flops: int
    other_ops: int
    activation_elements: int
    activation_bytes: int
    depth_weighted: int | None
    depth_with_pooling: int | None
    top1: float | None = None
    top5: float | None = None
    accuracy_source: str | None = None

    @classmethod
    def from_profile(cls, profile: Profile) -> "NetworkFigures":
        t = profile.totals
        accuracy = (profile.metadata or {}).get("accuracy") or {}
        return cls(
            name=profile.name,
            input_shape=tuple(profile.input_shape),
            params=t.params,
            weights=t.weights,
            biases=t.biases,
            macs=t.macs,
            flops=t.flops,
            other_ops=t.other_ops,
            activation_elements=t.activation_elements,
            activation_bytes=t.activation_bytes,
            depth_weighted=profile.depth.weighted if profile.depth else None,
            depth_with_pooling=profile.depth.with_pooling if profile.depth else None,
            top1=accuracy.get("top1"),
            top5=accuracy.get("top5"),
            accuracy_source=accuracy.get("source"),
        )


def ratio(value: int, baseline: int) -> float | None:
    """``value / baseline``; None when the baseline is zero."""
    return value / baseline if baseline else None


@dataclass(frozen=True)
class Comparison:
    """Several networks' figures; the first is the baseline every ratio refers to."""

    networks: tuple[NetworkFigures, ...]
    train: bool = False

    @property
    def baseline(self) -> NetworkFigures:
        return self.networks[0]

    def ratios(self, network: NetworkFigures) -> dict[str, float | None]:
        """``{"params": 8.71, "macs": 0.46, ...}``: ``network``'s figures over the baseline's."""
        return {figure: ratio(getattr(network, figure), getattr(self.baseline, figure)) for figure in RATIO_FIGURES}

    def rows(self) -> list[dict[str, Any]]:
        """One flat record a network: every figure, then ``<figure>_ratio`` columns (rounded to 6 places)."""
        rows = []
        for network in self.networks:
            row = {f.name: getattr(network, f.name) for f in fields(NetworkFigures)}
            row["input_shape"] = list(network.input_shape)
            for figure, value in self.ratios(network).items():
                row[f"{figure}_ratio"] = None if value is None else round(value, 6)
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.name,
            "train": self.train,
            "conventions": "macs = conv/linear/matmul multiply-accumulates; flops = 2 x macs; activation_bytes = "
                           "all layer outputs summed; depth = layers with parameters (and with pooling) on the "
                           "longest path; ratios = value / baseline value",
            "networks": self.rows(),
        }

    def to_json(self, *, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def to_dataframe(self):
        """One row a network, columns as in :meth:`rows` (``input_shape`` as ``1x3x224x224``)."""
        import pandas as pd

        rows = self.rows()
        for row in rows:
            row["input_shape"] = "x".join(map(str, row["input_shape"]))
        return pd.DataFrame(rows)


def comparison(targets: Iterable[Any], *, train: bool = False, batch: int | None = None, dtype: str = "float32",
               engine: str | None = None, input_shape: tuple[int, ...] | None = None) -> Comparison:
    """Profile every target (built-in name, spec file, spec, module) and put them side by side.

    ``input_shape`` (N, C, H, W) replaces every spec's input and is what a module target runs on,
    as in :func:`archlens.profile`: every network is compared on the same input.
    """
    from archlens.profiler import profile

    targets = list(targets)
    if not targets:
        raise ArchlensError("nothing to compare", hint="name at least one network, e.g. googlenet alexnet vgg16")
    networks = [NetworkFigures.from_profile(profile(target, engine=engine, batch=batch, train=train, dtype=dtype,
                                                    input_shape=input_shape)) for target in targets]
    return Comparison(networks=tuple(networks), train=train)


def compare(*targets: Any, train: bool = False, batch: int | None = None, dtype: str = "float32",
            engine: str | None = None, input_shape: tuple[int, ...] | None = None):
    """A pandas DataFrame comparing ``targets``, one row a network, ratios to the first.

    >>> import archlens
    >>> archlens.compare("googlenet", "vgg16")["macs"].tolist()
    [1582671872, 15470264320]

    One list argument works too: ``archlens.compare(["googlenet", "vgg16"])``.
    """
    if len(targets) == 1 and isinstance(targets[0], (list, tuple)):
        targets = tuple(targets[0])
    return comparison(targets, train=train, batch=batch, dtype=dtype, engine=engine,
                      input_shape=input_shape).to_dataframe()
