"""``linear``: a fully connected layer on the last dimension, optionally with an activation."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from archlens.counting import formulas as F
from archlens.layers import register
from archlens.layers.base import LayerType, Scaler, Shape, require_rank
from archlens.layers.fields import ActivationName, PositiveInt
from archlens.layers.unit import build_unit, record_unit


@register
class Linear(LayerType):
    """A fully connected layer on the last dimension: flat features (``N x F``) or each token's
    (``N x T x D``); ``in`` features are inferred from the input (no activation by default).

    ``archlens fit`` keeps the width of the network's last linear layer (the classes) and of each
    auxiliary head's.
    """

    type: Literal["linear"] = "linear"
    out: PositiveInt
    bias: StrictBool = True
    activation: ActivationName = "none"

    depth_step = (1, 1)
    widths = ("out",)

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "linear", shape, 2, 3)
        features = shape[-1]
        out = (*shape[:-1], self.out)
        weight_shape = (self.out, features)
        record_unit(walker, self, "linear", name, shape, out, F.linear(shape, weight_shape, bias=self.bias),
                    self.out * features, self.out if self.bias else 0)
        return out

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return build_unit(self, "linear", nn.Linear(shape[-1], self.out, bias=self.bias), self.out)

    def scale_widths(self, scaler: Scaler) -> "Linear":
        if id(self) in scaler.keep:
            return self
        return self.model_copy(update={"out": scaler.width(self.out)})
