"""Shape and bookkeeping layers: ``flatten``, ``dropout``, ``identity``, ``stochastic_depth``,
``upsample``, ``channel_shuffle`` and ``layer_scale``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.base import LayerType, Shape, channels_of, require_rank, shape_text
from archlens.layers.fields import PositiveInt, Probability, Size, pair


@register
class Flatten(LayerType):
    """Everything after the batch dimension flattened into features: ``N x C x H x W`` -> ``N x CHW``."""

    type: Literal["flatten"] = "flatten"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        out = (shape[0], F.numel(shape[1:]))
        walker.record(name, "flatten", shape, out, F.ZERO)
        return out

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.Flatten(1)


@register
class Dropout(LayerType):
    """Dropout with drop probability ``p``; the identity at inference (free)."""

    type: Literal["dropout"] = "dropout"
    p: Probability = 0.5

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        walker.record(name, "dropout", shape, shape, F.ZERO, backward=self.backward)
        return shape

    def backward(self, record, grads):
        """In training (PyTorch's dropout off CUDA): ``x * mask``, the mask (at the input's dtype, scaled by
        1 / (1 - p)) kept for the backward, which multiplies the gradient by it (1 an element). p = 0: the
        input itself, no op."""
        from archlens.layers.gradients import Effects

        if self.p == 0:
            return Effects(passthrough=True)
        elements = F.numel(record.output_shape)
        return Effects(F.OpCount(elementwise_ops=elements), extra=elements * record.element_bytes)

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.Dropout(self.p)

    def detail(self) -> str:
        return f"p {self.p:g}"


@register
class Identity(LayerType):
    """The input, unchanged (free): a branch that passes its input on (DenseNet's concatenation of a
    layer's input with its output, ShuffleNetV2's kept half)."""

    type: Literal["identity"] = "identity"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        walker.record(name, "identity", shape, shape, F.ZERO)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.Identity()


@register
class StochasticDepth(LayerType):
    """Stochastic depth (drop path) on a residual branch: the identity at inference (free). In
    training, torchvision's rule: a 0/1 per sample (``mode: row``) or per batch, divided by the
    survival rate (one divide per random value), times the input (one multiply per element)."""

    type: Literal["stochastic_depth"] = "stochastic_depth"
    p: Probability = 0.0
    mode: Literal["row", "batch"] = "row"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        ops = F.ZERO
        if walker.train and self.p > 0:
            noise = shape[0] if self.mode == "row" else 1
            ops = F.OpCount(elementwise_ops=noise + F.numel(shape))
        walker.record(name, "stochastic_depth", shape, shape, ops, backward=self.backward)
        return shape

    def backward(self, record, grads):
        """In training: ``x * noise``, the noise (one value a sample, or one for the batch) kept, the
        gradient multiplied by it (1 an element). p = 0: the input itself, no op."""
        from archlens.layers.gradients import Effects

        if self.p == 0:
            return Effects(passthrough=True)
        noise = record.input_shape[0] if self.mode == "row" else 1
        return Effects(F.elementwise(record.output_shape), extra=noise * record.element_bytes)

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import StochasticDepth as Module

        return Module(self.p, self.mode)

    def detail(self) -> str:
        return f"p {self.p:g}"


@register
class Upsample(LayerType):
    """Upsampling by an integer ``scale`` (or to a ``size``): ``nearest`` copies (free), ``bilinear`` and
    ``bicubic`` interpolate (7 and 31 operations per output element)."""

    type: Literal["upsample"] = "upsample"
    scale: Size | None = None
    size: Size | None = None
    mode: Literal["nearest", "bilinear", "bicubic"] = "nearest"
    align_corners: StrictBool = False

    @model_validator(mode="after")
    def _scale_or_size(self) -> "Upsample":
        if (self.scale is None) == (self.size is None):
            raise ValueError("give either scale (an integer factor) or size ([height, width]), not both")
        if self.align_corners and self.mode == "nearest":
            raise ValueError("align_corners applies to bilinear and bicubic only")
        return self

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "upsample", shape, 4)
        if self.size is not None:
            out = (*shape[:2], *pair(self.size))
        else:
            sh, sw = pair(self.scale)
            out = (shape[0], shape[1], shape[2] * sh, shape[3] * sw)
        walker.record(name, "upsample", shape, out, F.interpolate(out, self.mode), backward=self.backward)
        return out

    def backward(self, record, grads):
        """Nothing kept (the sizes suffice); each output's gradient spread back over what it read."""
        from archlens.layers.gradients import Effects

        return Effects(F.interpolate_backward(record.output_shape, self.mode))

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        align = self.align_corners if self.mode != "nearest" else None
        if self.size is not None:
            return nn.Upsample(size=pair(self.size), mode=self.mode, align_corners=align)
        return nn.Upsample(scale_factor=tuple(float(s) for s in pair(self.scale)), mode=self.mode,
                           align_corners=align)

    def detail(self) -> str:
        if self.size is not None:
            return f"{self.mode} to {'x'.join(map(str, pair(self.size)))}"
        sh, sw = pair(self.scale)
        return f"{self.mode} x{sh}" if sh == sw else f"{self.mode} x{sh}x{sw}"


@register
class ChannelShuffle(LayerType):
    """ShuffleNet's channel shuffle: channels regrouped across ``groups`` (a reshape and a copy, free)."""

    type: Literal["channel_shuffle"] = "channel_shuffle"
    groups: PositiveInt = 2

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "channel_shuffle", shape, 4)
        if shape[1] % self.groups:
            raise ShapeError(f"groups={self.groups} must divide the channels ({shape[1]}, input {shape_text(shape)})",
                             where=name)
        walker.record(name, "channel_shuffle", shape, shape, F.ZERO)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import ChannelShuffle as Module

        return Module(self.groups)

    def detail(self) -> str:
        return f"{self.groups} groups"


@register
class LayerScale(LayerType):
    """A learned scale per channel (ConvNeXt) or per token feature (CaiT): one weight a channel, one
    multiply an element."""

    type: Literal["layer_scale"] = "layer_scale"
    init: Annotated[float, Field(allow_inf_nan=False)] = 1e-6

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "layer_scale", shape, 4, 3, 2)
        walker.record(name, "layer_scale", shape, shape, F.elementwise(shape), channels_of(shape))
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import LayerScale as Module

        return Module(channels_of(shape), len(shape), self.init)
