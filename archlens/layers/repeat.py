"""``repeat``: one layer ``times`` in a row (a stage of identical blocks), the first with its own fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError, model_validator

from archlens.layers import register, validate_layers
from archlens.layers.base import LayerType, construct
from archlens.layers.containers import Sequence
from archlens.layers.fields import Line, PositiveInt


def with_fields(layer: LayerType, fields: dict[str, Any], walker, where: str) -> LayerType:
    """``layer`` with some of its fields (a block's arguments) replaced, validated like a new layer."""
    from archlens.layers.problems import spec_error
    from archlens.layers.serialize import file_form

    ((key, body),) = file_form(layer).items()
    try:
        return validate_layers([{key: {**body, **fields}}], blocks=walker.blocks)[0]
    except ValidationError as error:
        raise spec_error(error, where, strip=2) from None


@register
class Repeat(LayerType):
    """``layer`` repeated ``times`` in a row, named ``0``, ``1``, ... (PyTorch's ``nn.Sequential`` names);
    ``first`` replaces fields of the first one (a stage's first block has its own stride and width);
    ``index`` names a parameter of the repeated block that each copy gets its position in (0, 1, ...):
    a stochastic-depth rate that grows block by block. Expands into a ``sequence`` labelled ``block``
    (default ``repeat``)."""

    type: Literal["repeat"] = "repeat"
    times: PositiveInt
    layer: "AnyLayer"  # noqa: F821
    first: dict[str, Any] = {}
    index: str | None = None
    block: Line | None = None

    macro = True

    @model_validator(mode="after")
    def _index_is_a_block_parameter(self) -> "Repeat":
        if self.index is not None:
            if not self.index.isidentifier():
                raise ValueError(f"index must be a parameter name, got {self.index!r}")
            if self.layer.type != "block":
                raise ValueError("index gives each copy its position as a parameter of a block: the repeated "
                                 f"layer must use a block defined under blocks:, not {self.layer.key!r}")
        return self

    def size_hint(self) -> int:
        return 1 + self.times * self.layer.size_hint()

    def children(self):
        return (("", [self.layer]),)

    def replace_children(self, lists):
        return self.model_copy(update={"layer": lists[0][0]})

    def expand(self, walker, name, shape, where) -> Sequence:
        walker.reserve(self.times * self.layer.size_hint(), where)
        rest = self.layer.model_copy(update={"name": None}) if self.layer.name is not None else self.layer
        first = with_fields(rest, self.first, walker, f"{where}.first") if self.first else rest
        layers = []
        for position in range(self.times):
            layer = first if position == 0 else rest
            fields = {**layer.__dict__, "name": str(position)}
            if self.index is not None:  # a block use (checked): its parameter checked where it expands
                fields["args"] = {**layer.args, self.index: position}
            layers.append(construct(type(layer), **fields))
        return construct(Sequence, name=self.name, layers=layers, block=self.block or "repeat")

    def scale_depth(self, depth) -> "Repeat":
        return self.model_copy(update={"times": depth(self.times), "layer": self.layer.scale_depth(depth)})

    def scale_widths(self, scaler):
        layer = self.layer.scale_widths(scaler)
        first = self.first
        if first:  # scale the first one's own widths as the layer's would be
            from archlens.layers.serialize import file_form

            merged = with_fields(self.layer, first, scaler, "first").scale_widths(scaler)
            ((_, body),) = file_form(merged).items()
            first = {key: body.get(key, value) for key, value in first.items()}
        return self.model_copy(update={"layer": layer, "first": first})

