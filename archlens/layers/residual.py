"""``residual``: a main path plus a shortcut, added (ResNet, MobileNetV2, ConvNeXt, Inception-ResNet)."""

from __future__ import annotations

from typing import List, Literal, Union

from pydantic import Field, StrictBool
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.errors import ShapeError, SpecError
from archlens.layers import register
from archlens.layers.base import LayerType, Shape, shape_text
from archlens.layers.containers import Sequence, same_list
from archlens.layers.conv import Conv
from archlens.layers.fields import ActivationName, BatchNormOptions, Line, Model, OptionalBatchNorm

SHORTCUT_NAME = "shortcut"


class Projection(Model):
    """The 1x1 convolution of a projection shortcut: no bias and BatchNorm by default (ResNet's)."""

    bias: StrictBool = False
    batch_norm: OptionalBatchNorm = BatchNormOptions()


@register
class Residual(LayerType):
    """``activation(main(x) * scale + shortcut(x))``.

    ``shortcut``: ``identity`` (the input itself; shapes must match), ``projection`` (a 1x1
    convolution with the stride and channels the main path needs, ``projection`` options: no bias,
    BatchNorm), ``auto`` (identity where the shapes match, else a projection: ResNet's rule),
    ``optional`` (identity where the shapes match, else no shortcut at all: MobileNetV2's rule), or a
    list of layers. ``scale`` multiplies the main path before the add (Inception-ResNet).
    ``shortcut_first``: the shortcut runs before the main path (torchvision's RegNet computes
    ``proj(x) + f(x)``): the same counts, listed in that order.
    """

    type: Literal["residual"] = "residual"
    layers: Annotated[List["AnyLayer"], Field(min_length=1)]  # noqa: F821
    shortcut: Union[Literal["identity", "projection", "auto", "optional"],
                    Annotated[List["AnyLayer"], Field(min_length=1)]] = "identity"  # noqa: F821
    projection: Projection = Projection()
    activation: ActivationName = "none"
    scale: Annotated[float, Field(allow_inf_nan=False)] | None = None
    shortcut_first: StrictBool = False
    block: Line | None = None

    def forward(self, walker, name, shape, depth, where):
        for index, layer in enumerate(self.layers):
            if layer.name in (SHORTCUT_NAME, self.activation):
                raise SpecError(f"a main-path layer of a residual cannot be called {layer.name!r} (the "
                                f"{'shortcut' if layer.name == SHORTCUT_NAME else 'activation after the add'} "
                                "has that name)", where=f"{where}.layers[{index}]", hint="rename it")
        slot = walker.group(name, self.block or "residual")
        main_start = walker.marks()
        step = walker.step
        start = step.value if step is not None else None
        layers, out, main_depth = walker.walk(self.layers, name, shape, depth, f"{where}.layers")
        main = step.value if step is not None else None
        shortcut = self.resolved_shortcut(name, shape, out)
        if shortcut is None:  # `optional` and the shapes differ: a plain path
            walker.regroup(slot, self.block or "sequence")
            return Sequence(name=self.name, layers=layers, block=self.block), out, main_depth
        skip_depth = depth
        skip_value = start
        if shortcut != "identity":
            shortcut_start = walker.marks()
            if step is not None:
                step.value = start
            walked, skip, skip_depth = walker.walk(shortcut, name, shape, depth, f"{where}.shortcut")
            if step is not None:
                skip_value = step.value
            if self.shortcut_first:  # the main path's shape decides the shortcut: walked first, listed after
                walker.move_before(main_start, shortcut_start)
            if skip != out:
                raise ShapeError(f"the shortcut gives {shape_text(skip)} but the main path {shape_text(out)}: "
                                 "they cannot be added", where=name)
            shortcut = walked
        ops = F.elementwise(out)
        if self.scale is not None:
            ops = ops + F.elementwise(out)
        if step is None:
            walker.record(name, "add", shape, out, ops)
        else:
            from archlens.layers.gradients import residual_add

            walker.record(name, "add", shape, out, ops, backward=residual_add(self.scale is not None),
                          reads=[start, main, skip_value])
        if self.activation != "none":
            walker.record(f"{name}.{self.activation}", self.activation, out, out,
                          F.activation(self.activation, F.numel(out)))
        depth = (max(main_depth[0], skip_depth[0]), max(main_depth[1], skip_depth[1]))
        layer = self
        if not same_list(layers, self.layers) or shortcut is not self.shortcut:
            layer = self.model_copy(update={"layers": layers, "shortcut": shortcut})
        return layer, out, depth

    def resolved_shortcut(self, name: str, shape: Shape, out: Shape):
        """``"identity"``, a list of one layer named ``shortcut``, or None (no shortcut)."""
        rule = self.shortcut
        if isinstance(rule, list):
            if len(rule) == 1:
                return rule if rule[0].name == SHORTCUT_NAME else [rule[0].model_copy(update={"name": SHORTCUT_NAME})]
            return [Sequence(name=SHORTCUT_NAME, layers=rule)]
        same = out == shape
        if rule == "identity" and not same:
            raise ShapeError(f"the main path gives {shape_text(out)} from {shape_text(shape)}: the input cannot be "
                             "added to it", where=name,
                             hint="use shortcut: auto (a projection where shapes differ) or fix the main path")
        if rule == "optional" and not same:
            return None
        if rule in ("identity", "optional") or (rule == "auto" and same):
            return "identity"
        return [self.projection_layer(name, shape, out)]

    def projection_layer(self, name: str, shape: Shape, out: Shape) -> Conv:
        if len(shape) != 4 or len(out) != 4:
            raise ShapeError(f"a projection shortcut needs image tensors, got {shape_text(shape)} -> {shape_text(out)}",
                             where=name, hint="give the shortcut as a list of layers")
        strides = []
        for size_in, size_out in zip(shape[2:], out[2:]):
            stride = -(-size_in // size_out)
            if (size_in - 1) // stride + 1 != size_out:
                raise ShapeError(f"no 1x1 convolution turns {shape_text(shape)} into {shape_text(out)}", where=name,
                                 hint="give the shortcut as a list of layers")
            strides.append(stride)
        stride = strides[0] if strides[0] == strides[1] else (strides[0], strides[1])
        return Conv(name=SHORTCUT_NAME, out=out[1], kernel=1, stride=stride, bias=self.projection.bias,
                    batch_norm=self.projection.batch_norm, activation="none")

    def children(self):
        lists = [("", self.layers)]
        if isinstance(self.shortcut, list):
            lists.append(("", self.shortcut))
        return tuple(lists)

    def replace_children(self, lists):
        update = {"layers": list(lists[0])}
        if isinstance(self.shortcut, list):
            update["shortcut"] = list(lists[1])
        return self.model_copy(update=update)

    def build(self, builder, name, shape):
        from archlens.layers.modules import Residual as Module, activation_module

        main = builder.layers(self.layers, name)
        shortcut = None
        if isinstance(self.shortcut, list):
            (shortcut,) = builder.layers(self.shortcut, name).values()
        elif self.shortcut != "identity":  # pragma: no cover - the walk resolves every rule first
            raise SpecError(f"shortcut {self.shortcut!r} was not resolved", where=name)
        activation = None if self.activation == "none" else (self.activation, activation_module(self.activation))
        return Module(self.block or "residual", main, shortcut, activation, self.scale, self.shortcut_first)

    def detail(self) -> str | None:
        details = [f"scale {self.scale:g}"] if self.scale is not None else []
        if self.shortcut_first:
            details.append("shortcut first")
        return ", ".join(details) or None


__all__ = ["Projection", "Residual"]
