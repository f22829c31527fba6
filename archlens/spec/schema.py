"""The spec language's top level: a network's name, input, layers, metadata, budget, and its own
``params`` and ``blocks``. Layer types live in :mod:`archlens.layers` (one module each).

A spec file is a mapping with ``name``, ``description``, ``input``, ``layers`` and optional
``metadata``, ``budget``, ``params``, ``blocks`` and ``extends``. Each entry of ``layers`` is a mapping
with exactly one key, the layer type (or one of the spec's blocks), whose value holds its fields::

    layers:
      - conv: {name: conv1, out: 64, kernel: 7, stride: 2, padding: 3}
      - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
      - inception: {name: inception_3a, ch1x1: 64, ch3x3_reduce: 96, ch3x3: 128,
                    ch5x5_reduce: 16, ch5x5: 32, pool_proj: 32}
"""

from __future__ import annotations

from typing import Annotated, Any, List, Union

from pydantic import AfterValidator, Field, StrictInt, ValidationInfo, field_validator, model_validator

from archlens.layers import LAYER_TYPES, complete, holds_layers
from archlens.layers.block import BlockDef
from archlens.layers.fields import Line, Model, PositiveInt, Text, pair  # noqa: F401 (re-exported)
from archlens.layers.inception import Inception  # noqa: F401 (re-exported for the analyses)
from archlens.layers.problems import FIELD_MODELS, TOP_LEVEL


def _web_address(value: str) -> str:
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError(f"must be a web address starting with https:// or http://, got {value[:60]!r}")
    return value


Url = Annotated[Line, AfterValidator(_web_address)]


class InputShape(Model):
    """The shape of one input sample (batch size is a profiling option).

    An image by default (``channels``, ``height``, ``width``: 3 x 224 x 224); token ids of a
    vocabulary for a language model (``{tokens: 128, vocab: 30522}``: a batch of ``N x 128``
    integers); tokens of features (``{tokens: 196, features: 768}``: ``N x 196 x 768``); or flat
    features (``{features: 512}``: ``N x 512``).
    """

    channels: PositiveInt = 3
    height: PositiveInt = 224
    width: PositiveInt = 224
    tokens: PositiveInt | None = None
    vocab: PositiveInt | None = None
    features: PositiveInt | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "InputShape":
        image = sorted({"channels", "height", "width"} & self.model_fields_set)
        if self.tokens is None and self.vocab is not None:
            raise ValueError("vocab goes with tokens: write {tokens: 128, vocab: 30522}")
        if self.tokens is not None and (self.vocab is None) == (self.features is None):
            raise ValueError("tokens need either vocab (token ids: {tokens: 128, vocab: 30522}) or features "
                             "(vectors: {tokens: 196, features: 768}), not both")
        if (self.tokens is not None or self.features is not None) and image:
            raise ValueError(f"{', '.join(image)} describe an image; a token or feature input has none")
        return self

    @property
    def kind(self) -> str:
        """``image``, ``ids`` (token ids), ``tokens`` (token features) or ``features`` (flat)."""
        if self.tokens is not None:
            return "ids" if self.vocab is not None else "tokens"
        return "features" if self.features is not None else "image"

    def shape(self, batch: int = 1) -> tuple[int, ...]:
        """The input's shape with the batch first: ``(N, C, H, W)``, ``(N, T)`` token ids,
        ``(N, T, D)`` or ``(N, F)``.

        >>> InputShape(tokens=128, vocab=30522).shape(8)
        (8, 128)
        """
        from archlens.layers.base import TokenIds

        kind = self.kind
        if kind == "image":
            return (batch, self.channels, self.height, self.width)
        if kind == "ids":
            return TokenIds((batch, self.tokens))
        if kind == "tokens":
            return (batch, self.tokens, self.features)
        return (batch, self.features)


class Accuracy(Model):
    """Published accuracy of a trained model and where it was published."""

    top1: Annotated[float, Field(ge=0, le=100)]
    top5: Annotated[float, Field(ge=0, le=100)] | None = None
    dataset: Text = "ImageNet-1k validation"
    source: Text


Implementation = Annotated[Line, AfterValidator(lambda value: _implementation(value))]


def _implementation(value: str) -> str:
    library, _, model = value.partition(":")
    if library not in ("torchvision", "timm", "transformers") or not model.replace("_", "").isalnum():
        raise ValueError(f"must be torchvision:NAME, timm:NAME or transformers:NAME, got {value[:60]!r}")
    return value


class Reference(Model):
    """Published figures the spec is held to (the tests assert them), where they come from, and the
    implementation a cross-check builds to compare layer by layer (``torchvision:resnet50``)."""

    params: Annotated[StrictInt, Field(ge=0)]
    macs: Annotated[StrictInt, Field(ge=0)] | None = None
    train_params: Annotated[StrictInt, Field(ge=0)] | None = None
    """Parameters in training mode, auxiliary heads included, where they differ."""
    source: Text
    implementation: Implementation | None = None


class Metadata(Model):
    """Where a network comes from."""

    paper: Text | None = None
    url: Url | None = None
    accuracy: Accuracy | None = None
    reference: Reference | None = None
    notes: Text | None = None


def _quantity(kind: str):
    """A validator for a budget quantity such as ``1.5G`` or ``64MiB`` of ``kind`` (``count``: no byte
    units; ``bytes``), checked when the spec is read (kept as written)."""
    from archlens.errors import UnitError
    from archlens.units import parse_quantity

    def check(value: "str | int", info: ValidationInfo) -> "str | int":
        what = info.field_name or "quantity"  # names the count: "MACs are a count"
        try:
            parse_quantity(value, what=what, kind=kind)
        except UnitError as error:  # the location (budget.max_macs) comes first already
            raise ValueError(str(error).removeprefix(what).lstrip()) from None
        return value

    return check


Quantity = Union[Annotated[StrictInt, Field(ge=0)], Annotated[str, AfterValidator(_quantity("any"))]]
Count = Annotated[Quantity, AfterValidator(_quantity("count"))]
"""Parameters, MACs, FLOPs: decimal prefixes only (``64MiB`` of MACs is refused when the spec is read)."""
Bytes = Annotated[Quantity, AfterValidator(_quantity("bytes"))]


class BlockBudget(Model):
    """A limit for every block whose name matches ``match`` (shell-style: ``inception_*``)."""

    match: Line
    max_params: Count | None = None
    max_macs: Count | None = None
    max_flops: Count | None = None
    max_activations: Bytes | None = None


class Budget(Model):
    """Compute limits that ``archlens check`` holds the network to."""

    max_params: Count | None = None
    max_macs: Count | None = None
    max_flops: Count | None = None
    max_activations: Bytes | None = None
    max_depth: PositiveInt | None = None
    max_train_macs: Count | None = None
    """A training step's MACs (forward and backward); with ``max_train_memory`` (its peak, bytes), the check
    profiles a training step (AdamW)."""
    max_train_memory: Bytes | None = None
    blocks: list[BlockBudget] = []


@holds_layers
class NetworkSpec(Model):
    """A whole network: the top level of a spec file."""

    name: Annotated[Line, Field(min_length=1, max_length=200)]
    description: Text = ""
    input: InputShape = InputShape()
    params: dict[str, Any] = {}
    blocks: dict[str, BlockDef] = {}
    layers: Annotated[List["AnyLayer"], Field(min_length=1)]  # noqa: F821 (the registry's union)
    metadata: Metadata | None = None
    budget: Budget | None = None

    @field_validator("params")
    @classmethod
    def _param_names(cls, params: dict[str, Any]) -> dict[str, Any]:
        from archlens.layers.block import BUILTIN_PARAMS

        for name in params:
            if not isinstance(name, str) or not name.isidentifier() or name in BUILTIN_PARAMS:
                raise ValueError(f"parameter name {name!r} must be an identifier (not {', '.join(BUILTIN_PARAMS)})")
        return params

    @field_validator("blocks")
    @classmethod
    def _block_names(cls, blocks: dict[str, BlockDef]) -> dict[str, BlockDef]:
        from archlens.layers.fields import check_name

        for name in blocks:
            check_name(name)
            if name in LAYER_TYPES:
                raise ValueError(f"block name {name!r} is a built-in layer type; choose another")
        return blocks

    @model_validator(mode="after")
    def _blocks_consistent(self) -> "NetworkSpec":
        from archlens.spec.templates import check_blocks

        check_blocks(self.blocks, self.params)
        return self


FIELD_MODELS.update({"input": InputShape, "metadata": Metadata, "accuracy": Accuracy, "reference": Reference,
                     "budget": Budget,
                     "blocks": BlockBudget})
TOP_LEVEL[:] = [NetworkSpec]
complete(NetworkSpec)  # the layer types are registered already: only the network's own fields
