"""The backward pass in the walk: which tensors need gradients, what autograd keeps, what it computes.

A training step's walk (:class:`StepWalk`, the walker's ``step``) follows the values the layers pass
on, as autograd sees them: each :class:`Value` knows whether it needs a gradient, which records read
it (with how many autograd edges), and its :class:`Storage` (a view or an in-place op's result shares
its input's; a storage is kept for the backward pass once, however many ops save it). Each record
says how it takes part (:class:`Effects`): its backward ops given which gradients are needed, which
of its inputs and outputs it saves, new tensors it keeps (max pooling's indices, a dropout mask,
BatchNorm's statistics), and whether its output is a view of its input. Primitives get their rule
from their record kind (:data:`RULES`, from :mod:`archlens.counting.formulas`); a layer type whose
records differ passes its own.

The rules that make the count exact: a value needs a gradient when a record with trainable
parameters made it, or a record made it from a value that needs one (the network's input needs
none); a record whose output needs no gradient takes no part in the backward pass (nothing saved,
nothing computed); the weight gradient is computed only for trainable parameters (not frozen), the
input gradient only when the input needs one. A value read by several autograd edges gets their
gradients added (:func:`~archlens.counting.formulas.accumulation`), counted in the record of the
innermost block holding every reader (the common prefix of their names), or, where that block has no
record of its own, with the reader that comes first.

The walk assigns saved storages and accumulations after the records are made (:meth:`StepWalk.finish`),
in record order (a residual's shortcut that runs first is listed first): the first record to save a
storage keeps it. A checkpointed block (``checkpoint`` patterns) keeps its input with its first record;
its records' saves count as ``recompute_bytes`` (alive only while the block runs again), their forward
ops as ``recompute``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from archlens.counting import formulas as F
from archlens.counting.training import StepStats, TrainingStep, matches, segment_of, transient_bytes
from archlens.layers.walk import Repeated

Shape = tuple[int, ...]

STATISTICS_BYTES = {1: 4, 2: 4, 4: 4, 8: 8}
"""The bytes of a normalization's saved mean and inverse deviation for each activation element size
(float16 and bfloat16 keep them in float32)."""
INDEX_BYTES = 8
"""Max pooling's indices (int64), token ids (int64)."""


class Storage:
    """Memory a tensor lives in: its bytes, and whether some record asked to keep it (at walk time)."""

    __slots__ = ("nbytes", "kept", "keeper")

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        self.kept = False
        self.keeper: str | None = None  # the record that first asked (at walk time)


class Value:
    """A tensor as autograd sees it: its storage, whether it needs a gradient, its elements and readers
    (``[record name, autograd edges]``)."""

    __slots__ = ("storage", "grad", "elements", "readers", "contiguous")

    def __init__(self, storage: Storage, grad: bool, elements: int, contiguous: bool = True):
        self.storage = storage
        self.grad = grad
        self.elements = elements
        self.readers: list[list] = []
        self.contiguous = contiguous  # False: a transposed view (tokens from a map), or made from one elementwise

    def view(self, elements: int | None = None) -> "Value":
        """A view of this value (or an in-place op's result): the same storage, a new autograd output."""
        return Value(self.storage, self.grad, self.elements if elements is None else elements, self.contiguous)


class Record(NamedTuple):
    """What a rule sees of a record: its name, kind, shapes, forward ops and parameters, and whether its
    input is contiguous in memory."""

    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    ops: F.OpCount
    weights: int
    biases: int
    element_bytes: int
    contiguous: bool = True


class Effects(NamedTuple):
    """How a record takes part in the backward pass (given which gradients are needed).

    ``ops``: its backward ops; ``saves``: the reads whose storages it keeps (indices into its reads);
    ``saves_output``: it keeps its output; ``extra``: bytes of new tensors it keeps; ``alias``: its
    output shares the storage of that read (a view, an in-place op); ``edges``: autograd edges into each
    read (default one each; 0: the op does not read it); ``passthrough``: no op at all, the output is the
    input itself (an identity, dropout with p = 0); ``output_elements``: the size of what the op makes,
    where the record's output shape is its block's (a gated MLP's product)."""

    ops: F.OpCount = F.ZERO
    saves: tuple[int, ...] = ()
    saves_output: bool = False
    extra: int = 0
    alias: int | None = None
    edges: tuple[int, ...] | None = None
    passthrough: bool = False
    output_elements: int | None = None


class Grads(NamedTuple):
    """Which gradients a record's backward computes: of each read (``inputs``) and of its parameters."""

    inputs: tuple[bool, ...]
    weight: bool

    @property
    def input(self) -> bool:
        return self.inputs[0] if self.inputs else False


Rule = Callable[[Record, Grads], Effects]


# --- the default rules, by record kind ------------------------------------------------------------------


def _numel(shape: Shape) -> int:
    elements = 1
    for size in shape:
        elements *= size
    return elements


def conv_rule(record: Record, grads: Grads) -> Effects:
    """A convolution keeps its input (and its weight) whatever is needed; its backward: the input's and
    the weight's gradients, the bias's sum."""
    ops = F.conv_backward(record.ops, _numel(record.output_shape), input_grad=grads.input, weight_grad=grads.weight,
                          bias_grad=grads.weight and record.biases > 0)
    return Effects(ops, saves=(0,))


def linear_rule(record: Record, grads: Grads) -> Effects:
    """A linear layer keeps its input only for its weight's gradient (the weight for the input's). An input
    of three or more dimensions that is not contiguous (tokens from a map) cannot be flattened to the
    matrix product's rows as a view: the layer keeps the copy it makes."""
    weight_shape = (record.output_shape[-1], record.input_shape[-1])
    ops = F.linear_backward(record.input_shape, weight_shape, input_grad=grads.input, weight_grad=grads.weight,
                            bias_grad=grads.weight and record.biases > 0)
    if not grads.weight:
        return Effects(ops)
    if not record.contiguous and len(record.input_shape) > 2:
        return Effects(ops, extra=_numel(record.input_shape) * record.element_bytes)
    return Effects(ops, saves=(0,))


def batch_norm_rule(record: Record, grads: Grads) -> Effects:
    """BatchNorm in training keeps its input and the batch's mean and inverse deviation per channel."""
    channels = record.input_shape[1]
    return Effects(F.batch_norm_backward(_numel(record.input_shape), input_grad=grads.input), saves=(0,),
                   extra=2 * channels * STATISTICS_BYTES[record.element_bytes])


def layer_norm_rule(record: Record, grads: Grads) -> Effects:
    """LayerNorm keeps its input and a mean and inverse deviation per normalized row."""
    shape = record.input_shape
    rows = _numel(shape) // (shape[1] if len(shape) == 4 else shape[-1])
    ops = F.layer_norm_backward(_numel(shape), input_grad=grads.input, weight=record.weights > 0,
                                weight_grad=grads.weight and record.weights > 0,
                                bias_grad=grads.weight and record.biases > 0)
    return Effects(ops, saves=(0,), extra=2 * rows * STATISTICS_BYTES[record.element_bytes])


def activation_rule(saves: str, alias: bool = False) -> Rule:
    """An activation's rule: it keeps its ``input``, its ``output`` or a ``copy`` of its input (an in-place
    op whose backward needs the input it overwrites); ``alias``: it runs in place."""

    def rule(record: Record, grads: Grads) -> Effects:
        elements = _numel(record.output_shape)
        ops = F.activation_backward(record.kind, elements)
        if saves == "input":
            return Effects(ops, saves=(0,), alias=0 if alias else None)
        if saves == "output":
            return Effects(ops, saves_output=True, alias=0 if alias else None)
        return Effects(ops, extra=elements * record.element_bytes, alias=0 if alias else None)

    return rule


def max_pool_rule(record: Record, grads: Grads) -> Effects:
    """Max pooling keeps its input and the position of each maximum (int64)."""
    elements = _numel(record.output_shape)
    return Effects(F.max_pool_backward(elements), saves=(0,), extra=elements * INDEX_BYTES)


def avg_pool_rule(record: Record, grads: Grads) -> Effects:
    """Average pooling keeps its input; its backward spreads each output's gradient over its window."""
    return Effects(record.ops, saves=(0,))


def adaptive_avg_pool_rule(record: Record, grads: Grads) -> Effects:
    """Adaptive average pooling to 1x1 is a mean (nothing kept; its backward divides the gradient spread
    over the input: 1 per input element); to a larger size it keeps its input (windows as its forward)."""
    if record.output_shape[2:] == (1, 1):
        return Effects(F.elementwise(record.input_shape))
    return Effects(record.ops, saves=(0,))


def view_rule(record: Record, grads: Grads) -> Effects:
    """A view (flatten, tokens from a map): nothing kept, nothing computed, the input's storage."""
    return Effects(alias=0)


def copy_rule(record: Record, grads: Grads) -> Effects:
    """A copy (a shuffle, tokens back to a map): nothing kept, nothing computed, a new storage."""
    return Effects()


def passthrough_rule(record: Record, grads: Grads) -> Effects:
    """No op: the output is the input itself."""
    return Effects(passthrough=True)


def scale_rule(record: Record, grads: Grads) -> Effects:
    """``x * w`` with a learned ``w`` broadcast over ``x`` (layer scale): keeps ``x`` for ``w``'s gradient
    (``g x`` summed over the broadcast dimensions), ``g w`` for ``x``'s."""
    elements = _numel(record.output_shape)
    ops = F.ZERO
    if grads.weight:
        ops = ops + F.OpCount(elementwise_ops=elements, pool_ops=elements)
    if grads.input:
        ops = ops + F.OpCount(elementwise_ops=elements)
    return Effects(ops, saves=(0,) if grads.weight else ())


RULES: dict[str, Rule] = {
    "conv": conv_rule,
    "conv_transpose": conv_rule,
    "linear": linear_rule,
    "batchnorm": batch_norm_rule,
    "layer_norm": layer_norm_rule,
    "relu": activation_rule("output", alias=True),       # in place (nn.ReLU(inplace=True)): keeps its result
    "relu6": activation_rule("copy", alias=True),        # hardtanh_ keeps a copy of the input it overwrites
    "leaky_relu": activation_rule("output", alias=True),
    "silu": activation_rule("copy", alias=True),         # silu_ keeps a copy of its input
    "hardswish": activation_rule("copy", alias=True),
    "gelu": activation_rule("input"),
    "gelu_tanh": activation_rule("input"),
    "hardsigmoid": activation_rule("input"),
    "sigmoid": activation_rule("output"),
    "tanh": activation_rule("output"),
    "softmax": activation_rule("output"),
    "maxpool": max_pool_rule,
    "adaptive_maxpool": max_pool_rule,
    "avgpool": avg_pool_rule,
    "adaptive_avgpool": adaptive_avg_pool_rule,
    "flatten": view_rule,
    "to_tokens": view_rule,
    "identity": passthrough_rule,
    "channel_shuffle": copy_rule,
    "to_image": copy_rule,
    "layer_scale": scale_rule,
}
"""The rule of each record kind (a layer type passes its own where its records differ)."""

TRANSPOSING = frozenset({"to_tokens"})
"""Record kinds whose output is a transposed view of their input (not contiguous)."""
STRIDE_KEEPING = frozenset({"relu", "relu6", "leaky_relu", "silu", "hardswish", "gelu", "gelu_tanh", "hardsigmoid",
                            "sigmoid", "tanh", "dropout", "layer_scale"})
"""Record kinds computed element by element, whose output has their input's layout (PyTorch's
``TensorIterator`` keeps the strides of a transposed input)."""


def residual_add(scale: bool = False) -> Rule:
    """A residual's add, reading ``(input, main path's output, shortcut's output)`` (the input only for its
    gradient flag): nothing kept; the backward passes the gradient on (``scale``: the main path multiplied
    by a number first, a multiply an element when it needs a gradient)."""

    def rule(record: Record, grads: Grads) -> Effects:
        ops = F.elementwise(record.output_shape) if scale and grads.inputs[1] else F.ZERO
        return Effects(ops, edges=(0, 1, 1))

    return rule


def concat_rule(record: Record, grads: Grads) -> Effects:
    """A concatenation: nothing kept; its backward slices the gradient (views, free)."""
    return Effects()


# --- the walk's state --------------------------------------------------------------------------------


class StepWalk:
    """The values a training step's walk follows, and what each record adds to the step."""

    def __init__(self, options: TrainingStep, element_bytes: int, input_shape: Shape, ids: bool):
        self.options = options
        self.element_bytes = element_bytes
        elements = _numel(input_shape)
        self.value = Value(Storage(elements * (INDEX_BYTES if ids else element_bytes)), False, elements)
        self.requests: dict[str, list[Storage]] = {}
        self.extras: dict[str, int] = {}
        self.values: list[Value] = []
        self.segments: dict[str, Storage] = {}
        self.preseen: dict[int, str | None] = {}  # storages the copies of a repeated block kept (their scope)
        self.tables: tuple[Value, ...] = ()  # rotary embedding's cosine and sine tables
        self.alive: list[Storage] = []

    # --- what the walk and the layer types call ---

    def record(self, name: str, kind: str, input_shape: Shape, output_shape: Shape, ops: F.OpCount, weights: int,
               biases: int, rule: Rule | None, reads: Sequence[Value] | None, tensors: int | None) -> StepStats:
        """A record's part in the step; the value it makes becomes the current one."""
        reads = (self.value,) if reads is None else tuple(reads)
        params = weights + biases
        trainable = params > 0 and not self.options.frozen(name)
        info = Record(name, kind, input_shape, output_shape, ops, weights, biases, self.element_bytes,
                      reads[0].contiguous if reads else True)
        grads = Grads(tuple(value.grad for value in reads), trainable)
        rule = rule or RULES.get(kind) or copy_rule
        output_grad = trainable or any(grads.inputs)
        effects = rule(info, grads)
        if effects.passthrough:
            self.value = reads[0]
            return StepStats()
        elements = _numel(output_shape) if effects.output_elements is None else effects.output_elements
        if kind in TRANSPOSING:
            contiguous = False
        elif effects.alias is not None or kind in STRIDE_KEEPING:
            contiguous = reads[effects.alias or 0].contiguous
        else:
            contiguous = True
        if effects.alias is not None:
            out = Value(reads[effects.alias].storage, output_grad, elements, contiguous)
        else:
            out = Value(Storage(elements * self.element_bytes), output_grad, elements, contiguous)
        self.value = out
        count = (1 if trainable and weights else 0) + (1 if trainable and biases else 0) if tensors is None else tensors
        trained, tensors_trained = (params, count) if trainable else (0, 0)
        if not output_grad:
            return StepStats(trainable=trained, trainable_tensors=tensors_trained)
        for index, value in enumerate(reads):
            edges = 1 if effects.edges is None else effects.edges[index]
            if value.grad and edges:
                if not value.readers:
                    self.values.append(value)
                value.readers.append([name, edges])
        kept = [reads[index].storage for index in effects.saves]
        if effects.saves_output:
            kept.append(out.storage)
        for storage in kept:
            if not storage.kept:
                storage.kept, storage.keeper = True, name
        if kept:
            self.requests[name] = kept
        if effects.extra:
            self.extras[name] = effects.extra
        recompute = ops if self.options.checkpoint and segment_of(name, self.options.checkpoint) else F.ZERO
        return StepStats(effects.ops, recompute, 0, 0,
                         transient_bytes(input_shape, output_shape, grads.inputs[0] if reads else False, True,
                                         self.element_bytes), trained, tensors_trained)

    def enter(self, qualified: str) -> None:
        """The walk enters layer ``qualified``: a checkpointed block keeps its input."""
        if segment_of(qualified, self.options.checkpoint) == qualified and qualified not in self.segments:
            self.segments[qualified] = self.value.storage
            self.value.storage.kept = True

    def state(self) -> tuple:
        """What a repeated block's copies must find as the first did (the walk compares it)."""
        value = self.value  # a view of a larger tensor (a split's part) keeps all of it when saved
        return (value.grad, value.storage.kept, value.storage.nbytes, value.contiguous,
                *(table.storage.kept for table in self.tables))

    def read(self, name: str, value: Value, edges: int = 1) -> None:
        """Record ``name`` reads ``value`` beyond its reads (its own ops read what a child layer made)."""
        if value.grad and edges:
            if not value.readers:
                self.values.append(value)
            value.readers.append([name, edges])

    def new_values(self, count: int, elements: int, grad: bool = False) -> tuple[Value, ...]:
        """``count`` new tensors of ``elements`` each (their own storages)."""
        return tuple(Value(Storage(elements * self.element_bytes), grad, elements) for _ in range(count))

    def after_copies(self) -> None:
        """The copies of a repeated block were noted, not walked: their last output, a fresh value like
        the first copy's (its readers are the layers after them)."""
        value = self.value
        storage = Storage(value.storage.nbytes)
        storage.kept, storage.keeper = value.storage.kept, value.storage.keeper
        if storage.kept:  # the last copy kept it as the first kept the first copy's: seen before the next reader
            self.preseen[id(storage)] = segment_of(storage.keeper, self.options.checkpoint) \
                if self.options.checkpoint else None
            self.alive.append(storage)
        self.value = Value(storage, value.grad, value.elements)

    def names_alike(self, source: str, copy: str, names: Sequence[str]) -> bool:
        """Whether the freeze and checkpoint patterns treat the copy ``copy`` of ``source`` as they treat
        ``source`` (``names``: the records and groups under it, copies of inner repeats included)."""
        freeze, checkpoint = self.options.freeze, self.options.checkpoint
        if not freeze and not checkpoint:
            return True
        cut = len(source)
        for name in (source, *names):
            other = copy + name[cut:]
            if freeze and matches(name, freeze) != matches(other, freeze):
                return False
            if checkpoint:
                mine, theirs = segment_of(name, checkpoint), segment_of(other, checkpoint)
                if mine is None or theirs is None:
                    if (mine is None) != (theirs is None):
                        return False
                    continue
                inside = mine.startswith(source) and (len(mine) == cut or mine[cut] == ".")
                if theirs != (copy + mine[cut:] if inside else mine):
                    return False
        return True

    # --- after the walk ---

    def finish(self, items: list) -> None:
        """Saved storages (the first record to save one keeps it) and summed gradients, in record order;
        the records of ``items`` (a walker's list, notes of repeated blocks included) are updated."""
        positions = {}
        for index, item in enumerate(items):
            if item.__class__ is not Repeated:
                positions[item.name] = index
        saved: dict[int, int] = {}
        recomputed: dict[int, int] = {}
        seen: set[int] = {key for key, scope in self.preseen.items() if scope is None}
        segment = None
        segment_seen: set[int] = set()
        patterns = self.options.checkpoint
        for index, item in enumerate(items):
            if item.__class__ is Repeated:
                continue
            name = item.name
            if patterns:
                current = segment_of(name, patterns)
                if current != segment:
                    segment = current
                    segment_seen = {key for key, scope in self.preseen.items() if scope == current and current}
                    held = self.segments.get(current) if current is not None else None
                    if held is not None and id(held) not in seen:
                        seen.add(id(held))
                        saved[index] = saved.get(index, 0) + held.nbytes
            for storage in self.requests.get(name, ()):
                key = id(storage)
                if key in seen:
                    continue
                if segment is not None:
                    if key not in segment_seen:
                        segment_seen.add(key)
                        recomputed[index] = recomputed.get(index, 0) + storage.nbytes
                else:
                    seen.add(key)
                    saved[index] = saved.get(index, 0) + storage.nbytes
            extra = self.extras.get(name)
            if extra:
                if segment is not None:
                    recomputed[index] = recomputed.get(index, 0) + extra
                else:
                    saved[index] = saved.get(index, 0) + extra
        summed: dict[int, F.OpCount] = {}
        for value in self.values:
            edges = sum(reader[1] for reader in value.readers)
            if edges < 2:
                continue
            index = self._holder(value.readers, positions)
            if index is not None:
                summed[index] = summed.get(index, F.ZERO) + F.accumulation(value.elements, edges)
        for index in set(saved) | set(recomputed) | set(summed):
            record = items[index]
            step = record.step
            step = step._replace(saved_bytes=step.saved_bytes + saved.get(index, 0),
                                 recompute_bytes=step.recompute_bytes + recomputed.get(index, 0),
                                 backward=step.backward + summed.get(index, F.ZERO))
            items[index] = record._replace(step=step)

    @staticmethod
    def _holder(readers: list[list], positions: dict[str, int]) -> int | None:
        """The record of the innermost block holding every reader, else the first reader's."""
        parts = [reader[0].split(".") for reader in readers]
        common: list[str] = []
        for level in zip(*parts):
            if len(set(level)) != 1:
                break
            common.append(level[0])
        found = positions.get(".".join(common))
        if found is not None:
            return found
        known = [positions[reader[0]] for reader in readers if reader[0] in positions]
        return min(known) if known else None


def input_value_of(walker: Any) -> Value | None:
    """The value a training step's walk is at (None outside a training step)."""
    step = walker.step
    return None if step is None else step.value


__all__ = ["Effects", "Grads", "RULES", "Record", "Rule", "StepWalk", "Storage", "Value", "concat_rule",
           "input_value_of", "residual_add"]
