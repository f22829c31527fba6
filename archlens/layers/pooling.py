"""Pooling: ``maxpool``, ``avgpool`` (fixed windows) and ``adaptive_avgpool``, ``adaptive_maxpool``."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.base import LayerType, Shape, require_rank
from archlens.layers.conv import window_text
from archlens.layers.fields import Padding, Size, pair


class _Pool(LayerType):
    kernel: Size
    stride: Size | None = None
    padding: Padding = 0
    ceil_mode: StrictBool = False

    depth_step = (0, 1)

    def _dilation(self) -> tuple[int, int]:
        return (1, 1)

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, self.type, shape, 4)
        kernel = pair(self.kernel)
        stride = pair(self.stride if self.stride is not None else self.kernel)
        padding = pair(self.padding)
        dilation = self._dilation()
        for k, p in zip(kernel, padding):
            if p > k // 2:
                raise ShapeError(f"padding {p} is more than half the kernel {k}", where=name,
                                 hint="PyTorch allows pooling padding up to kernel // 2")
        sizes = [F.pool_output_size(size, k, s, p, self.ceil_mode, d)
                 for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation)]
        if min(sizes) < 1:
            raise ShapeError(
                f"kernel {kernel[0]}x{kernel[1]} is larger than the padded input "
                f"{shape[2] + 2 * padding[0]}x{shape[3] + 2 * padding[1]} (input {'x'.join(map(str, shape))})",
                where=name, hint="use a smaller kernel or stride, or a larger input")
        out = (*shape[:2], *sizes)
        walker.record(name, self.type, shape, out, F.pool(out, kernel))
        return out

    def detail(self) -> str:
        return window_text(self.kernel, self.stride if self.stride is not None else self.kernel,
                           dilation=self._dilation())


@register
class MaxPool(_Pool):
    """2-D max pooling; ``stride`` defaults to ``kernel``; ``dilation`` spreads the window."""

    type: Literal["maxpool"] = "maxpool"
    dilation: Size = 1

    def _dilation(self) -> tuple[int, int]:
        return pair(self.dilation)

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        stride = pair(self.stride if self.stride is not None else self.kernel)
        return nn.MaxPool2d(pair(self.kernel), stride, pair(self.padding), dilation=pair(self.dilation),
                            ceil_mode=self.ceil_mode)


@register
class AvgPool(_Pool):
    """2-D average pooling; ``stride`` defaults to ``kernel``."""

    type: Literal["avgpool"] = "avgpool"
    count_include_pad: StrictBool = True

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        stride = pair(self.stride if self.stride is not None else self.kernel)
        return nn.AvgPool2d(pair(self.kernel), stride, pair(self.padding), ceil_mode=self.ceil_mode,
                            count_include_pad=self.count_include_pad)


class _AdaptivePool(LayerType):
    output: Size

    depth_step = (0, 1)

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, self.type, shape, 4)
        out = (*shape[:2], *pair(self.output))
        walker.record(name, self.type, shape, out, F.adaptive_pool(shape, out))
        return out

    def detail(self) -> str:
        oh, ow = pair(self.output)
        return f"to {oh}x{ow}"


@register
class AdaptiveAvgPool(_AdaptivePool):
    """Adaptive average pooling to a fixed ``output`` size (``output: 1`` is a global average pool)."""

    type: Literal["adaptive_avgpool"] = "adaptive_avgpool"

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.AdaptiveAvgPool2d(pair(self.output))


@register
class AdaptiveMaxPool(_AdaptivePool):
    """Adaptive max pooling to a fixed ``output`` size."""

    type: Literal["adaptive_maxpool"] = "adaptive_maxpool"

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.AdaptiveMaxPool2d(pair(self.output))
