"""Activations as standalone layers; each is also a conv's or linear layer's ``activation``.

Each counts ``formulas.ACTIVATION_OPS[kind]`` operations per element (ReLU 1, ReLU6 2, GELU 5, ...).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.layers import register
from archlens.layers.base import LayerType, Shape


class _Activation(LayerType):
    def activation_kind(self) -> str:
        return self.type

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        kind = self.activation_kind()
        walker.record(name, kind, shape, shape, F.activation(kind, F.numel(shape)))
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import activation_module

        return activation_module(self.activation_kind())


@register
class ReLU(_Activation):
    """max(0, x)."""

    type: Literal["relu"] = "relu"


@register
class ReLU6(_Activation):
    """min(max(0, x), 6) (MobileNetV2)."""

    type: Literal["relu6"] = "relu6"


@register
class LeakyReLU(_Activation):
    """x for x > 0, ``negative_slope`` x otherwise."""

    type: Literal["leaky_relu"] = "leaky_relu"
    negative_slope: Annotated[float, Field(allow_inf_nan=False)] = 0.01

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        from archlens.layers.modules import tagged

        return tagged(nn.LeakyReLU(self.negative_slope, inplace=True), "leaky_relu")

    def detail(self) -> str | None:
        return None if self.negative_slope == 0.01 else f"slope {self.negative_slope:g}"


@register
class GELU(_Activation):
    """The Gaussian error linear unit; ``approximate: tanh`` is its tanh approximation (GPT-2)."""

    type: Literal["gelu"] = "gelu"
    approximate: Literal["none", "tanh"] = "none"

    def activation_kind(self) -> str:
        return "gelu" if self.approximate == "none" else "gelu_tanh"


@register
class SiLU(_Activation):
    """x * sigmoid(x), also called swish (EfficientNet)."""

    type: Literal["silu"] = "silu"


@register
class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""

    type: Literal["sigmoid"] = "sigmoid"


@register
class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6 (MobileNetV3's gates)."""

    type: Literal["hardsigmoid"] = "hardsigmoid"


@register
class Hardswish(_Activation):
    """x * hardsigmoid(x) (MobileNetV3)."""

    type: Literal["hardswish"] = "hardswish"


@register
class Tanh(_Activation):
    """The hyperbolic tangent."""

    type: Literal["tanh"] = "tanh"


@register
class Softmax(_Activation):
    """Softmax over the channels (features; a token's features): exp, sum and divide per element."""

    type: Literal["softmax"] = "softmax"

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        from archlens.layers.modules import tagged

        return tagged(nn.Softmax(dim=-1 if len(shape) == 3 else 1), "softmax")
