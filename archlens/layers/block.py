"""Blocks defined in the spec file itself: a bottleneck, an MBConv, a fire module, written once
with parameters and used with different numbers.

::

    blocks:
      fire:
        params: {squeeze: required, expand: required}
        widths: [squeeze, expand]          # what `archlens fit` scales
        layers:
          - conv: {name: squeeze, out: $squeeze, kernel: 1}
          - parallel:
              branches:
                - {name: expand1x1, layers: [conv: {out: $expand, kernel: 1}]}
                - {name: expand3x3, layers: [conv: {out: $expand, kernel: 3, padding: 1}]}
    layers:
      - fire: {name: fire2, squeeze: 16, expand: 64}

A use is expanded where it stands, knowing its input: besides its parameters (and the network's
``params``), its layers may use ``in_channels`` (a token's features, for tokens), ``in_height`` and
``in_width`` (an image's, or the grid of tokens made from one) and ``in_tokens``. A block of one
layer becomes that layer (named as the use, labelled with the block's name); a block of several
becomes a ``sequence`` of them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from typing_extensions import Annotated

from archlens.errors import SpecError, did_you_mean
from archlens.layers import register, validate_layers
from archlens.layers.base import CannotScale, LayerType, TokenIds, construct
from archlens.layers.containers import Sequence
from archlens.layers.expressions import present_layers, substitute
from archlens.layers.fields import Model, Text

REQUIRED = "required"
"""A parameter's default that means "every use must give it"."""
BUILTIN_PARAMS = ("in_channels", "in_height", "in_width", "in_tokens")
"""What a block's layers know of their input besides their parameters."""
MAX_BLOCK_NESTING = 32


class BlockDef(Model):
    """A block's definition: its parameters (with defaults, or ``required``), which of them are
    channel counts (``widths``, for ``archlens fit``), and its layers (with ``$param`` and ``${...}``)."""

    description: Text = ""
    params: dict[str, Any] = {}
    widths: list[str] | None = None
    layers: Annotated[list[Any], Field(min_length=1)]

    @field_validator("params")
    @classmethod
    def _param_names(cls, params: dict[str, Any]) -> dict[str, Any]:
        for name in params:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"parameter name {name!r} must be an identifier")
            if name in BUILTIN_PARAMS or name == "name":
                raise ValueError(f"parameter name {name!r} is taken (the layer's name and its input's sizes)")
        return params

    @model_validator(mode="after")
    def _widths_are_params(self) -> "BlockDef":
        for width in self.widths or ():
            if width not in self.params:
                raise ValueError(f"widths names {width!r}, which is not one of its params")
        return self


def block_input_scope(shape: tuple[int, ...]) -> dict[str, int]:
    """``in_channels`` (and ``in_height``, ``in_width`` of an image; ``in_tokens`` and a token's features
    as ``in_channels`` for tokens, with the grid of tokens made from an image) for a block's expressions."""
    if len(shape) == 3:
        scope = {"in_channels": shape[2], "in_tokens": shape[1]}
        grid = getattr(shape, "grid", None)
        if grid is not None:
            scope.update(in_height=grid[0], in_width=grid[1])
        return scope
    scope = {"in_channels": shape[1]}
    if len(shape) == 4:
        scope.update(in_height=shape[2], in_width=shape[3])
    elif shape.__class__ is TokenIds:
        scope = {"in_tokens": shape[1]}
    return scope


@register
class BlockUse(LayerType):
    """A use of one of the spec's ``blocks``, written ``{bottleneck: {name: b1, width: 64}}``."""

    type: Literal["block"] = "block"
    block: str
    args: dict[str, Any] = {}

    macro = True

    def file_key_and_body(self) -> tuple[str, dict[str, Any]]:
        return self.block, dict(self.args)

    @property
    def key(self) -> str:
        return self.block

    def definition(self, blocks: dict[str, BlockDef], where: str) -> BlockDef:
        definition = blocks.get(self.block)
        if definition is None:
            raise SpecError(f"no block {self.block!r} is defined", where=where,
                            hint=did_you_mean(self.block, blocks) or "define it under blocks:")
        return definition

    def arguments(self, definition: BlockDef, where: str) -> dict[str, Any]:
        for arg in self.args:
            if arg not in definition.params:
                hint = did_you_mean(str(arg), definition.params)
                raise SpecError(f"block {self.block!r} has no parameter {arg!r}", where=where,
                                hint=hint or f"its parameters: {', '.join(definition.params) or 'none'}")
        missing = [p for p, default in definition.params.items() if _is_required(default) and p not in self.args]
        if missing:
            raise SpecError(f"block {self.block!r} needs {', '.join(missing)}", where=where)
        return {**{p: d for p, d in definition.params.items() if not _is_required(d)}, **self.args}

    def expand(self, walker, name, shape, where) -> LayerType:
        if len(walker.block_chain) >= MAX_BLOCK_NESTING:
            raise SpecError(f"blocks nest deeper than {MAX_BLOCK_NESTING} levels", where=where)
        definition = self.definition(walker.blocks, where)
        scope = {**walker.params, **self.arguments(definition, where), **block_input_scope(shape)}
        data = present_layers(substitute(definition.layers, scope, where), where)
        if not data:
            raise SpecError(f"block {self.block!r} leaves out every layer here (each layer's when: is false)",
                            where=where)
        try:
            layers = validate_layers(data, blocks=walker.blocks)
        except ValidationError as error:
            from archlens.layers.problems import spec_error

            raise spec_error(error, where, data=data, prefix=f"in block {self.block!r}, layers") from None
        if len(layers) == 1:
            layer = layers[0]
            update = {"name": self.name}
            if "block" in type(layer).model_fields and getattr(layer, "block") is None:
                update["block"] = self.block
            return layer.model_copy(update=update)
        return construct(Sequence, name=self.name, layers=layers, block=self.block)

    def scale_widths(self, scaler) -> "BlockUse":
        definition = scaler.blocks.get(self.block)
        if definition is None:  # pragma: no cover - the walk reports it first
            raise CannotScale(f"no block {self.block!r} is defined")
        if definition.widths is None:
            raise CannotScale(
                f"fit cannot scale block {self.block!r}: it does not say which parameters are channel counts",
                hint="list them under the block's widths: (widths: [] if none are)")
        args = dict(self.args)
        for width in definition.widths:
            value = args.get(width, definition.params[width])
            if isinstance(value, int) and not isinstance(value, bool):
                args[width] = scaler.width(value)
        return self.model_copy(update={"args": args})


def _is_required(default: Any) -> bool:
    return isinstance(default, str) and default == REQUIRED


__all__ = ["BUILTIN_PARAMS", "REQUIRED", "BlockDef", "BlockUse"]
