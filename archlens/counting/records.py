"""Profile records: plain frozen dataclasses; totals are always derived from the layers.

No display strings live here: a profile says what it shows as data (:meth:`Profile.view`, tables of
values with units) and :mod:`archlens.render` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from archlens import conventions
from archlens.counting.formulas import OP_COLUMNS, OpCount
from archlens.counting.training import OPTIMIZERS, StepFigures, StepStats, TrainingStep, segment_of, step_figures
from archlens.tables import Column, Result, Table, Text, Value, View
from archlens.units import flops

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1}

TOP = "(top)"
"""The record name of the ops a module runs itself, outside its children (the torch engine's root)."""
NOT_CALLED = "not called"
"""The kind of a module holding parameters that never ran: listed so the parameter total is whole."""

PROFILE_COLUMNS = (
    Column("Layer"), Column("Kind"), Column("Output shape", "shape"), Column("Params", "int", "right"),
    Column("MACs", "int", "right"), Column("Other ops", "int", "right"), Column("MACs %", "share", "right"),
)
STEP_COLUMNS = (
    Column("Layer"), Column("Kind"), Column("Output shape", "shape"), Column("Params", "int", "right"),
    Column("Forward MACs", "int", "right"), Column("Backward MACs", "int", "right"),
    Column("Other ops", "int", "right"), Column("Optimizer ops", "int", "right"),
    Column("Saved", "bytes", "right"), Column("Step MACs %", "share", "right"),
)
"""A training step's table (with checkpointed blocks, a column of their recomputed forward MACs after the
backward's: :data:`RECOMPUTE_COLUMN`); other ops are the forward's and the backward's (and the recomputed
forward's); saved: the activations a layer keeps for the backward pass."""
RECOMPUTE_COLUMN = Column("Recomputed MACs", "int", "right")
STEP_LEGEND = (
    "Backward MACs: the products of the backward pass (each operand's gradient that is needed: none for the "
    "network's input, none for frozen weights); recomputed MACs: a checkpointed block's forward again; other ops: "
    "forward and backward; optimizer ops: elementwise, per trainable parameter; saved: activations autograd keeps for the "
    "backward pass, each storage once (README: what a training step costs)."
)
STEP_JSON = (
    "backward_macs = products of the backward pass (the gradients that are needed); recompute_macs = checkpointed "
    "blocks' forward run again; optimizer_ops = elementwise ops per trainable parameter x trainable parameters; "
    "memory in bytes: params, grads, optimizer_state (with mixed precision the fp32 master weights), "
    "saved_activations (what autograd keeps, each storage once), backward_transient (the largest the backward pass "
    "holds beside them), peak = their sum"
)


class LayerStats(NamedTuple):
    """One layer (a module that ran, or ops a container ran itself) and what it costs.

    ``weights`` and ``biases`` are parameter counts (BatchNorm's scale counts as weights, its
    shift as biases); ``activation_elements`` are the elements of the layer's output.

    An immutable named tuple rather than a frozen dataclass: a profile creates one per layer, and a
    frozen dataclass costs three times as much to create (it matters to ``archlens fit``). Use
    ``layer._replace(field=value)`` for a changed copy.
    """

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: int
    biases: int
    ops: OpCount
    activation_elements: int
    activation_bytes: int
    step: StepStats | None = None
    """What the layer adds to a training step (backward ops, saved activations ...); None at inference."""

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def macs(self) -> int:
        return self.ops.macs

    @property
    def other_ops(self) -> int:
        return self.ops.other_ops

    @property
    def flops(self) -> int:
        return flops(self.ops.macs)


@dataclass(frozen=True, slots=True)
class Group:
    """A named grouping of layers (an Inception module, a VGG stage, a conv unit), its kind, and the
    shape of what it returns (its first tensor; ``()`` when the engine does not know it)."""

    name: str
    kind: str
    output_shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DepthFigures:
    """Layers on the longest input-to-output path: with parameters (conv, linear), and with pooling too."""

    weighted: int
    with_pooling: int


@dataclass(frozen=True, slots=True)
class UnsupportedOp:
    """An op an engine saw but cannot count, where it ran and how often. Never counted as zero silently."""

    op: str
    layer: str
    count: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over all layers."""

    layers: int
    params: int
    weights: int
    biases: int
    macs: int
    flops: int
    other_ops: int
    bias_ops: int
    norm_ops: int
    activation_ops: int
    pool_ops: int
    elementwise_ops: int
    activation_elements: int
    activation_bytes: int


def total_of(layers: "tuple[LayerStats, ...] | list[LayerStats]") -> Totals:
    """Sum ``layers`` into :class:`Totals`."""
    ops = OpCount()
    weights = biases = elements = nbytes = 0
    for layer in layers:
        ops = ops + layer.ops
        weights += layer.weights
        biases += layer.biases
        elements += layer.activation_elements
        nbytes += layer.activation_bytes
    return Totals(
        layers=len(layers),
        params=weights + biases,
        weights=weights,
        biases=biases,
        macs=ops.macs,
        flops=flops(ops.macs),
        other_ops=ops.other_ops,
        bias_ops=ops.bias_ops,
        norm_ops=ops.norm_ops,
        activation_ops=ops.activation_ops,
        pool_ops=ops.pool_ops,
        elementwise_ops=ops.elementwise_ops,
        activation_elements=elements,
        activation_bytes=nbytes,
    )


@dataclass(frozen=True)
class Profile(Result):
    """What a network costs, layer by layer.

    >>> import archlens
    >>> p = archlens.profile("googlenet")
    >>> p.totals.macs
    1582671872
    """

    name: str
    engine: str
    input_shape: tuple[int, ...]
    dtype: str
    train: bool
    layers: tuple[LayerStats, ...]
    groups: tuple[Group, ...] = ()
    depth: DepthFigures | None = None
    unsupported: tuple[UnsupportedOp, ...] = ()
    metadata: dict[str, Any] | None = field(default=None, compare=False)
    decode: int | None = None
    """A decoding step: the tokens already in the key-value cache (the input's tokens are the new ones)."""
    kv_per_token: int = 0
    """Keys and values the attention layers keep for one token (the batch's, all layers): elements."""
    inputs: tuple[str, ...] = ()
    """A module's inputs when there is more than one float tensor: ``("1x128 int64", "mask=1x128 float32")``."""
    training: TrainingStep | None = None
    """A training step's options (optimizer, precision, frozen and checkpointed layers); None: inference."""

    @property
    def kv_cache_elements(self) -> int:
        """The elements of a decoding step's key-value cache (``decode`` tokens); 0 outside decoding."""
        return self.kv_per_token * (self.decode or 0)

    @property
    def kv_cache_bytes(self) -> int:
        """The bytes of the key-value cache a decoding step reads, at the profile's dtype."""
        return self.kv_cache_elements * DTYPE_BYTES[self.dtype]

    @cached_property
    def totals(self) -> Totals:
        sums = getattr(self.layers, "sums", None)
        if sums is None:
            return total_of(self.layers)
        # repeated blocks counted once (archlens.counting.repeats): the same sums, read from distinct records
        s = sums()
        ops = s.ops
        return Totals(layers=s.count, params=s.weights + s.biases, weights=s.weights, biases=s.biases, macs=ops.macs,
                      flops=flops(ops.macs), other_ops=ops.other_ops, bias_ops=ops.bias_ops, norm_ops=ops.norm_ops,
                      activation_ops=ops.activation_ops, pool_ops=ops.pool_ops, elementwise_ops=ops.elementwise_ops,
                      activation_elements=s.elements, activation_bytes=s.nbytes)

    @cached_property
    def step(self) -> StepFigures | None:
        """A training step's totals (operations and memory, :class:`~archlens.counting.training.StepFigures`);
        None at inference.

        >>> import archlens
        >>> step = archlens.profile("resnet18", step="train", optimizer="sgd").step
        >>> step.backward.macs, step.saved_activations
        (3510132736, 22218240)
        """
        if self.training is None:
            return None
        sums = getattr(self.layers, "sums", None)
        distinct = self.layers.distinct_items() if sums is not None else self.layers
        if sums is not None:
            total = sums().step or StepStats()
        else:
            steps = [layer.step for layer in distinct if layer.step is not None]
            total = sum(steps[1:], steps[0]) if steps else StepStats()
        transient, where = 0, None
        for layer in distinct:
            if layer.step is not None and layer.step.transient_bytes > transient:
                transient, where = layer.step.transient_bytes, layer.name
        for pattern in self.training.checkpoint:  # a checkpointed block: its recomputed activations too
            for row in self.rollup(pattern.count(".") + 1):
                if row.step is not None and segment_of(row.name, self.training.checkpoint) == row.name:
                    held = row.step.recompute_bytes + row.step.transient_bytes
                    if held > transient:
                        transient, where = held, row.name
        return step_figures(self.training, self.totals, total, transient, where, DTYPE_BYTES[self.dtype])

    def group_kind(self, name: str) -> str | None:
        """The kind of group ``name`` (``inception``, ``vgg_stage``, ``conv`` ...), or None."""
        find = getattr(self.groups, "find", None)
        if find is not None:
            group = find(name)
            return group.kind if group is not None else None
        return self._group_kinds.get(name)

    def group_output(self, name: str) -> tuple[int, ...] | None:
        """What group ``name`` returned (its first tensor's shape), or None when not known."""
        find = getattr(self.groups, "find", None)
        if find is not None:
            group = find(name)
            return group.output_shape or None if group is not None else None
        return self._group_outputs.get(name)

    @cached_property
    def _group_kinds(self) -> dict[str, str]:
        return {group.name: group.kind for group in self.groups}

    @cached_property
    def _group_outputs(self) -> dict[str, tuple[int, ...]]:
        return {group.name: group.output_shape for group in self.groups if group.output_shape}

    def rollup(self, depth: int | None) -> tuple[LayerStats, ...]:
        """Layers summed up to ``depth`` name components (``1``: top-level blocks); None: all layers.

        >>> import archlens
        >>> [r.name for r in archlens.profile("googlenet").rollup(1)][:3]
        ['conv1', 'pool1', 'norm1']
        """
        if depth is None:
            return self.layers
        if depth < 1:
            raise ValueError("depth must be at least 1")
        if hasattr(self.layers, "rollup"):  # repeated blocks counted once: rows from the distinct records
            return self.layers.rollup(depth, self.group_kind, self.group_output, LayerStats)
        order: list[str] = []
        members: dict[str, list[LayerStats]] = {}
        for layer in self.layers:
            key = ".".join(layer.name.split(".")[:depth])
            if key not in members:
                order.append(key)
                members[key] = []
            members[key].append(layer)
        rows = []
        for key in order:
            items = members[key]
            if len(items) == 1 and items[0].name == key:
                rows.append(items[0])
                continue
            totals = total_of(items)
            steps = [item.step for item in items if item.step is not None]
            rows.append(
                LayerStats(
                    name=key,
                    kind=self.group_kind(key) or items[0].kind,
                    input_shape=items[0].input_shape,
                    # what the block returned; the last layer's output when the engine did not record it
                    output_shape=self._group_outputs.get(key, items[-1].output_shape),
                    weights=totals.weights,
                    biases=totals.biases,
                    ops=sum((item.ops for item in items), OpCount()),
                    activation_elements=totals.activation_elements,
                    activation_bytes=totals.activation_bytes,
                    step=sum(steps[1:], steps[0]) if steps else None,
                )
            )
        return tuple(rows)

    # --- what it shows: tables (view), CSV records, JSON data ---

    def __repr__(self) -> str:
        """One line (a plain Python prompt shows this; the dataclass's would list every layer's record):
        ``<Profile googlenet: 6,998,552 params, 1,582,671,872 MACs, 143 layers (analytic, 1x3x224x224, float32)>``."""
        t = self.totals
        mode = "" if self.step is None else ", training step"
        return (f"<Profile {self.name}: {t.params:,} params, {t.macs:,} MACs, {len(self.layers):,} layers "
                f"({self.engine}, {'x'.join(map(str, self.input_shape))}, {self.dtype}{mode})>")

    def heading(self) -> Text:
        """One line naming the network, input, dtype, engine and mode."""
        mode = "training mode (aux heads)" if self.train else "inference"
        if self.decode is not None:
            mode = Text("decoding step after a KV cache of {cache:,} tokens", cache=self.decode)
        if self.training is not None:
            mode = Text("training step ({optimizer}{precision})", optimizer=OPTIMIZERS[self.training.optimizer].title,
                        precision=", mixed precision" if self.training.mixed_precision else "")
        if self.inputs:
            return Text("{name} · inputs {inputs} · {dtype} · {engine} engine · {mode}", name=self.name,
                        inputs=", ".join(self.inputs), dtype=self.dtype, engine=self.engine, mode=mode)
        return Text("{name} · input {shape} · {dtype} · {engine} engine · {mode}", name=self.name,
                    shape=Value(self.input_shape, "shape"), dtype=self.dtype, engine=self.engine, mode=mode)

    def view(self, depth: int | None = 1) -> View:
        """The layer table rolled up to ``depth`` (None: every layer), the totals in words, the conventions."""
        if self.training is not None:
            return self._step_view(depth)
        total = self.totals
        rows = tuple((layer.name, layer.kind, layer.output_shape, layer.params, layer.macs, layer.other_ops,
                      layer.macs / total.macs if total.macs else 0.0) for layer in self.rollup(depth))
        table = Table(self.heading(), PROFILE_COLUMNS, rows,
                      total=("Total", None, None, total.params, total.macs, total.other_ops, 1.0 if total.macs else 0.0))
        return View((table,), summary=self.summary(), legend=conventions.PROFILE)

    def _step_view(self, depth: int | None) -> View:
        """A training step's table: forward and backward MACs, other ops of both, the optimizer's ops and what
        each layer keeps for the backward pass, a layer's share of the step's MACs."""
        step = self.step
        per_parameter = OPTIMIZERS[self.training.optimizer].ops
        total_macs = step.macs
        recomputed = bool(self.training.checkpoint)  # a column of its own, as in JSON (recompute_macs)
        rows = []
        for layer in self.rollup(depth):
            figures = layer.step or StepStats()
            macs = layer.macs + figures.backward.macs + figures.recompute.macs
            rows.append((layer.name, layer.kind, layer.output_shape, layer.params, layer.macs, figures.backward.macs,
                         *((figures.recompute.macs,) if recomputed else ()),
                         layer.other_ops + figures.backward.other_ops + figures.recompute.other_ops,
                         figures.trainable * per_parameter, figures.saved_bytes,
                         macs / total_macs if total_macs else 0.0))
        total = ("Total", None, None, self.totals.params, step.forward.macs, step.backward.macs,
                 *((step.recompute.macs,) if recomputed else ()),
                 step.forward.other_ops + step.backward.other_ops + step.recompute.other_ops,
                 step.optimizer_ops.elementwise_ops, step.saved_activations, 1.0 if total_macs else 0.0)
        columns = STEP_COLUMNS[:6] + (RECOMPUTE_COLUMN,) + STEP_COLUMNS[6:] if recomputed else STEP_COLUMNS
        table = Table(self.heading(), columns, tuple(rows), total=total)
        return View((table,), summary=self.summary(), legend=STEP_LEGEND)

    def step_summary(self) -> tuple[Text, ...]:
        """A training step's totals in words: MACs of each pass, the optimizer's ops, memory by part."""
        step, options = self.step, self.training
        optimizer = OPTIMIZERS[options.optimizer]
        forward, backward, recompute = step.forward.macs, step.backward.macs, step.recompute.macs
        lines = [Text("Training step: forward {forward:,} + backward {backward:,}{recompute} = {macs:,} MACs "
                      "({short}; {ratio} the forward) · FLOPs: {flops:,} ({flops_short})", forward=forward,
                      backward=backward, macs=step.macs, short=Value(step.macs, "short"),
                      recompute=Text(" + recomputed forward {recompute:,}", recompute=recompute) if recompute else "",
                      ratio=Value(step.macs / forward if forward else None, "ratio"), flops=flops(step.macs),
                      flops_short=Value(flops(step.macs), "short")),
                 Text("Backward other ops: {other:,} (bias {bias:,}, norm {norm:,}, activation {activation:,}, "
                      "pool {pool:,}, elementwise {elementwise:,})", other=step.backward.other_ops,
                      bias=step.backward.bias_ops, norm=step.backward.norm_ops,
                      activation=step.backward.activation_ops, pool=step.backward.pool_ops,
                      elementwise=step.backward.elementwise_ops),
                 Text("Optimizer: {title}, {per:,} ops a parameter x {trainable:,} trainable parameters = {ops:,} "
                      "elementwise ops, no MACs ({how})", title=optimizer.title, per=optimizer.ops,
                      trainable=step.trainable, ops=step.optimizer_ops.elementwise_ops, how=optimizer.how)]
        state = ", ".join(optimizer.state) or "none"
        if optimizer.step_counter:
            state += f", {step.trainable_tensors:,} step counters"
        if options.mixed_precision:
            state += ", fp32 master weights"
        lines.append(Text("Memory ({dtype}{mixed}): params {params} + grads {grads} + optimizer state {state} ({what}) "
                          "+ saved activations {saved} + backward transient {transient}{where} = peak {peak}",
                          dtype=self.dtype, mixed=", mixed precision" if options.mixed_precision else "",
                          params=Value(step.params, "bytes"), grads=Value(step.grads, "bytes"),
                          state=Value(step.optimizer_state, "bytes"), what=state,
                          saved=Value(step.saved_activations, "bytes"), transient=Value(step.transient, "bytes"),
                          where=f" ({step.transient_layer})" if step.transient_layer else "",
                          peak=Value(step.peak, "bytes")))
        if options.freeze or options.checkpoint:
            parts = []
            if options.freeze:
                parts.append(f"frozen {', '.join(options.freeze)} ({self.totals.params - step.trainable:,} parameters)")
            if options.checkpoint:
                parts.append(f"checkpointed {', '.join(options.checkpoint)} (their forward runs again in the "
                             "backward pass; they keep their inputs)")
            lines.append(Text("Options: {parts}", parts="; ".join(parts)))
        return tuple(lines)

    def summary(self) -> tuple[Text, ...]:
        """The totals in words: params, MACs and FLOPs, other ops by column, activations, depth, what was not counted."""
        if self.training is not None:
            return self._with_depth(self.step_summary())
        t = self.totals
        lines = [
            Text("Params: {params:,} ({short}; weights {weights:,}, biases {biases:,})", params=t.params,
                 short=Value(t.params, "short"), weights=t.weights, biases=t.biases),
            Text("MACs: {macs:,} ({macs_short}) · FLOPs: {flops:,} ({flops_short})", macs=t.macs,
                 macs_short=Value(t.macs, "short"), flops=t.flops, flops_short=Value(t.flops, "short")),
            Text("Other ops: {other:,} (bias {bias:,}, norm {norm:,}, activation {activation:,}, pool {pool:,}, "
                 "elementwise {elementwise:,})", other=t.other_ops, bias=t.bias_ops, norm=t.norm_ops,
                 activation=t.activation_ops, pool=t.pool_ops, elementwise=t.elementwise_ops),
            Text("Activations: {elements:,} elements, {size} (sum of layer outputs)", elements=t.activation_elements,
                 size=Value(t.activation_bytes, "bytes")),
        ]
        if self.depth is not None:
            lines.append(Text("Depth: {weighted} layers with parameters on the longest path, {pooling} counting pooling",
                              weighted=self.depth.weighted, pooling=self.depth.with_pooling))
        if self.decode is not None:
            lines.append(Text("KV cache read by this step: {tokens:,} tokens x {per_token:,} keys and values = "
                              "{elements:,} elements, {size} at {dtype}", tokens=self.decode,
                              per_token=self.kv_per_token, elements=self.kv_cache_elements,
                              size=Value(self.kv_cache_bytes, "bytes"), dtype=self.dtype))
        if self.unsupported:
            lines.append(Text("NOT COUNTED (unsupported ops): {ops}", ops=self.unsupported_summary()))
        return tuple(lines)

    def _with_depth(self, lines: tuple[Text, ...]) -> tuple[Text, ...]:
        """A training step's lines, headed by the parameters and followed by depth and what was not counted."""
        t = self.totals
        head = [Text("Params: {params:,} ({short}; weights {weights:,}, biases {biases:,}); trainable {trainable:,}",
                     params=t.params, short=Value(t.params, "short"), weights=t.weights, biases=t.biases,
                     trainable=self.step.trainable)]
        tail = []
        if self.depth is not None:
            tail.append(Text("Depth: {weighted} layers with parameters on the longest path, {pooling} counting pooling",
                             weighted=self.depth.weighted, pooling=self.depth.with_pooling))
        if self.unsupported:
            tail.append(Text("NOT COUNTED (unsupported ops): {ops}", ops=self.unsupported_summary()))
        return (*head, *lines, *tail)

    def unsupported_summary(self, *, layers_shown: int = 3) -> Text:
        """``aten::max_pool2d x13 (maxpool1, maxpool2, inception_3a.branch_pool.pool and 10 more)``:
        one entry an op, in order of first appearance (JSON lists every layer)."""
        by_op: dict[str, list[UnsupportedOp]] = {}
        for item in self.unsupported:
            by_op.setdefault(item.op, []).append(item)
        entries, values = [], {}
        for index, (op, items) in enumerate(by_op.items()):
            places = [item.layer or TOP for item in items]
            shown = ", ".join(places[:layers_shown])
            if len(places) > layers_shown:
                shown += f" and {len(places) - layers_shown} more"
            entries.append(f"{{op{index}}} x{{count{index}}} ({{places{index}}})")
            values.update({f"op{index}": op, f"count{index}": sum(item.count for item in items),
                           f"places{index}": shown})
        return Text("; ".join(entries), **values)

    def records(self, depth: int | None = None) -> list[dict[str, Any]]:
        """One flat record a layer (rolled up to ``depth``; None: every layer), as in :meth:`to_dict`."""
        return self.to_dict(depth)["layers"]

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """Plain data: ``{"name", "engine", "input_shape", ..., "totals", "depth", "layers", ...}``."""
        totals = self.totals
        data = {
            "name": self.name,
            "engine": self.engine,
            "input_shape": list(self.input_shape),
            **({"inputs": list(self.inputs)} if self.inputs else {}),
            "dtype": self.dtype,
            "train": self.train,
            "totals": {
                "params": totals.params,
                "weights": totals.weights,
                "biases": totals.biases,
                "macs": totals.macs,
                "flops": totals.flops,
                "other_ops": totals.other_ops,
                **{column: getattr(totals, column) for column in OP_COLUMNS[1:]},
                "activation_elements": totals.activation_elements,
                "activation_bytes": totals.activation_bytes,
                "layers": totals.layers,
            },
            "depth": None
            if self.depth is None
            else {"weighted_layers": self.depth.weighted, "with_pooling": self.depth.with_pooling},
            "unsupported_ops": [
                {"op": item.op, "layer": item.layer, "count": item.count} for item in self.unsupported
            ],
            **({} if self.decode is None else {"decode": {
                "cache_tokens": self.decode, "kv_per_token": self.kv_per_token,
                "kv_cache_elements": self.kv_cache_elements, "kv_cache_bytes": self.kv_cache_bytes}}),
            "layers": [_layer_dict(layer, totals.macs) for layer in self.rollup(depth)],
        }
        return data if self.training is None else self._with_step(data, depth)

    def _with_step(self, data: dict[str, Any], depth: int | None) -> dict[str, Any]:
        """A training step's data: the inference keys (``data``), ``totals.backward_macs``, the ``training``
        object after the totals (options, operations of each pass, memory parts in bytes) and each layer's
        training figures."""
        step = self.step
        per_parameter = OPTIMIZERS[self.training.optimizer].ops
        data["totals"].update(backward_macs=step.backward.macs, backward_other_ops=step.backward.other_ops)
        training = {
            **self.training.to_dict(),
            "optimizer_ops_per_param": per_parameter,
            "optimizer_ops": step.optimizer_ops.elementwise_ops,
            "trainable_params": step.trainable,
            "forward_macs": step.forward.macs,
            "backward_macs": step.backward.macs,
            "recompute_macs": step.recompute.macs,
            "step_macs": step.macs,
            "step_flops": flops(step.macs),
            "backward_ops": {column: getattr(step.backward, column) for column in OP_COLUMNS},
            "recompute_ops": {column: getattr(step.recompute, column) for column in OP_COLUMNS},
            **step.memory(),
            "largest_transient": step.transient_layer,
            "conventions": STEP_JSON,
        }
        ordered: dict[str, Any] = {}
        for key, value in data.items():
            ordered[key] = value
            if key == "totals":
                ordered["training"] = training
        for row, layer in zip(ordered["layers"], self.rollup(depth)):
            figures = layer.step or StepStats()
            row.update({
                "backward_macs": figures.backward.macs,
                "backward_other_ops": figures.backward.other_ops,
                **{f"backward_{column}": getattr(figures.backward, column) for column in OP_COLUMNS[1:]},
                "recompute_macs": figures.recompute.macs,
                "trainable_params": figures.trainable,
                "optimizer_ops": figures.trainable * per_parameter,
                "saved_bytes": figures.saved_bytes,
                "recompute_bytes": figures.recompute_bytes,
                "transient_bytes": figures.transient_bytes,
            })
        return ordered

    def to_dataframe(self, depth: int | None = None):
        """Per-layer figures as a pandas DataFrame (one row a layer, columns as in :meth:`to_dict`)."""
        import pandas as pd

        rows = [_flat_row(row) for row in self.to_dict(depth)["layers"]]
        return pd.DataFrame(rows)


def _layer_dict(layer: LayerStats, total_macs: int) -> dict[str, Any]:
    return {
        "name": layer.name,
        "kind": layer.kind,
        "input_shape": list(layer.input_shape),
        "output_shape": list(layer.output_shape),
        "params": layer.params,
        "weights": layer.weights,
        "biases": layer.biases,
        "macs": layer.macs,
        "flops": layer.flops,
        "other_ops": layer.other_ops,
        **{column: getattr(layer.ops, column) for column in OP_COLUMNS[1:]},
        "activation_elements": layer.activation_elements,
        "activation_bytes": layer.activation_bytes,
        "macs_share": round(layer.macs / total_macs, 6) if total_macs else 0.0,
    }


def _flat_row(row: dict[str, Any]) -> dict[str, Any]:
    flat = dict(row)
    flat["input_shape"] = "x".join(map(str, row["input_shape"]))
    flat["output_shape"] = "x".join(map(str, row["output_shape"]))
    return flat
