"""The one walk over a spec's layers: expand macros, name every layer, infer every shape, record.

The walk dispatches to each layer type (:mod:`archlens.layers.base`); it knows no type itself. Its
results serve three users: :func:`archlens.spec.expand` keeps the expanded tree, the analytic
engine keeps the records, and the builder keeps the input shape of every layer.

Runaway expansion is refused before the work: a spec may expand to at most :data:`MAX_LAYERS`
layers. Each layer type's ``size_hint`` gives a lower bound that is checked before the walk starts
(``repeat: {times: 100000000}`` fails at once); macros whose size depends on their input
(a block's expressions) reserve their size again as they expand.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, NamedTuple, Sequence

from archlens.counting.formulas import OpCount
from archlens.counting.training import segment_of
from archlens.errors import SpecError
from archlens.layers.base import Depth, LayerType, Shape, TokenGrid, with_grid_of

MAX_LAYERS = 100_000
"""The most layers (primitives and containers) a spec may expand to."""
MAX_NESTING = 64
"""The deepest containers may nest (a block inside a block inside a repeat ... counts each level)."""


class Record(NamedTuple):
    """A record as the walk makes it (the analytic engine makes :class:`~archlens.counting.records.LayerStats`,
    with the same fields)."""

    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    weights: int
    biases: int
    ops: OpCount
    activation_elements: int
    activation_bytes: int


class Repeated(NamedTuple):
    """In a walker's records (or groups): the items ``[start, stop)`` (the copy ``source``'s) again, for
    each name of ``copies``, their names under ``source`` moved under the copy's. ``copies`` grows while
    the walk finds more copies (:class:`archlens.counting.repeats.RecordList` reads them)."""

    source: str
    start: int
    stop: int
    copies: list[str]


class Walker:
    """Walks layers with their input shapes. ``records`` are what each layer computes, in execution
    order (:class:`Record`); ``groups`` are ``[name, kind, output_shape]``; ``inputs`` maps every
    layer's qualified name to its input shape."""

    __slots__ = ("train", "params", "blocks", "records", "groups", "inputs", "side_depths", "layers", "limit",
                 "block_chain", "silent", "nesting", "final_depth", "trusted", "record_type", "element_bytes",
                 "keep_inputs", "vocab", "cache", "rotary", "kv_per_token", "repeats", "step")

    def __init__(self, *, train: bool = False, params: dict[str, Any] | None = None,
                 blocks: dict[str, Any] | None = None, limit: int = MAX_LAYERS, record_type: Any = None,
                 element_bytes: int = 4, keep_inputs: bool = True, vocab: int | None = None, cache: int = 0,
                 repeats: bool | None = None, step: Any = None):
        self.train = train
        self.params = params or {}
        self.blocks = blocks or {}
        self.records: list[tuple] = []
        self.groups: list[tuple[str, str]] = []
        self.inputs: dict[str, Shape] = {}
        self.side_depths: list[Depth] = []
        self.layers = 0
        self.limit = limit
        self.block_chain: list[str] = []
        self.silent = 0
        self.nesting = 0
        self.final_depth: Depth = (0, 0)
        self.trusted = False  # walking an expansion made before: names unique, no macros left
        # each record: record_type(name, kind, input_shape, output_shape, weights, biases, ops,
        # output elements, output bytes) (the analytic engine's LayerStats; a Record by default)
        self.record_type = record_type or Record
        self.element_bytes = element_bytes
        self.keep_inputs = keep_inputs  # every layer's input shape, for the builder
        self.vocab = vocab  # the vocabulary of the network's token-id input (an embedding's default)
        # a decoding step: the tokens already in the key-value cache (0: a full forward pass)
        self.cache = cache
        self.rotary: int | None = None  # the dimension of the rotary tables a rotary_embedding made
        self.kv_per_token = 0  # the keys and values the attention layers keep of a token (the batch's)
        # a block the same as the one before, on the same input, is not walked again: its records are
        # noted as the first copy's, repeated (archlens.counting.repeats). Not for the builder, which
        # needs every layer's input shape.
        self.repeats = (not keep_inputs) if repeats is None else repeats
        # a training step (archlens.layers.gradients.StepWalk): the values autograd sees, what each record
        # saves and computes in the backward pass; None at inference
        self.step = step

    # --- what layer types call ---

    def record(self, name: str, kind: str, input_shape: Shape, output_shape: Shape, ops: OpCount,
               weights: int = 0, biases: int = 0, *, backward: Any = None, reads: Any = None,
               tensors: int | None = None) -> None:
        """One record: a module's (or a container's own) computation.

        In a training step (``step``): ``backward`` is the record's rule (:mod:`archlens.layers.gradients`;
        default: its kind's), ``reads`` the values it reads (default: the current one), ``tensors`` its
        parameter tensors (default: one for its weights, one for its biases)."""
        if not self.silent:
            elements = 1
            for size in output_shape:
                elements *= size
            if self.step is None:
                self.records.append(self.record_type(name, kind, input_shape, output_shape, weights, biases, ops,
                                                     elements, elements * self.element_bytes))
            else:
                stats = self.step.record(name, kind, input_shape, output_shape, ops, weights, biases, backward,
                                         reads, tensors)
                self.records.append(self.record_type(name, kind, input_shape, output_shape, weights, biases, ops,
                                                     elements, elements * self.element_bytes, stats))

    def group(self, name: str, kind: str) -> int:
        """A named group of records (a block, a branch, a conv with its BatchNorm and activation); returns
        its position, for :meth:`regroup` (a container whose kind is known only after its children)."""
        if self.silent:
            return -1
        self.groups.append([name, kind, None])
        return len(self.groups) - 1

    def regroup(self, index: int, kind: str) -> None:
        """Change the kind of the group at ``index`` (from :meth:`group`)."""
        if index >= 0:
            self.groups[index][1] = kind

    def group_output(self, index: int, shape: Shape) -> None:
        """What the group at ``index`` returns (the walk sets it for every layer that opens a group)."""
        if index >= 0 and self.groups[index][2] is None:
            self.groups[index][2] = shape

    def marks(self) -> tuple[int, int]:
        """Where the next record and the next group will go (for :meth:`move_before`)."""
        return len(self.records), len(self.groups)

    def move_before(self, start: tuple[int, int], moved: tuple[int, int]) -> None:
        """Move the records and groups made since ``moved`` (a :meth:`marks`) to ``start`` (an earlier
        one): a part walked after another but run before it (a residual's ``shortcut_first``). The groups
        between are closed, so no position handed out by :meth:`group` is still in use."""
        for items, begin, middle in ((self.records, start[0], moved[0]), (self.groups, start[1], moved[1])):
            end = len(items)
            items[begin:] = items[middle:] + items[begin:middle]
            for index in range(begin, end):  # repeated blocks' notes point into their own part: it moved
                item = items[index]
                if item.__class__ is Repeated:
                    offset = (end - middle) if item.start < middle else -(middle - begin)
                    items[index] = item._replace(start=item.start + offset, stop=item.stop + offset)

    @contextmanager
    def silenced(self):
        """Walk without recording (an aux head at inference: expanded and checked, not counted)."""
        self.silent += 1
        try:
            yield
        finally:
            self.silent -= 1

    def reserve(self, count: int, where: str) -> None:
        """Refuse, before doing it, an expansion that would pass the layer limit."""
        if self.layers + count > self.limit:
            raise SpecError(
                f"expands to more than {self.limit:,} layers (the limit for a spec)", where=where,
                hint="lower the count (times, convs); a spec describes a network's structure, a few thousand layers at most")

    def walk(self, layers: Sequence[LayerType], prefix: str, shape: Shape, depth: Depth, where: str
             ) -> tuple[list[LayerType], Shape, Depth]:
        """Walk ``layers`` in order from ``shape``; ``where`` is their field path (``layers``)."""
        if self.trusted:
            return self._walk_expanded(layers, prefix, shape, depth, where)
        walked: list[LayerType] = []
        seen: dict[str, int] = {}
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise SpecError(f"layers nest deeper than {MAX_NESTING} levels", where=where)
        last = run = None  # the sibling before, and the run of copies of it (not walked again)
        for index, layer in enumerate(layers):
            name = layer.name or f"{layer.type}_{index}"
            if name in seen:
                raise SpecError(
                    f"layer name {name!r} is used twice in the same list (also at [{seen[name]}])",
                    where=f"{where}[{index}]", hint="give each layer a unique name among its siblings")
            seen[name] = index
            qualified = f"{prefix}.{name}" if prefix else name
            at = f"{where}[{index}].{layer.key}"
            self.layers += 1
            if self.layers > self.limit:
                self.reserve(1, at)
            original = layer
            if last is not None and layer.__class__ is last[0].__class__:
                if run is None:
                    run = _Run.after(self, *last)
                if run is not None and run.repeats(self, layer, shape, qualified):
                    copy = run.walked.model_copy(update={"name": name})  # its expansion, shared
                    if self.repeats:
                        shape, depth = run.again(self, qualified, depth)
                        walked.append(copy)
                        continue
                    layer = copy  # walked again (the builder needs every input), not expanded again
            expansions = 0
            while layer.macro:
                expansions += 1
                if expansions > MAX_NESTING:
                    raise SpecError("expands into itself", where=at)
                layer = layer.expand(self, qualified, shape, at)
            self.inputs[qualified] = shape
            mark = len(self.groups)
            before, depth_before, first = shape, depth, len(self.records)
            rotary, kv = self.rotary, self.kv_per_token
            state = self._step_state(qualified)
            layer, shape, depth = layer.forward(self, qualified, shape, depth, at)
            if before.__class__ is TokenGrid and shape.__class__ is tuple:  # tokens keep their grid
                shape = with_grid_of(before, shape)
            if len(self.groups) > mark and self.groups[mark][0] == qualified:
                self.group_output(mark, shape)
            if layer.name != name:
                layer = layer.model_copy(update={"name": name})
            walked.append(layer)
            last, run = (original, layer, qualified, before, shape, depth_before, depth, first, mark, rotary, kv,
                         state), None
        self.nesting -= 1
        return walked, shape, depth

    def _step_state(self, qualified: str) -> tuple | None:
        """A training step's state before layer ``qualified`` (what its repeats must find as it did), the
        layer entered (a checkpointed block keeps its input); None outside a training step."""
        step = self.step
        if step is None:
            return None
        state = step.state()
        if step.options.checkpoint:
            step.enter(qualified)
        return state

    def _walk_expanded(self, layers: Sequence[LayerType], prefix: str, shape: Shape, depth: Depth, where: str
                       ) -> tuple[Sequence[LayerType], Shape, Depth]:
        """The walk of layers expanded before (the hot path of a repeated profile): every layer has its
        unique name and no macro is left, so only shapes are inferred and records made."""
        groups, inputs = self.groups, self.inputs if self.keep_inputs else None
        repeats, last, run = self.repeats, None, None
        for layer in layers:
            qualified = f"{prefix}.{layer.name}" if prefix else layer.name
            if last is not None and layer.__class__ is last[0].__class__:
                if run is None:
                    run = _Run.after(self, *last)
                if run is not None and run.repeats(self, layer, shape, qualified):
                    shape, depth = run.again(self, qualified, depth)
                    continue
            if inputs is not None:
                inputs[qualified] = shape
            mark = len(groups)
            before, depth_before, first = shape, depth, len(self.records)
            rotary, kv = self.rotary, self.kv_per_token
            state = self._step_state(qualified)
            if layer.leaf:
                shape = layer.infer(self, qualified, shape)
                step = layer.depth_step
                if step[1]:
                    depth = (depth[0] + step[0], depth[1] + step[1])
            else:
                _, shape, depth = layer.forward(self, qualified, shape, depth, where)
            if before.__class__ is TokenGrid and shape.__class__ is tuple:
                shape = with_grid_of(before, shape)
            if len(groups) > mark and groups[mark][0] == qualified and groups[mark][2] is None:
                groups[mark][2] = shape
            if repeats:
                last, run = (layer, layer, qualified, before, shape, depth_before, depth, first, mark, rotary, kv,
                             state), None
        return layers, shape, depth


class _Run:
    """A layer just walked whose next siblings may repeat it: the same layer but for its name, on the
    same input (its output is its input), leaving the walk's state as it found it. Its copies add the
    same records and groups: :meth:`again` notes them as :class:`~archlens.counting.repeats.Repeated`
    instead of walking them."""

    __slots__ = ("original", "walked", "qualified", "shape", "delta", "records", "groups", "state", "kv",
                 "notes", "step_state", "names")

    @classmethod
    def after(cls, walker: Walker, original: LayerType, walked: LayerType, qualified: str, before: Shape,
              after: Shape, depth_before: Depth, depth_after: Depth, records: int, groups: int, rotary: int | None,
              kv: int, step_state: Any = None) -> "_Run | None":
        """The run of the sibling just walked (the walk's state before it: ``records``, ``groups`` and the
        rotary tables and cache it saw, and a training step's value), or None when its copies could not
        repeat it."""
        if before != after or getattr(before, "grid", None) != getattr(after, "grid", None):
            return None
        if walker.rotary != rotary or walker.silent:
            return None
        if walker.step is not None and walker.step.state() != step_state:
            return None  # a copy would not start where the first did (a gradient first needed inside it)
        run = cls()
        run.step_state, run.names = step_state, None
        run.original, run.walked, run.qualified, run.shape = original, walked, qualified, before
        run.delta = (depth_after[0] - depth_before[0], depth_after[1] - depth_before[1])
        run.records = (records, len(walker.records))
        run.groups = (groups, len(walker.groups))
        run.kv = walker.kv_per_token - kv
        run.notes = None
        return run

    def repeats(self, walker: Walker, layer: LayerType, shape: Shape, qualified: str) -> bool:
        if walker.step is not None and not self._steps_alike(walker, qualified):
            return False
        original = self.original
        if layer.__class__ is not original.__class__ or shape != self.shape:
            return False
        if getattr(shape, "grid", None) != getattr(self.shape, "grid", None):
            return False
        theirs = original.__dict__
        for key, value in layer.__dict__.items():
            if key != "name":
                other = theirs[key]
                if value is not other and value != other:
                    return False
        return True

    def again(self, walker: Walker, qualified: str, depth: Depth) -> tuple[Shape, Depth]:
        """One more copy: its records and groups noted as this run's, repeated; its shape and depth."""
        if self.notes is None:
            self.notes = []
            for items, (start, stop) in ((walker.records, self.records), (walker.groups, self.groups)):
                if stop > start:
                    note = Repeated(self.qualified, start, stop, [])
                    items.append(note)
                    self.notes.append(note)
        for note in self.notes:
            note.copies.append(qualified)
        walker.kv_per_token += self.kv
        if walker.step is not None:
            walker.step.after_copies()
        return self.shape, (depth[0] + self.delta[0], depth[1] + self.delta[1])

    def _steps_alike(self, walker: Walker, qualified: str) -> bool:
        """A training step's copy repeats the first only if it starts in the same state and the freeze and
        checkpoint patterns treat its layers as the first's."""
        step = walker.step
        if step.state() != self.step_state:
            return False
        if not (step.options.freeze or step.options.checkpoint):
            return True
        if step.options.checkpoint and segment_of(self.qualified, step.options.checkpoint) not in (None, self.qualified):
            return False  # inside a larger checkpointed block the first may hold that block's kept input: walk each
        if self.names is None:
            names: list[str] = []
            for items, (start, stop) in ((walker.records, self.records), (walker.groups, self.groups)):
                names.extend(_names(items, start, stop, lambda name: name))
            self.names = names
        return step.names_alike(self.qualified, qualified, self.names)


def _names(items: list, start: int, stop: int, rename) -> list[str]:
    """The names of the items ``[start, stop)`` of a walker's records or groups, repeated blocks' copies
    included (renamed by ``rename``)."""
    names = []
    for item in items[start:stop]:
        if item.__class__ is Repeated:
            source = rename(item.source)
            for copy in item.copies:
                target = rename(copy)

                def moved(name, source=source, target=target):
                    return target + rename(name)[len(source):]

                names.extend(_names(items, item.start, item.stop, moved))
        else:
            names.append(rename(item.name if isinstance(item, tuple) and hasattr(item, "name") else item[0]))
    return names


def size_hint(layers: Sequence[LayerType]) -> int:
    """A lower bound of the layers ``layers`` expand to."""
    return sum(layer.size_hint() for layer in layers)


def iter_layers(layers: Sequence[LayerType], prefix: str = "", *, into_aux: bool = True):
    """Every layer of a (walked) tree with its qualified name, parents before children.

    >>> from archlens.spec import expand, load_spec
    >>> [name for name, _ in iter_layers(expand(load_spec("vgg11")).layers)][:3]
    ['stage1', 'stage1.conv1', 'stage1.pool']
    """
    for layer in layers:
        if not into_aux and layer.type == "aux":
            continue
        name = f"{prefix}.{layer.name}" if prefix else layer.name
        yield name, layer
        for child_prefix, children in layer.children():
            yield from iter_layers(children, f"{name}.{child_prefix}" if child_prefix else name, into_aux=into_aux)
