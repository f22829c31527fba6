"""Normalization layers: ``batch_norm``, ``layer_norm``, ``rms_norm``, ``group_norm`` and ``lrn``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.base import LayerType, Shape, channels_of, require_rank
from archlens.layers.fields import Number, PositiveInt

Eps = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Momentum = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


@register
class BatchNorm(LayerType):
    """BatchNorm over the channels (``N x C x H x W``) or features (``N x F``): a scale and a shift per
    channel (parameters), running statistics (buffers); 2 operations per element at inference."""

    type: Literal["batch_norm"] = "batch_norm"
    eps: Eps = 1e-5
    momentum: Momentum = 0.1

    kind = "batchnorm"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "batch_norm", shape, 4, 2)
        channels = shape[1]
        walker.record(name, "batchnorm", shape, shape, F.batch_norm(F.numel(shape)), channels, channels)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        norm = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
        return norm(shape[1], eps=self.eps, momentum=self.momentum)


@register
class LayerNorm(LayerType):
    """LayerNorm over the channels of each position (``N x C x H x W``: ConvNeXt's channels-last
    LayerNorm), over the features (``N x F``) or over each token's features (``N x T x D``)."""

    type: Literal["layer_norm"] = "layer_norm"
    eps: Eps = 1e-5
    affine: StrictBool = True
    bias: StrictBool = True

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "layer_norm", shape, 4, 3, 2)
        channels = channels_of(shape)
        weights = channels if self.affine else 0
        biases = channels if self.affine and self.bias else 0
        ops = F.layer_norm(F.numel(shape), affine=self.affine, bias=self.affine and self.bias)
        walker.record(name, "layer_norm", shape, shape, ops, weights, biases)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        from archlens.layers.modules import ChannelLayerNorm

        norm = ChannelLayerNorm if len(shape) == 4 else nn.LayerNorm
        return norm(channels_of(shape), eps=self.eps, elementwise_affine=self.affine, bias=self.affine and self.bias)


@register
class RMSNorm(LayerType):
    """RMSNorm (LLaMA, T5) over each token's features (``N x T x D``) or the features (``N x F``): x
    divided by its root mean square, times a learned scale (``affine``; D weights, no shift)."""

    type: Literal["rms_norm"] = "rms_norm"
    eps: Eps | None = None
    affine: StrictBool = True

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "rms_norm", shape, 3, 2)
        features = shape[-1]
        walker.record(name, "rms_norm", shape, shape, F.rms_norm(F.numel(shape), affine=self.affine),
                      features if self.affine else 0, backward=self.backward)
        return shape

    def backward(self, record, grads):
        """PyTorch's composite (:func:`~archlens.counting.formulas.rms_norm_backward`) keeps, for the input's
        gradient, the input and the root a row (``rsqrt``), and for the weight's the normalized input."""
        from archlens.layers.gradients import STATISTICS_BYTES, Effects

        elements = F.numel(record.input_shape)
        rows = elements // record.input_shape[-1]
        ops = F.rms_norm_backward(elements, rows, input_grad=grads.input, weight=self.affine,
                                  weight_grad=grads.weight)
        extra = (elements * record.element_bytes) if grads.weight else 0
        if grads.input:
            extra += rows * record.element_bytes
            return Effects(ops, saves=(0,), extra=extra, edges=(2,))
        return Effects(ops, extra=extra)

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.RMSNorm(shape[-1], eps=self.eps, elementwise_affine=self.affine)


@register
class GroupNorm(LayerType):
    """GroupNorm: the channels in ``groups`` groups, each normalized over its channels and positions."""

    type: Literal["group_norm"] = "group_norm"
    groups: PositiveInt
    eps: Eps = 1e-5
    affine: StrictBool = True

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "group_norm", shape, 4)
        channels = shape[1]
        if channels % self.groups:
            raise ShapeError(f"groups={self.groups} must divide the channels ({channels})", where=name)
        params = channels if self.affine else 0
        walker.record(name, "group_norm", shape, shape, F.layer_norm(F.numel(shape), affine=self.affine),
                      params, params, backward=self.backward)
        return shape

    def backward(self, record, grads):
        """As LayerNorm's, with a mean and inverse deviation kept a sample and group (``N x groups``)."""
        from archlens.layers.gradients import STATISTICS_BYTES, layer_norm_rule

        effects = layer_norm_rule(record, grads)
        return effects._replace(extra=2 * record.input_shape[0] * self.groups * STATISTICS_BYTES[record.element_bytes])

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.GroupNorm(self.groups, shape[1], eps=self.eps, affine=self.affine)

    def detail(self) -> str:
        return f"{self.groups} groups"


@register
class LRN(LayerType):
    """Local response normalization across channels (PyTorch's ``LocalResponseNorm``)."""

    type: Literal["lrn"] = "lrn"
    size: PositiveInt
    alpha: Number = 1e-4
    beta: Number = 0.75
    k: Number = 1.0

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        walker.record(name, "lrn", shape, shape, F.local_response_norm(F.numel(shape), self.size),
                      backward=self.backward)
        return shape

    def backward(self, record, grads):
        """PyTorch's decomposition keeps its input, the padded squares (``N x (C + size - 1) x H x W``), the
        scaled sum and its power; the input is read three times."""
        from archlens.layers.gradients import Effects

        shape = record.input_shape
        elements = F.numel(shape)
        padded = elements // shape[1] * (shape[1] + self.size - 1)
        return Effects(F.local_response_norm_backward(elements, self.size), saves=(0,),
                       extra=(padded + 2 * elements) * record.element_bytes, edges=(3,))

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.LocalResponseNorm(self.size, alpha=self.alpha, beta=self.beta, k=self.k)

    def detail(self) -> str:
        return f"size {self.size}"
