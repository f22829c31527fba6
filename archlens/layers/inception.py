"""``inception``: the GoogLeNet paper's Inception module (a macro), reduced (figure 2b) or naive (2a)."""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool, model_validator

from archlens.layers import register
from archlens.layers.base import LayerType, construct
from archlens.layers.containers import Branch, Parallel
from archlens.layers.conv import Conv
from archlens.layers.fields import OptionalBatchNorm, PositiveInt
from archlens.layers.pooling import MaxPool

FIELDS = ("ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj")


@register
class Inception(LayerType):
    """The Inception module, with the paper's six numbers by name.

    ``variant: reduced`` is the paper's figure 2b (1x1 reductions before the 3x3 and 5x5
    convolutions, a 1x1 projection after the pool). ``variant: naive`` is figure 2a: 1x1, 3x3 and
    5x5 convolutions and 3x3/1 max pooling on the same input, concatenated; the reduce and
    projection numbers are then unused and may be omitted. It expands into a ``parallel`` of four
    branches labelled ``inception``.
    """

    type: Literal["inception"] = "inception"
    ch1x1: PositiveInt
    ch3x3_reduce: PositiveInt | None = None
    ch3x3: PositiveInt
    ch5x5_reduce: PositiveInt | None = None
    ch5x5: PositiveInt
    pool_proj: PositiveInt | None = None
    variant: Literal["reduced", "naive"] = "reduced"
    # torchvision's GoogLeNet uses a 3x3 convolution in the "5x5" branch (kept for weight compatibility).
    kernel_5x5: Literal[3, 5] = 5
    bias: StrictBool = True
    batch_norm: OptionalBatchNorm = None
    pool_ceil_mode: StrictBool = False

    macro = True
    widths = FIELDS

    @model_validator(mode="after")
    def _reductions_present(self) -> "Inception":
        if self.variant == "reduced":
            missing = [f for f in ("ch3x3_reduce", "ch5x5_reduce", "pool_proj") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"variant 'reduced' needs {', '.join(missing)}; give them, or set variant: naive")
        return self

    def size_hint(self) -> int:
        return 14

    def _conv(self, name: str, out: int, kernel: int, padding: int = 0) -> Conv:
        return construct(Conv, name=name, out=out, kernel=kernel, padding=padding, bias=self.bias,
                         batch_norm=self.batch_norm)

    def expand(self, walker, name, shape, where) -> Parallel:
        k5 = self.kernel_5x5
        pool = construct(MaxPool, name="pool", kernel=3, stride=1, padding=1, ceil_mode=self.pool_ceil_mode)
        if self.variant == "naive":
            branches = [
                construct(Branch, name="branch_1x1", layers=[self._conv("conv", self.ch1x1, 1)]),
                construct(Branch, name="branch_3x3", layers=[self._conv("conv", self.ch3x3, 3, padding=1)]),
                construct(Branch, name="branch_5x5", layers=[self._conv("conv", self.ch5x5, k5, padding=k5 // 2)]),
                construct(Branch, name="branch_pool", layers=[pool]),
            ]
        else:
            branches = [
                construct(Branch, name="branch_1x1", layers=[self._conv("conv", self.ch1x1, 1)]),
                construct(Branch, name="branch_3x3", layers=[self._conv("reduce", self.ch3x3_reduce, 1),
                                                             self._conv("conv", self.ch3x3, 3, padding=1)]),
                construct(Branch, name="branch_5x5", layers=[self._conv("reduce", self.ch5x5_reduce, 1),
                                                             self._conv("conv", self.ch5x5, k5, padding=k5 // 2)]),
                construct(Branch, name="branch_pool", layers=[pool, self._conv("proj", self.pool_proj, 1)]),
            ]
        return construct(Parallel, name=self.name, branches=branches, block="inception")
