"""``vgg_stage``: a VGG stage (a macro): ``convs`` 3x3/1 convolutions of ``out`` channels, then a 2x2/2 max pool."""

from __future__ import annotations

from typing import Literal

from archlens.layers import register
from archlens.layers.base import LayerType, construct
from archlens.layers.containers import Sequence
from archlens.layers.conv import Conv
from archlens.layers.fields import OptionalBatchNorm, PositiveInt
from archlens.layers.pooling import MaxPool


@register
class VGGStage(LayerType):
    """A VGG stage: ``convs`` 3x3/1 convolutions (padding 1, ReLU) of ``out`` channels, then a 2x2/2 max
    pool; it expands into a ``sequence`` labelled ``vgg_stage`` (``conv1`` ... ``pool``)."""

    type: Literal["vgg_stage"] = "vgg_stage"
    convs: PositiveInt
    out: PositiveInt
    batch_norm: OptionalBatchNorm = None

    macro = True
    widths = ("out",)

    def size_hint(self) -> int:
        return self.convs + 2

    def expand(self, walker, name, shape, where) -> Sequence:
        walker.reserve(self.convs + 1, where)
        convs = [construct(Conv, name=f"conv{i + 1}", out=self.out, kernel=3, padding=1, batch_norm=self.batch_norm)
                 for i in range(self.convs)]
        pool = construct(MaxPool, name="pool", kernel=2, stride=2)
        return construct(Sequence, name=self.name, layers=[*convs, pool], block="vgg_stage")
