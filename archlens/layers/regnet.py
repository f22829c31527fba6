"""``regnet``: RegNet's body from its design-space parameters (Radosavovic et al. 2020), a macro.

The widths follow the paper's linear-then-quantized rule, as torchvision computes them
(``BlockParams.from_init_params``): block ``j`` has the continuous width ``w_0 + w_a j``, quantized
to ``w_0 w_m^round(log(u_j / w_0) / log w_m)`` rounded to a multiple of 8; consecutive blocks of one
width form a stage; each stage's bottleneck width is made divisible by its group width. torchvision
computes the widths with float32 tensors, and so does this (each step rounded to float32): where
``w_0 w_m^c / 8`` is a tie in exact arithmetic (``w_0 = 360, w_m = 2.3``: 103.5), float64 and float32
round it different ways. Every block
is a residual bottleneck: 1x1 conv (``a``), 3x3 grouped conv with the stage's stride on the first
block (``b``), squeeze-and-excitation with ``se_ratio`` of the block's input width (``se``, RegNetY),
1x1 conv (``c``), a projection shortcut where the shape changes (run before the main path, as
torchvision's ``proj(x) + f(x)``), ReLU after the add.
"""

from __future__ import annotations

import math
import struct
from typing import Literal

from pydantic import Field, model_validator
from typing_extensions import Annotated

from archlens.layers import register
from archlens.layers.base import LayerType, construct
from archlens.layers.containers import Sequence
from archlens.layers.conv import Conv
from archlens.layers.expressions import divisible
from archlens.layers.fields import BatchNormOptions, PositiveInt
from archlens.layers.residual import Projection, Residual
from archlens.layers.squeeze_excite import SqueezeExcite

QUANTUM = 8
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _f32(value: float) -> float:
    """``value`` rounded to the nearest float32 (a float64 result of one +, -, *, / of float32 values,
    rounded so, is the float32 operation's result)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def stage_plan(depth: int, w_0: int, w_a: float, w_m: float, group_width: int, bottleneck_multiplier: float
               ) -> list[tuple[int, int, int]]:
    """``(width, depth, group width)`` of each stage.

    >>> stage_plan(16, 48, 27.89, 2.09, 8, 1.0)     # RegNetY-400MF
    [(48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)]
    >>> stage_plan(6, 360, 79.23, 2.3, 1, 1.0)      # 360 x 2.3 / 8 = 103.5: float32 rounds up, float64 down
    [(360, 3, 1), (832, 3, 1)]
    >>> stage_plan(19, 440, 136.04, 2.1, 56, 1.0)   # 440 x 2.1 / 8 = 115.5: float32 down, float64 up
    [(448, 2, 56), (896, 5, 56), (1960, 11, 56), (4088, 1, 56)]
    """
    widths = []
    slope, base, step = _f32(w_a), _f32(w_0), _f32(math.log(w_m))
    for index in range(depth):
        continuous = _f32(_f32(index * slope) + base)
        capacity = round(_f32(_f32(math.log(_f32(continuous / base))) / step))
        widths.append(int(round(_f32(base * _f32(_f32(w_m) ** capacity)) / QUANTUM)) * QUANTUM)
    stages: list[list[int]] = []
    for width in widths:
        if stages and stages[-1][0] == width:
            stages[-1][1] += 1
        else:
            stages.append([width, 1])
    plan = []
    for width, count in stages:
        bottleneck = int(width * bottleneck_multiplier)
        group = min(group_width, bottleneck)
        bottleneck = divisible(bottleneck, group)
        plan.append((int(bottleneck / bottleneck_multiplier), count, group))
    return plan


@register
class RegNet(LayerType):
    """RegNet's stages from its design-space parameters: ``depth`` blocks, initial width ``w_0``, slope
    ``w_a``, width multiplier ``w_m``, ``group_width``, ``bottleneck_multiplier`` (1), ``se_ratio`` (none:
    RegNetX; 0.25: RegNetY). Expands into stages ``block1`` ... of residual blocks ``0``, ``1``, ..."""

    type: Literal["regnet"] = "regnet"
    depth: PositiveInt
    w_0: PositiveInt
    w_a: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    w_m: Annotated[float, Field(gt=1, allow_inf_nan=False)]
    group_width: PositiveInt
    bottleneck_multiplier: PositiveFloat = 1.0
    se_ratio: PositiveFloat | None = None
    stride: PositiveInt = 2

    macro = True

    @model_validator(mode="after")
    def _quantized(self) -> "RegNet":
        if self.w_0 % QUANTUM:
            raise ValueError(f"w_0 must be a multiple of {QUANTUM} (the design space's quantum), got {self.w_0}")
        return self

    def size_hint(self) -> int:
        return 1 + 4 * self.depth

    def expand(self, walker, name, shape, where) -> Sequence:
        walker.reserve(12 * self.depth, where)
        width_in = shape[1]
        bn = BatchNormOptions()
        stages = []
        plan = stage_plan(self.depth, self.w_0, self.w_a, self.w_m, self.group_width, self.bottleneck_multiplier)
        for stage_index, (width, count, group) in enumerate(plan, start=1):
            blocks = []
            for index in range(count):
                stride = self.stride if index == 0 else 1
                bottleneck = int(round(width * self.bottleneck_multiplier))
                main = [construct(Conv, name="a", out=bottleneck, kernel=1, bias=False, batch_norm=bn),
                        construct(Conv, name="b", out=bottleneck, kernel=3, stride=stride, padding=1,
                                  groups=bottleneck // group, bias=False, batch_norm=bn)]
                if self.se_ratio is not None:
                    squeeze = max(1, int(round(self.se_ratio * width_in)))  # never 0 (only tiny designs)
                    main.append(construct(SqueezeExcite, name="se", squeeze=squeeze))
                main.append(construct(Conv, name="c", out=width, kernel=1, bias=False, batch_norm=bn,
                                      activation="none"))
                blocks.append(construct(Residual, name=str(index), layers=main, shortcut="auto",
                                        projection=Projection(), activation="relu", shortcut_first=True,
                                        block="res_bottleneck"))
                width_in = width
            stages.append(construct(Sequence, name=f"block{stage_index}", layers=blocks, block="stage"))
        return construct(Sequence, name=self.name, layers=stages, block="regnet")

    def scale_widths(self, scaler) -> "RegNet":
        factor = scaler.multiplier
        w_0 = max(QUANTUM, int(round(self.w_0 * factor / QUANTUM)) * QUANTUM)
        return self.model_copy(update={"w_0": w_0, "w_a": self.w_a * factor})
