"""``gate``: the input multiplied by what a path computes from it (squeeze-and-excitation's scale)."""

from __future__ import annotations

from typing import Literal

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.base import shape_text
from archlens.layers.containers import LayerList
from archlens.layers.fields import Line


@register
class Gate(LayerList):
    """``x * f(x)``: ``layers`` compute ``f`` from the input; its output must broadcast to the input's
    shape (``N x C x 1 x 1`` per channel, or the full shape). One multiply per element."""

    type: Literal["gate"] = "gate"
    block: Line | None = None

    def forward(self, walker, name, shape, depth, where):
        walker.group(name, self.block or "gate")
        start = walker.step.value if walker.step is not None else None
        layers, scale, depth = walker.walk(self.layers, name, shape, depth, f"{where}.layers")
        if len(scale) != len(shape) or any(s not in (1, x) for s, x in zip(scale, shape)):
            raise ShapeError(f"the gate computes {shape_text(scale)}, which cannot scale the input "
                             f"{shape_text(shape)}", where=name,
                             hint="end the gate's path with the input's channels (and size 1 or the input's size)")
        if start is None:
            walker.record(name, "mul", shape, shape, F.elementwise(shape))
        else:
            walker.record(name, "mul", shape, shape, F.elementwise(shape), backward=product_rule(scale),
                          reads=[start, walker.step.value])
        return self.walked(layers), shape, depth

    def build(self, builder, name, shape):
        from archlens.layers.modules import Gate as Module

        return Module(self.block or "gate", builder.layers(self.layers, name))


def product_rule(scale_shape):
    """``x * s`` (``s`` broadcast over ``x``): each operand kept for the other's gradient; the backward
    multiplies the gradient by the other operand for each operand that needs one, and sums ``g x`` over
    the broadcast dimensions for ``s`` (``pool_ops``)."""
    from archlens.layers.gradients import Effects

    def rule(record, grads):
        elements = F.numel(record.output_shape)
        ops = F.ZERO
        x_grad, s_grad = grads.inputs
        if x_grad:
            ops = ops + F.OpCount(elementwise_ops=elements)
        if s_grad:
            ops = ops + F.OpCount(elementwise_ops=elements)
            if F.numel(scale_shape) != elements:
                ops = ops + F.OpCount(pool_ops=elements)
        saves = ((1,) if x_grad else ()) + ((0,) if s_grad else ())
        return Effects(ops, saves=saves)

    return rule
