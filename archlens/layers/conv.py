"""``conv`` and ``conv_transpose``: 2-D convolutions, optionally with BatchNorm and an activation."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import StrictBool, model_validator

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.base import LayerType, Scaler, Shape, require_rank, shape_text
from archlens.layers.fields import ActivationName, OptionalBatchNorm, Padding, PositiveInt, Size, pair
from archlens.layers.unit import build_unit, record_unit


def window_text(kernel, stride, groups: int = 1, dilation=1) -> str:
    """``7x7/2``, ``3x3/1x2``, with ``, 32 groups`` and ``, dilation 2`` where they apply."""
    kh, kw = pair(kernel)
    sh, sw = pair(stride)
    text = f"{kh}x{kw}/{sh}" if sh == sw else f"{kh}x{kw}/{sh}x{sw}"
    if groups > 1:
        text += f", {groups} groups"
    dh, dw = pair(dilation)
    if (dh, dw) != (1, 1):
        text += f", dilation {dh}" if dh == dw else f", dilation {dh}x{dw}"
    return text


def scale_grouped(layer, scaler: Scaler):
    """A conv's widths scaled; a depthwise one (one group a channel) keeps its groups equal to its channels."""
    if layer.groups > 1 and layer.groups == layer.out:
        width = scaler.width(layer.out, 1)
        return layer.model_copy(update={"out": width, "groups": width})
    return layer.model_copy(update={"out": scaler.width(layer.out, layer.groups)})


class _ConvUnit(LayerType):
    """Fields both convolutions have (a weighted layer with its BatchNorm and activation)."""

    out: PositiveInt
    kernel: Size
    stride: Size = 1
    padding: Union[Padding, Literal["same"]] = 0
    dilation: Size = 1
    groups: PositiveInt = 1
    bias: StrictBool = True
    batch_norm: OptionalBatchNorm = None
    activation: ActivationName = "relu"

    depth_step = (1, 1)
    widths = ("out",)

    def check_groups(self, name: str, channels: int) -> None:
        if channels % self.groups or self.out % self.groups:
            raise ShapeError(f"groups={self.groups} must divide both input channels ({channels}) and output "
                             f"channels ({self.out})", where=name)

    def scale_widths(self, scaler: Scaler) -> "_ConvUnit":
        return scale_grouped(self, scaler)


@register
class Conv(_ConvUnit):
    """A 2-D convolution, optionally followed by BatchNorm and an activation (ReLU by default).

    ``padding: same`` keeps the size (stride 1 only, PyTorch's rule); ``dilation`` spreads the kernel.
    """

    type: Literal["conv"] = "conv"
    padding: Union[Padding, Literal["same"]] = 0

    @model_validator(mode="after")
    def _same_needs_stride_one(self) -> "Conv":
        if self.padding == "same" and pair(self.stride) != (1, 1):
            raise ValueError("padding 'same' needs stride 1 (PyTorch's rule); give the padding as a number")
        return self

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        # the hot path of every profile: pair() and the checks inlined
        if len(shape) != 4:
            require_rank(name, "conv", shape, 4)
        batch, channels, height, width = shape
        groups = self.groups
        if groups != 1:
            self.check_groups(name, channels)
        kernel, stride, dilation, padding = self.kernel, self.stride, self.dilation, self.padding
        kh, kw = (kernel, kernel) if kernel.__class__ is int else kernel
        sh, sw = (stride, stride) if stride.__class__ is int else stride
        dh, dw = (dilation, dilation) if dilation.__class__ is int else dilation
        if padding == "same":
            out_h, out_w = height, width
        else:
            ph, pw = (padding, padding) if padding.__class__ is int else padding
            out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
            out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
            if out_h < 1 or out_w < 1:
                span = "kernel" if (dh, dw) == (1, 1) else "dilated kernel"
                raise ShapeError(
                    f"{span} {dh * (kh - 1) + 1}x{dw * (kw - 1) + 1} is larger than the padded input "
                    f"{height + 2 * ph}x{width + 2 * pw} (input {shape_text(shape)})",
                    where=name, hint="use a smaller kernel, more padding, or a larger input")
        width_out = self.out
        out = (batch, width_out, out_h, out_w)
        per_output = (channels // groups) * kh * kw
        elements = batch * width_out * out_h * out_w
        ops = F.OpCount(elements * per_output, elements if self.bias else 0)  # formulas.conv, inlined
        record_unit(walker, self, "conv", name, shape, out, ops, width_out * per_output,
                    width_out if self.bias else 0)
        return out

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        padding = self.padding if self.padding == "same" else pair(self.padding)
        main = nn.Conv2d(shape[1], self.out, pair(self.kernel), stride=pair(self.stride), padding=padding,
                         dilation=pair(self.dilation), groups=self.groups, bias=self.bias)
        return build_unit(self, "conv", main, self.out)

    def detail(self) -> str:
        return window_text(self.kernel, self.stride, self.groups, self.dilation)


@register
class ConvTranspose(_ConvUnit):
    """A 2-D transposed convolution (a learned upsampling), optionally with BatchNorm and an activation
    (ReLU by default, as for ``conv``)."""

    type: Literal["conv_transpose"] = "conv_transpose"
    padding: Padding = 0
    output_padding: Padding = 0

    @model_validator(mode="after")
    def _output_padding_below_stride(self) -> "ConvTranspose":
        for extra, stride, dilation in zip(pair(self.output_padding), pair(self.stride), pair(self.dilation)):
            if extra >= max(stride, dilation):
                raise ValueError("output_padding must be smaller than the stride or the dilation (PyTorch's rule)")
        return self

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "conv_transpose", shape, 4)
        batch, channels, height, width = shape
        self.check_groups(name, channels)
        sizes = [F.conv_transpose_output_size(size, k, s, p, op, d) for size, k, s, p, op, d in zip(
            (height, width), pair(self.kernel), pair(self.stride), pair(self.padding), pair(self.output_padding),
            pair(self.dilation))]
        if min(sizes) < 1:
            raise ShapeError(f"padding {shape_text(pair(self.padding))} leaves no output (input {shape_text(shape)})",
                             where=name, hint="use less padding")
        out = (batch, self.out, *sizes)
        kh, kw = pair(self.kernel)
        weight_shape = (channels, self.out // self.groups, kh, kw)
        ops = F.conv_transpose(shape, out, weight_shape, bias=self.bias)
        record_unit(walker, self, "conv_transpose", name, shape, out, ops, F.numel(weight_shape),
                    self.out if self.bias else 0)
        return out

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        main = nn.ConvTranspose2d(shape[1], self.out, pair(self.kernel), stride=pair(self.stride),
                                  padding=pair(self.padding), output_padding=pair(self.output_padding),
                                  groups=self.groups, bias=self.bias, dilation=pair(self.dilation))
        return build_unit(self, "conv_transpose", main, self.out)

    def detail(self) -> str:
        return "transposed " + window_text(self.kernel, self.stride, self.groups, self.dilation)


__all__ = ["Conv", "ConvTranspose"]
