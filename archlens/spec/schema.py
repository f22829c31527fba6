"""The spec language: typed, frozen pydantic models, unknown fields rejected.

A spec file is a mapping with ``name``, ``description``, ``input``, ``layers`` and optional
``metadata`` and ``budget``. Each entry of ``layers`` is a mapping with exactly one key, the layer
type, whose value holds its fields::

    layers:
      - conv: {name: conv1, out: 64, kernel: 7, stride: 2, padding: 3}
      - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
      - inception: {name: inception_3a, ch1x1: 64, ch3x3_reduce: 96, ch3x3: 128,
                    ch5x5_reduce: 16, ch5x5: 32, pool_proj: 32}

Primitives: conv, maxpool, avgpool, adaptive_avgpool, lrn, relu, softmax, dropout, flatten, linear,
``parallel`` (branches concatenated on channels), ``sequence`` (a named group) and ``aux`` (a side
output used only in training). Macros: ``inception`` and ``vgg_stage``; they expand into
primitives (:mod:`archlens.spec.expand`) before anything counts or builds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
Number = Annotated[Union[StrictInt, float], Field(allow_inf_nan=False)]
# A kernel, stride or output size: one integer for both sides, or [height, width].
Size = Union[PositiveInt, tuple[PositiveInt, PositiveInt]]
Padding = Union[NonNegativeInt, tuple[NonNegativeInt, NonNegativeInt]]
Activation = Literal["relu", "none"]

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NAME_RULE = "letters, digits and underscores, starting with a letter or underscore, at most 64"


def _no_control_characters(allowed: str):
    """A validator refusing control characters (an escape sequence would reach the terminal, a
    newline would break a one-line error, a CSV row or a graph label); ``allowed`` ones pass."""

    def check(value: str) -> str:
        for position, character in enumerate(value):
            if (ord(character) < 32 or 127 <= ord(character) < 160) and character not in allowed:
                raise ValueError(f"must not contain control characters (found {character!r} at position {position})")
        return value

    return check


# Free text that reaches reports and graphs (renderers escape it): a line, or a paragraph.
Line = Annotated[str, AfterValidator(_no_control_characters(""))]
Text = Annotated[str, AfterValidator(_no_control_characters("\n\t"))]


def _web_address(value: str) -> str:
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError(f"must be a web address starting with https:// or http://, got {value[:60]!r}")
    return value


Url = Annotated[Line, AfterValidator(_web_address)]


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)


class _Layer(_Model):
    """Fields every layer has. ``name`` becomes the module name; when omitted, expansion fills in
    ``<type>_<position>`` so every module has a stable name."""

    name: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.match(value):
            raise ValueError(f"layer name {value!r} is not allowed: use {NAME_RULE} characters")
        return value


def _batch_norm_shorthand(value: Any) -> Any:
    """``batch_norm: true`` means default BatchNorm; ``false`` or absent means none."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


class BatchNorm(_Model):
    """BatchNorm after a convolution (PyTorch defaults: eps 1e-5, momentum 0.1)."""

    eps: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e-5
    momentum: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.1


OptionalBatchNorm = Annotated[Union[BatchNorm, None], BeforeValidator(_batch_norm_shorthand)]


class Conv(_Layer):
    """A 2-D convolution, optionally followed by BatchNorm and an activation (ReLU by default)."""

    type: Literal["conv"] = "conv"
    out: PositiveInt
    kernel: Size
    stride: Size = 1
    padding: Padding = 0
    groups: PositiveInt = 1
    bias: StrictBool = True
    batch_norm: OptionalBatchNorm = None
    activation: Activation = "relu"


class MaxPool(_Layer):
    """2-D max pooling; ``stride`` defaults to ``kernel``."""

    type: Literal["maxpool"] = "maxpool"
    kernel: Size
    stride: Size | None = None
    padding: Padding = 0
    ceil_mode: StrictBool = False


class AvgPool(_Layer):
    """2-D average pooling; ``stride`` defaults to ``kernel``."""

    type: Literal["avgpool"] = "avgpool"
    kernel: Size
    stride: Size | None = None
    padding: Padding = 0
    ceil_mode: StrictBool = False
    count_include_pad: StrictBool = True


class AdaptiveAvgPool(_Layer):
    """Adaptive average pooling to a fixed ``output`` size."""

    type: Literal["adaptive_avgpool"] = "adaptive_avgpool"
    output: Size


class LRN(_Layer):
    """Local response normalization across channels (PyTorch's ``LocalResponseNorm``)."""

    type: Literal["lrn"] = "lrn"
    size: PositiveInt
    alpha: Number = 1e-4
    beta: Number = 0.75
    k: Number = 1.0


class ReLU(_Layer):
    type: Literal["relu"] = "relu"


class Softmax(_Layer):
    """Softmax over the feature (channel) dimension."""

    type: Literal["softmax"] = "softmax"


class Flatten(_Layer):
    type: Literal["flatten"] = "flatten"


class Dropout(_Layer):
    """Dropout with drop probability ``p``; the identity at inference."""

    type: Literal["dropout"] = "dropout"
    p: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.5


class Linear(_Layer):
    """A fully connected layer; ``in`` features are inferred from the input."""

    type: Literal["linear"] = "linear"
    out: PositiveInt
    bias: StrictBool = True
    activation: Activation = "none"


class Branch(_Model):
    """One branch of a ``parallel`` layer: a name and a list of layers."""

    name: str
    layers: Annotated[list["Layer"], Field(min_length=1)]

    _check_name = field_validator("name")(_Layer._check_name.__func__)  # type: ignore[attr-defined]


class Parallel(_Layer):
    """Branches applied to the same input, outputs concatenated on channels.

    ``block`` labels the group for reports (``inception`` for expanded Inception modules).
    """

    type: Literal["parallel"] = "parallel"
    branches: Annotated[list[Branch], Field(min_length=1)]
    block: Line | None = None


class Sequence(_Layer):
    """A named group of layers applied one after another (a VGG stage, a stem)."""

    type: Literal["sequence"] = "sequence"
    layers: Annotated[list["Layer"], Field(min_length=1)]
    block: Line | None = None


class Aux(_Layer):
    """A side output (the paper's auxiliary classifier): it reads the current tensor, computes
    its own output, and passes the input on unchanged. Present only in training mode."""

    type: Literal["aux"] = "aux"
    layers: Annotated[list["Layer"], Field(min_length=1)]


class Inception(_Layer):
    """The Inception module (macro), with the paper's six numbers by name.

    ``variant: reduced`` is the paper's figure 2b (1x1 reductions before the 3x3 and 5x5
    convolutions, a 1x1 projection after the pool). ``variant: naive`` is figure 2a: 1x1, 3x3 and
    5x5 convolutions and 3x3/1 max pooling on the same input, concatenated; the reduce and
    projection numbers are then unused and may be omitted.
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

    @model_validator(mode="after")
    def _reductions_present(self) -> "Inception":
        if self.variant == "reduced":
            missing = [f for f in ("ch3x3_reduce", "ch5x5_reduce", "pool_proj") if getattr(self, f) is None]
            if missing:
                raise ValueError(
                    f"variant 'reduced' needs {', '.join(missing)}; give them, or set variant: naive"
                )
        return self


class VGGStage(_Layer):
    """A VGG stage (macro): ``convs`` 3x3/1 convolutions of ``out`` channels, then 2x2/2 max pool."""

    type: Literal["vgg_stage"] = "vgg_stage"
    convs: PositiveInt
    out: PositiveInt
    batch_norm: OptionalBatchNorm = None


LAYER_TYPES: dict[str, type[_Layer]] = {
    model.model_fields["type"].default: model
    for model in (Conv, MaxPool, AvgPool, AdaptiveAvgPool, LRN, ReLU, Softmax, Flatten, Dropout, Linear,
                  Parallel, Sequence, Aux, Inception, VGGStage)
}
MACRO_TYPES = ("inception", "vgg_stage")


def _single_key_layer(value: Any) -> Any:
    """Turn the file form ``{conv: {out: 64, ...}}`` into the tagged form pydantic validates."""
    if isinstance(value, _Layer):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"a layer must be a mapping like {{conv: {{out: 64, kernel: 3}}}}, not {_describe(value)}")
    if "type" in value and isinstance(value.get("type"), str) and value["type"] in LAYER_TYPES:
        return value  # already tagged (Python API users may pass dicts with a type field)
    if len(value) != 1:
        keys = ", ".join(k if isinstance(k, str) and k.isidentifier() else repr(k) for k in value) or "none"
        raise ValueError(f"a layer is a mapping with exactly one key, its type; found keys: {keys}")
    ((kind, body),) = value.items()
    if kind not in LAYER_TYPES:
        from archlens.errors import did_you_mean

        hint = did_you_mean(str(kind), LAYER_TYPES)
        raise ValueError(
            f"unknown layer type {kind!r}" + (f"; {hint}" if hint else f"; known types: {', '.join(LAYER_TYPES)}")
        )
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValueError(f"the fields of {kind!r} must be a mapping, not {_describe(body)}")
    if "type" in body:
        raise ValueError(f"{kind!r} has no field 'type': the layer type is the key")
    return {**body, "type": kind}


def _describe(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


Layer = Annotated[
    Union[Conv, MaxPool, AvgPool, AdaptiveAvgPool, LRN, ReLU, Softmax, Flatten, Dropout, Linear,
          Parallel, Sequence, Aux, Inception, VGGStage],
    Field(discriminator="type"),
    BeforeValidator(_single_key_layer),
]


class InputShape(_Model):
    """The shape of one input sample (batch size is a profiling option)."""

    channels: PositiveInt = 3
    height: PositiveInt = 224
    width: PositiveInt = 224


class Accuracy(_Model):
    """Published accuracy of a trained model and where it was published."""

    top1: Annotated[float, Field(ge=0, le=100)]
    top5: Annotated[float, Field(ge=0, le=100)] | None = None
    dataset: Text = "ImageNet-1k validation"
    source: Text


class Metadata(_Model):
    """Where a network comes from."""

    paper: Text | None = None
    url: Url | None = None
    accuracy: Accuracy | None = None
    notes: Text | None = None


def _quantity(value: str) -> str:
    """A budget quantity such as ``1.5G`` or ``64MiB``, checked when the spec is read (kept as written)."""
    from archlens.errors import UnitError
    from archlens.units import parse_quantity

    try:
        parse_quantity(value)
    except UnitError as error:
        raise ValueError(str(error)) from None
    return value


Quantity = Union[Annotated[StrictInt, Field(ge=0)], Annotated[str, AfterValidator(_quantity)]]


class BlockBudget(_Model):
    """A limit for every block whose name matches ``match`` (shell-style: ``inception_*``)."""

    match: Line
    max_params: Quantity | None = None
    max_macs: Quantity | None = None
    max_flops: Quantity | None = None
    max_activations: Quantity | None = None


class Budget(_Model):
    """Compute limits that ``archlens check`` holds the network to."""

    max_params: Quantity | None = None
    max_macs: Quantity | None = None
    max_flops: Quantity | None = None
    max_activations: Quantity | None = None
    max_depth: PositiveInt | None = None
    blocks: list[BlockBudget] = []


class NetworkSpec(_Model):
    """A whole network: the top level of a spec file."""

    name: Annotated[Line, Field(min_length=1, max_length=200)]
    description: Text = ""
    input: InputShape = InputShape()
    layers: Annotated[list[Layer], Field(min_length=1)]
    metadata: Metadata | None = None
    budget: Budget | None = None


for _model in (Branch, Parallel, Sequence, Aux, NetworkSpec):
    _model.model_rebuild()
