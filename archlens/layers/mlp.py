"""Transformer MLP blocks: ``mlp`` (two linear layers with an activation between, a macro) and
``gated_mlp`` (a gated linear unit: SwiGLU in LLaMA, GeGLU)."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from archlens.counting import formulas as F
from archlens.layers import register
from archlens.layers.attention import record_linear
from archlens.layers.base import LayerType, Shape, construct, require_rank
from archlens.layers.containers import Sequence
from archlens.layers.fields import ActivationName, PositiveInt, Probability
from archlens.layers.linear import Linear
from archlens.layers.simple import Dropout


@register
class MLP(LayerType):
    """The transformer MLP: ``fc1`` (a linear layer to ``hidden`` features with ``activation``, GELU by
    default), ``fc2`` (back to ``out`` features, default the input's), with a dropout after each when
    ``dropout`` is given. On tokens or flat features. Expands into a ``sequence`` labelled ``mlp``."""

    type: Literal["mlp"] = "mlp"
    hidden: PositiveInt
    out: PositiveInt | None = None
    activation: ActivationName = "gelu"
    bias: StrictBool = True
    dropout: Probability | None = None

    macro = True
    widths = ("hidden", "out")

    def size_hint(self) -> int:
        return 3 if self.dropout is None else 5

    def expand(self, walker, name, shape, where) -> Sequence:
        require_rank(name, "mlp", shape, 3, 2)
        out = self.out if self.out is not None else shape[-1]
        layers = [construct(Linear, name="fc1", out=self.hidden, bias=self.bias, activation=self.activation)]
        if self.dropout is not None:
            layers.append(construct(Dropout, name="drop1", p=self.dropout))
        layers.append(construct(Linear, name="fc2", out=out, bias=self.bias))
        if self.dropout is not None:
            layers.append(construct(Dropout, name="drop2", p=self.dropout))
        return construct(Sequence, name=self.name, layers=layers, block="mlp")


@register
class GatedMLP(LayerType):
    """A gated MLP (Shazeer 2020; LLaMA's SwiGLU): ``down(act(gate(x)) * up(x))``, with ``gate`` and ``up``
    linear layers to ``hidden`` features, ``activation`` (SiLU by default; GELU for GeGLU) on the gate, an
    elementwise product, and ``down`` back to ``out`` features (default the input's). No biases by
    default (LLaMA's). Records: ``gate``, ``act``, ``up``, the product (the block's own, kind ``mul``),
    ``down``, in the order they run."""

    type: Literal["gated_mlp"] = "gated_mlp"
    hidden: PositiveInt
    out: PositiveInt | None = None
    activation: ActivationName = "silu"
    bias: StrictBool = False

    depth_step = (2, 2)
    widths = ("hidden", "out")

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "gated_mlp", shape, 3, 2)
        out_features = self.out if self.out is not None else shape[-1]
        walker.group(name, "gated_mlp")
        step = walker.step
        start = step.value if step is not None else None
        hidden = record_linear(walker, f"{name}.gate", shape, self.hidden, self.bias)
        if self.activation != "none":
            walker.record(f"{name}.act", self.activation, hidden, hidden, F.activation(self.activation, F.numel(hidden)))
        gate = step.value if step is not None else None
        if step is not None:
            step.value = start
        record_linear(walker, f"{name}.up", shape, self.hidden, self.bias)
        out = (*shape[:-1], out_features)
        if step is None:
            walker.record(name, "mul", shape, out, F.elementwise(hidden))
        else:
            walker.record(name, "mul", shape, out, F.elementwise(hidden), backward=gated_product(F.numel(hidden)),
                          reads=[start, gate, step.value])
        record_linear(walker, f"{name}.down", hidden, out_features, self.bias)
        return out

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import GatedMLP as Module, activation_module

        out = self.out if self.out is not None else shape[-1]
        activation = None if self.activation == "none" else activation_module(self.activation)
        return Module(shape[-1], self.hidden, out, activation, self.bias)

    def detail(self) -> str:
        return f"{self.activation}, hidden {self.hidden}"


def gated_product(elements: int):
    """The rule of a gated MLP's product ``act(gate(x)) * up(x)``, reading ``(input, gate, up)``: each
    operand kept for the other's gradient, the gradient multiplied by the other operand for each one that
    needs it (1 an element)."""
    from archlens.layers.gradients import Effects

    def rule(record, grads):
        _, gate, up = grads.inputs
        ops = F.OpCount(elementwise_ops=elements * (int(gate) + int(up)))
        return Effects(ops, saves=((2,) if gate else ()) + ((1,) if up else ()), edges=(0, 1, 1),
                       output_elements=elements)

    return rule


__all__ = ["GatedMLP", "MLP", "gated_product"]
