"""``squeeze_excite``: squeeze-and-excitation (a macro): global pool, two 1x1 convolutions, a gate."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from archlens.layers import register
from archlens.layers.base import LayerType, construct
from archlens.layers.conv import Conv
from archlens.layers.fields import ActivationName, PositiveInt
from archlens.layers.gate import Gate
from archlens.layers.pooling import AdaptiveAvgPool


@register
class SqueezeExcite(LayerType):
    """Squeeze-and-excitation (Hu et al. 2018): the input's channels scaled by a gate computed from their
    global average: ``pool`` (to 1x1), ``fc1`` (1x1 conv to ``squeeze`` channels, ``activation``),
    ``fc2`` (1x1 conv back to the input's channels, then ``gate``: sigmoid, or hardsigmoid as in
    MobileNetV3). Expands into a ``gate`` labelled ``squeeze_excite``."""

    type: Literal["squeeze_excite"] = "squeeze_excite"
    squeeze: PositiveInt
    activation: ActivationName = "relu"
    gate: Literal["sigmoid", "hardsigmoid"] = "sigmoid"
    bias: StrictBool = True

    macro = True
    widths = ("squeeze",)

    def size_hint(self) -> int:
        return 4

    def expand(self, walker, name, shape, where) -> Gate:
        channels = shape[1]
        layers = [
            construct(AdaptiveAvgPool, name="pool", output=1),
            construct(Conv, name="fc1", out=self.squeeze, kernel=1, bias=self.bias, activation=self.activation),
            construct(Conv, name="fc2", out=channels, kernel=1, bias=self.bias, activation=self.gate),
        ]
        return construct(Gate, name=self.name, layers=layers, block="squeeze_excite")
