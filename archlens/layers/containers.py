"""Grouping layers: ``sequence``, ``parallel`` (branches concatenated), ``split`` (channels split
between branches, concatenated) and ``aux`` (a side output used only in training)."""

from __future__ import annotations

from collections import OrderedDict
from typing import List, Literal

from pydantic import Field, field_validator
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.errors import ShapeError, SpecError
from archlens.layers import holds_layers, register
from archlens.layers.base import Depth, LayerType, Shape, shape_text
from archlens.layers.fields import Line, Model, PositiveInt, check_name


def same_list(a, b) -> bool:
    if a is b:
        return True
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


@holds_layers
class Branch(Model):
    """One branch of a ``parallel`` or ``split`` layer: a name and a list of layers."""

    name: str
    layers: Annotated[List["AnyLayer"], Field(min_length=1)]  # noqa: F821 (the registry's union)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_name(value)


def walk_branches(walker, layer, name: str, inputs: list[Shape], depth: Depth, where: str, values=None):
    """Walk each branch on its input; the walked branches, their outputs and depths. In a training step
    each branch starts from its value of ``values`` (the same value for every branch of a ``parallel``),
    and the values the branches end with are appended to ``values`` (after the inputs)."""
    step = walker.step
    starts = values[:] if values is not None else None
    if walker.trusted:  # an expansion made before: names checked, branches unchanged by the walk
        outputs, weighted, pooled = [], 0, 0
        for index, (branch, shape) in enumerate(zip(layer.branches, inputs)):
            branch_name = f"{name}.{branch.name}"
            slot = walker.group(branch_name, "branch")
            walker.inputs[branch_name] = shape
            if starts is not None:
                step.value = starts[index]
            _, out, (w, p) = walker.walk(branch.layers, branch_name, shape, depth, where)
            walker.group_output(slot, out)
            outputs.append((branch.name, out))
            weighted, pooled = max(weighted, w), max(pooled, p)
            if starts is not None:
                values.append(step.value)
        return layer.branches, outputs, (weighted, pooled)
    branches, outputs, depths = [], [], []
    seen: set[str] = set()
    for index, (branch, shape) in enumerate(zip(layer.branches, inputs)):
        if branch.name in seen:
            raise SpecError(f"branch name {branch.name!r} is used twice", where=f"{where}.branches[{index}]",
                            hint="give each branch a unique name")
        seen.add(branch.name)
        branch_name = f"{name}.{branch.name}"
        slot = walker.group(branch_name, "branch")
        walker.inputs[branch_name] = shape
        if starts is not None:
            step.value = starts[index]
        layers, out, branch_depth = walker.walk(branch.layers, branch_name, shape, depth,
                                                f"{where}.branches[{index}].layers")
        walker.group_output(slot, out)
        branches.append(branch if same_list(layers, branch.layers) else branch.model_copy(update={"layers": layers}))
        outputs.append((branch.name, out))
        depths.append(branch_depth)
        if starts is not None:
            values.append(step.value)
    return branches, outputs, (max(d[0] for d in depths), max(d[1] for d in depths))


def concatenated(name: str, outputs: list[tuple[str, Shape]]) -> Shape:
    """Branch outputs joined on channels (a :class:`ShapeError` when their other sizes differ)."""
    first_name, first = outputs[0]
    for branch_name, out in outputs[1:]:
        if len(out) != len(first) or out[0] != first[0] or out[2:] != first[2:]:
            raise ShapeError(
                f"branch outputs cannot be concatenated on channels: {first_name} gives {shape_text(first)}, "
                f"{branch_name} gives {shape_text(out)}",
                where=name, hint="branches must keep the same spatial size (check stride and padding)")
    return (first[0], sum(out[1] for _, out in outputs), *first[2:])


def concat_of(count: int, split: bool = False):
    """The rule of a concatenation of ``count`` branches' values (after the input, read only by a split)."""
    from archlens.layers.gradients import concat_rule, Effects

    def rule(record, grads):
        return Effects(edges=(1 if split else 0,) + (1,) * count)

    return rule if count else concat_rule


def build_branches(builder, layer, name: str):
    from archlens.layers.modules import Sequence as SequenceModule

    branches = OrderedDict()
    for branch in layer.branches:
        branch_name = f"{name}.{branch.name}"
        branches[branch.name] = SequenceModule("branch", builder.layers(branch.layers, branch_name))
    return branches


class LayerList(LayerType):
    """A container of one list of layers, ``layers`` (sequence, gate, aux ...)."""

    layers: Annotated[List["AnyLayer"], Field(min_length=1)]  # noqa: F821

    def children(self):
        return (("", self.layers),)

    def replace_children(self, lists):
        return self.model_copy(update={"layers": list(lists[0])})

    def walked(self, layers: list) -> "LayerList":
        """This container over its walked children (itself when they are the same)."""
        return self if same_list(layers, self.layers) else self.model_copy(update={"layers": layers})


@register
class Sequence(LayerList):
    """A named group of layers applied one after another (a stem, a stage); ``block`` labels it."""

    type: Literal["sequence"] = "sequence"
    block: Line | None = None

    def forward(self, walker, name, shape, depth, where):
        walker.group(name, self.block or "sequence")
        layers, shape, depth = walker.walk(self.layers, name, shape, depth, f"{where}.layers")
        return self.walked(layers), shape, depth

    def build(self, builder, name, shape):
        from archlens.layers.modules import Sequence as Module

        return Module(self.block or "sequence", builder.layers(self.layers, name))


@register
class Parallel(LayerType):
    """Branches applied to the same input, outputs concatenated on channels (``block`` labels the
    group: ``inception`` for expanded Inception modules). A branch of ``[identity]`` passes the input on."""

    type: Literal["parallel"] = "parallel"
    branches: Annotated[List[Branch], Field(min_length=1)]
    block: Line | None = None

    def forward(self, walker, name, shape, depth, where):
        walker.group(name, self.block or "parallel")
        values = None if walker.step is None else [walker.step.value] * len(self.branches)
        branches, outputs, depth = walk_branches(walker, self, name, [shape] * len(self.branches), depth, where,
                                                 values)
        out = concatenated(name, outputs)
        if values is None:
            walker.record(name, "concat", shape, out, F.ZERO)
        else:  # the concatenation reads what every branch made (the input's first: its gradient flag)
            ends = values[len(self.branches):]
            walker.record(name, "concat", shape, out, F.ZERO, backward=concat_of(len(ends)),
                          reads=[values[0], *ends])
        layer = self if same_list(branches, self.branches) else self.model_copy(update={"branches": branches})
        return layer, out, depth

    def children(self):
        return tuple((branch.name, branch.layers) for branch in self.branches)

    def replace_children(self, lists):
        return self.model_copy(update={"branches": [branch.model_copy(update={"layers": list(layers)})
                                                    for branch, layers in zip(self.branches, lists)]})

    def build(self, builder, name, shape):
        from archlens.layers.modules import Parallel as Module

        return Module(self.block or "parallel", build_branches(builder, self, name))


@register
class Split(LayerType):
    """The input's channels split into consecutive parts, one per branch (equal parts, or ``sizes``),
    each branch applied to its part, outputs concatenated (ShuffleNetV2: ``[identity]`` and a path)."""

    type: Literal["split"] = "split"
    branches: Annotated[List[Branch], Field(min_length=1)]
    sizes: List[PositiveInt] | None = None
    block: Line | None = None

    def part_sizes(self, name: str, channels: int) -> list[int]:
        count = len(self.branches)
        if self.sizes is None:
            if channels % count:
                raise ShapeError(f"{channels} channels cannot be split into {count} equal parts", where=name,
                                 hint="give sizes: [...]")
            return [channels // count] * count
        if len(self.sizes) != count or sum(self.sizes) != channels:
            raise ShapeError(f"sizes {self.sizes} must give one size per branch ({count}) adding up to the "
                             f"{channels} input channels", where=name)
        return list(self.sizes)

    def forward(self, walker, name, shape, depth, where):
        if len(shape) != 4 and len(shape) != 2:
            raise ShapeError(f"split needs channels to split, got {shape_text(shape)}", where=name)
        walker.group(name, self.block or "split")
        sizes = self.part_sizes(name, shape[1])
        inputs = [(shape[0], size, *shape[2:]) for size in sizes]
        values = None
        if walker.step is not None:  # the parts are views of the input, made by one split (which reads it)
            whole = walker.step.value
            values = [whole.view(F.numel(part)) for part in inputs]
        branches, outputs, depth = walk_branches(walker, self, name, inputs, depth, where, values)
        out = concatenated(name, outputs)
        if values is None:
            walker.record(name, "concat", shape, out, F.ZERO)
        else:
            walker.record(name, "concat", shape, out, F.ZERO, backward=concat_of(len(self.branches), split=True),
                          reads=[whole, *values[len(self.branches):]])
        layer = self if same_list(branches, self.branches) else self.model_copy(update={"branches": branches})
        return layer, out, depth

    children = Parallel.children
    replace_children = Parallel.replace_children

    def build(self, builder, name, shape):
        from archlens.layers.modules import Split as Module

        return Module(self.block or "split", self.part_sizes(name, shape[1]), build_branches(builder, self, name))

    def scale_widths(self, scaler):
        layer = super().scale_widths(scaler)
        if self.sizes is not None:
            layer = layer.model_copy(update={"sizes": [scaler.width(size) for size in self.sizes]})
        return layer


@register
class Aux(LayerList):
    """A side output (the paper's auxiliary classifier): it reads the current tensor, computes its own
    output, and passes the input on unchanged. Present only in training mode; top level only."""

    type: Literal["aux"] = "aux"

    def forward(self, walker, name, shape, depth, where):
        if "." in name:
            raise SpecError("an aux head must sit in the network's top-level layers", where=where,
                            hint="move it out of the parallel/sequence it is in")
        if walker.train:
            slot = walker.group(name, "aux")
            start = walker.step.value if walker.step is not None else None
            layers, out, side = walker.walk(self.layers, name, shape, depth, f"{where}.layers")
            walker.group_output(slot, out)  # what the head returns; the network goes on with its input
            walker.side_depths.append(side)
            if start is not None:  # the network goes on from the input the head read
                walker.step.value = start
        else:  # expanded and checked, not recorded: it does not run at inference
            with walker.silenced():
                layers, _, _ = walker.walk(self.layers, name, shape, depth, f"{where}.layers")
        return self.walked(layers), shape, depth

    def build(self, builder, name, shape):
        from archlens.layers.modules import Sequence as Module

        return Module("aux", builder.layers(self.layers, name))
