"""Networks side by side: params, MACs, FLOPs, other ops, activations, depth, published accuracy,
and each figure's ratio to the first network (the baseline).

>>> import archlens
>>> table = archlens.compare("googlenet", "alexnet")
>>> int(table.loc[1, "params"]), round(float(table.loc[1, "params_ratio"]), 2)
(60965224, 8.71)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterable

from archlens import conventions
from archlens.counting.records import Profile
from archlens.counting.training import OPTIMIZERS
from archlens.errors import ArchlensError
from archlens.tables import Column, Result, Table, Text, Value, View

STEP_FIGURES = ("backward_macs", "train_macs", "saved_activations", "train_memory")
"""A training step's figures (kept out of an inference comparison's records)."""
DECODE_FIGURES = ("kv_cache_bytes",)
"""A decoding step's figures (kept out of the records of a comparison that does not decode)."""

# The figures that get a ratio to the baseline, in column order, and how the table names them.
RATIO_FIGURES = ("params", "macs", "flops", "other_ops", "activation_bytes")
LABELS = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "other_ops": "Other ops",
          "activation_bytes": "Activations"}


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
    not_counted: tuple[tuple[str, int], ...] = ()
    """Ops the engine saw but no formula counts, with how often: never counted as zero silently."""
    backward_macs: int | None = None
    """A training step's figures (None at inference): backward MACs, the step's MACs (forward, backward and
    any recomputed forward), the activations kept for the backward pass and the step's peak memory, bytes."""
    train_macs: int | None = None
    saved_activations: int | None = None
    train_memory: int | None = None
    kv_cache_bytes: int | None = None
    """A decoding step's key-value cache, bytes at the profile's dtype (None when not decoding)."""

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
            not_counted=not_counted(profile),
            **({} if profile.step is None else {
                "backward_macs": profile.step.backward.macs, "train_macs": profile.step.macs,
                "saved_activations": profile.step.saved_activations, "train_memory": profile.step.peak}),
            **({} if profile.decode is None else {"kv_cache_bytes": profile.kv_cache_bytes}),
        )


def not_counted(profile: Profile) -> tuple[tuple[str, int], ...]:
    """``((op, times), ...)``: what the profile's engine saw and could not count, by op."""
    times: dict[str, int] = {}
    for item in profile.unsupported:
        times[item.op] = times.get(item.op, 0) + item.count
    return tuple(times.items())


def not_counted_text(name: str, ops: tuple[tuple[str, int], ...]) -> Text:
    """``Not counted in mynet (its figures are too low by what these ops do): aten.nms x4, ...``."""
    listed = ", ".join(f"{op} x{times}" for op, times in ops)
    return Text("Not counted in {name} (its figures miss what these ops do): {ops}", name=name, ops=listed)


def ratio(value: int, baseline: int) -> float | None:
    """``value / baseline``; None when the baseline is zero."""
    return value / baseline if baseline else None


@dataclass(frozen=True)
class Comparison(Result):
    """Several networks' figures; the first is the baseline every ratio refers to."""

    networks: tuple[NetworkFigures, ...]
    train: bool = False
    optimizer: str | None = None
    """A training step's optimizer (``adamw`` ...): the networks are compared on a training step; None: not."""
    decode: int | None = None
    """A decoding step after a key-value cache of this many tokens; None: not."""
    training: Any = None
    """The training step's options (:class:`~archlens.counting.training.TrainingStep`) when compared on one."""

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
            row = {f.name: getattr(network, f.name) for f in fields(NetworkFigures)
                   if f.name != "not_counted" and (self.optimizer is not None or f.name not in STEP_FIGURES)
                   and (self.decode is not None or f.name not in DECODE_FIGURES)}
            row["input_shape"] = list(network.input_shape)
            row["not_counted"] = "; ".join(f"{op} x{times}" for op, times in network.not_counted)
            for figure, value in self.ratios(network).items():
                row[f"{figure}_ratio"] = None if value is None else round(value, 6)
            rows.append(row)
        return rows

    def view(self) -> View:
        """A side-by-side table: one row a figure, one column a network; then the ratios to the baseline."""
        nets = self.networks
        base = self.baseline.name

        def row(label: str, unit: str, values: Iterable[Any]) -> tuple[Any, ...]:
            return (label, *(Value(value, unit) for value in values))

        rows = [
            row("Input", "shape", (net.input_shape for net in nets)),
            row("Params", "int", (net.params for net in nets)),
            row("MACs", "int", (net.macs for net in nets)),
            row("FLOPs", "int", (net.flops for net in nets)),
            row("Other ops", "int", (net.other_ops for net in nets)),
            row("Activations", "bytes", (net.activation_bytes for net in nets)),
            row("Depth (params / +pool)", "int", (None if net.depth_weighted is None
                                                  else (net.depth_weighted, net.depth_with_pooling) for net in nets)),
            *(() if self.optimizer is None else (
                row("Backward MACs", "int", (net.backward_macs for net in nets)),
                row("Training-step MACs", "int", (net.train_macs for net in nets)),
                row("Saved activations", "bytes", (net.saved_activations for net in nets)),
                row("Training-step peak memory", "bytes", (net.train_memory for net in nets)),
            )),
            *(() if self.decode is None else (
                row(Text("KV cache ({tokens:,} tokens)", tokens=self.decode), "bytes",
                    (net.kv_cache_bytes for net in nets)),)),
            row("Top-1 / top-5 (published)", "accuracy", (net.top1 if net.top5 is None or net.top1 is None
                                                          else (net.top1, net.top5) for net in nets)),
        ]
        for figure, label in LABELS.items():
            rows.append((Text("{label} vs {base}", label=label, base=base),
                         *(Value(self.ratios(net)[figure], "ratio") for net in nets)))
        columns = (Column(""), *(Column(net.name, align="right") for net in nets))
        mode = "training mode" if self.train else "inference"
        if self.optimizer is not None:
            mode = Text("training step, {options}", options=self.training.describe() if self.training is not None
                        else OPTIMIZERS[self.optimizer].title)
        if self.decode is not None:
            mode = Text("decoding step after a KV cache of {tokens:,} tokens", tokens=self.decode)
        title = Text("Compared with {base} ({mode}; ratios are network / {base})", base=base, mode=mode)
        accuracy = tuple(Text("Accuracy of {name}: {source}", name=net.name, source=net.accuracy_source)
                         for net in nets if net.accuracy_source)
        missing = tuple(not_counted_text(net.name, net.not_counted) for net in nets if net.not_counted)
        return View((Table(title, columns, tuple(rows)),), summary=missing + accuracy, legend=conventions.COMPARE)

    def records(self) -> list[dict[str, Any]]:
        return self.rows()

    def to_dict(self) -> dict[str, Any]:
        networks = self.rows()
        for row, network in zip(networks, self.networks):
            row["not_counted"] = [{"op": op, "count": times} for op, times in network.not_counted]
        step = {} if self.optimizer is None else {"optimizer": self.optimizer}
        if self.training is not None:
            step["training"] = self.training.to_dict()
        decode = {} if self.decode is None else {"decode": self.decode}
        return {"baseline": self.baseline.name, "train": self.train, **step, **decode, "networks": networks}

    def to_dataframe(self):
        """One row a network, columns as in :meth:`rows` (``input_shape`` as ``1x3x224x224``)."""
        import pandas as pd

        rows = self.rows()
        for row in rows:
            row["input_shape"] = "x".join(map(str, row["input_shape"]))
        return pd.DataFrame(rows)


def comparison(targets: Iterable[Any], *, train: bool = False, batch: int | None = None, dtype: str = "float32",
               engine: str | None = None, input_shape: tuple[int, ...] | None = None, tokens: int | None = None,
               decode: int | None = None, inputs: Any = None, device: str = "meta",
               strict: bool = False, step: Any = None, optimizer: str | None = None, mixed_precision: bool = False,
               freeze: "Iterable[str] | str" = (), checkpoint: "Iterable[str] | str" = ()) -> Comparison:
    """Profile every target (built-in name, spec file, spec, module) and put them side by side.

    ``input_shape`` (N, C, H, W) replaces every spec's input and is what a module target runs on,
    as in :func:`archlens.profile`: every network is compared on the same input. ``tokens`` and
    ``decode`` (a decoding step after a cache of that many tokens) apply to specs with a token input;
    ``inputs``, ``device`` and ``strict`` to modules, as there. Ops an engine could not count are
    listed beside the figures (``strict``: an error instead). ``step="train"`` compares training steps (with
    the options of :func:`archlens.profile`): backward MACs, the step's MACs, saved activations, peak memory.
    """
    from archlens.profiler import profile

    targets = list(targets)
    if not targets:
        raise ArchlensError("nothing to compare", hint="name at least one network, e.g. googlenet alexnet vgg16")
    from archlens.counting.training import training_step

    training = training_step(step, optimizer=optimizer, mixed_precision=mixed_precision, freeze=freeze,
                             checkpoint=checkpoint)
    networks = [NetworkFigures.from_profile(profile(target, engine=engine, batch=batch, train=train, dtype=dtype,
                                                    input_shape=input_shape, tokens=tokens, decode=decode,
                                                    inputs=inputs, device=device, strict=strict, step=training))
                for target in targets]
    return Comparison(networks=tuple(networks), train=train or training is not None,
                      optimizer=training.optimizer if training is not None else None, decode=decode, training=training)


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
