"""What every layer type is: a frozen pydantic model that knows its own shapes, counts and module.

A layer type is one class in one module, registered with :func:`archlens.layers.register`. It
declares its fields (pydantic) and implements, for the engines and tools that dispatch through it:

* ``infer(walker, name, shape) -> shape`` (primitives): check the input, record what the layer
  computes (``walker.record(...)`` with an :class:`~archlens.counting.formulas.OpCount` from
  :mod:`archlens.counting.formulas`) and return the output shape;
* ``forward(walker, name, shape, depth, where)`` (containers): walk the children and combine them;
* ``expand(walker, name, shape, where) -> layer`` (macros): the primitives and containers it stands
  for, given its input shape (a macro never reaches the engines, the builder or the graphs);
* ``build(builder, name, shape) -> nn.Module``: the PyTorch module (torch imported there only);
* ``children()``: the lists of layers a container holds, for every generic walk (graphs, ``fit``,
  size limits); ``replace_children(lists)`` the same container over other lists;
* ``detail()``: a short note for graphs (``7x7/2``);
* ``scale_widths(scaler)``: the layer with its channel counts scaled (``archlens fit``), or
  :class:`CannotScale` saying plainly why not.

Shapes are tuples with the batch first: ``(N, C, H, W)`` for images, ``(N, F)`` for flat features,
``(N, T, D)`` for tokens (T tokens of D features each) and ``(N, T)`` for token ids, the input of a
language model (:class:`TokenIds`, a tuple that says so). Tokens made from an image's positions carry
their grid (:class:`TokenGrid`: ``T = H x W``), which windowed attention and patch merging need.
Both are tuples and compare equal to plain ones, so records match the torch engine's shapes.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Sequence

from pydantic import field_validator

from archlens.errors import ArchlensError, ShapeError
from archlens.layers.fields import Model, check_name

if TYPE_CHECKING:  # pragma: no cover
    from archlens.layers.walk import Walker

Shape = tuple[int, ...]
Depth = tuple[int, int]


class Builder(Protocol):
    """What a layer type's ``build`` may ask of the builder (:class:`archlens.builder.Builder`)."""

    train: bool
    vocab: int | None
    """The vocabulary of the network's token-id input (an embedding's default)."""
    cache: int
    """A decoding step's key-value cache, in tokens (0: a full forward pass)."""
    shared: dict
    """What layers built earlier leave for later ones (a rotary_embedding's tables for attention)."""

    def layers(self, layers: Sequence["LayerType"], prefix: str) -> "OrderedDict[str, Any]":
        """The modules of child ``layers`` by name (each builds its own)."""


class CannotScale(ArchlensError):
    """``archlens fit`` cannot scale this layer's widths (the message says why and what to do)."""


def shape_text(shape: Shape) -> str:
    return "x".join(map(str, shape))


class LayerType(Model):
    """Fields every layer has. ``name`` becomes the module name; when omitted, the walk fills in
    ``<type>_<position>`` so every module has a stable name."""

    name: str | None = None

    macro: ClassVar[bool] = False
    """True for types that only expand into others (``inception``, ``repeat``, a block)."""
    leaf: ClassVar[bool] = True
    """True for primitives (types that implement ``infer``, not ``forward``); set by the registry."""
    kind: ClassVar[str | None] = None
    """The record kind of a primitive (defaults to its type name)."""
    depth_step: ClassVar[Depth] = (0, 0)
    """What the layer adds to the depth figures: ``(1, 1)`` a layer with weights, ``(0, 1)`` pooling."""
    widths: ClassVar[tuple[str, ...]] = ()
    """Fields holding channel counts that ``archlens fit`` scales."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return check_name(value)

    @property
    def key(self) -> str:
        """The key that names this layer's type in a spec file (a block use: the block's name)."""
        return self.type

    # --- the walk (analytic engine and expansion) ---

    def forward(self, walker: "Walker", name: str, shape: Shape, depth: Depth, where: str
                ) -> tuple["LayerType", Shape, Depth]:
        """The layer as walked (children expanded and named), its output shape and depth."""
        out = self.infer(walker, name, shape)
        step = self.depth_step
        if step != (0, 0):
            depth = (depth[0] + step[0], depth[1] + step[1])
        return self, out, depth

    def infer(self, walker: "Walker", name: str, shape: Shape) -> Shape:
        """A primitive's output shape (its record made through ``walker``). A type defines this or
        :meth:`forward`; :func:`archlens.layers.register` refuses one that defines neither, so this body
        is only reached by an unregistered subclass."""
        raise NotImplementedError(f"{type(self).__name__} implements neither infer nor forward")

    def expand(self, walker: "Walker", name: str, shape: Shape, where: str) -> "LayerType":
        """A macro's primitives and containers (``macro = True``; :func:`archlens.layers.register` refuses a
        macro without it, so this body is only reached by calling it on a type that is not a macro)."""
        raise NotImplementedError(f"{type(self).__name__} is not a macro")

    # --- the tree ---

    def children(self) -> Sequence[tuple[str, Sequence["LayerType"]]]:
        """``(prefix, layers)`` for each list of layers this layer holds; names nest under ``prefix``
        (relative to this layer's name; ``""`` for direct children)."""
        return ()

    def replace_children(self, lists: Sequence[Sequence["LayerType"]]) -> "LayerType":
        """This layer over other child lists (same order as :meth:`children`)."""
        return self

    def size_hint(self) -> int:
        """A lower bound of the layers this one expands to (checked against the limit before any work)."""
        return 1 + sum(layer.size_hint() for _, layers in self.children() for layer in layers)

    # --- other tools ---

    def build(self, builder: Builder, name: str, shape: Shape) -> Any:
        raise NotImplementedError(f"{type(self).__name__} cannot be built")

    def detail(self) -> str | None:
        """A short note for graph labels (kernel and stride, a probability ...), or None."""
        return None

    def scale_widths(self, scaler: "Scaler") -> "LayerType":
        """This layer with its widths scaled by ``scaler`` (``archlens fit``); containers scale their children."""
        lists = self.children()
        updates = {field: scaler.width(getattr(self, field)) for field in self.widths
                   if getattr(self, field) is not None}
        layer = self.model_copy(update=updates) if updates else self
        if lists:
            layer = layer.replace_children([[child.scale_widths(scaler) for child in layers] for _, layers in lists])
        return layer

    def scale_depth(self, depth) -> "LayerType":
        """This layer with its repeat counts scaled by ``depth(times) -> times`` (``archlens fit --vary
        depth``); containers scale their children, ``repeat`` its count."""
        lists = self.children()
        if not lists:
            return self
        return self.replace_children([[child.scale_depth(depth) for child in layers] for _, layers in lists])


_DEFAULTS: dict[type, dict] = {}


def construct(model: type, **values: Any) -> Any:
    """A model instance from values known to be valid, without validation (macro expansion runs on
    every profile of a new spec, the hot path of ``archlens fit``): what ``model_construct`` does for
    these simple models (defaults filled in, fields set recorded), in a fraction of its time."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = {name: field.get_default(call_default_factory=True) for name, field in model.model_fields.items()}
        _DEFAULTS[model] = defaults
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", {**defaults, **values})
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


class Scaler:
    """How ``archlens fit`` scales a width: ``width(channels, groups)`` rounds ``channels x multiplier``;
    ``keep`` holds the ids of layers whose width stays (the classifier); ``blocks`` are the spec's own."""

    def __init__(self, width, multiplier: float = 1.0, keep: frozenset[int] = frozenset(),
                 blocks: dict[str, Any] | None = None):
        self._width = width
        self.multiplier = multiplier
        self.keep = keep
        self.blocks = blocks or {}

    def width(self, channels: int, groups: int = 1) -> int:
        return self._width(channels, groups)


class TokenIds(tuple):
    """The shape ``(N, T)`` of token ids: integers indexing a vocabulary (an ``embedding`` reads them),
    not features. Equal to the plain tuple.

    >>> TokenIds((1, 128)) == (1, 128)
    True
    """

    __slots__ = ()


class TokenGrid(tuple):
    """The shape ``(N, T, D)`` of tokens laid out on a ``grid`` of ``H x W`` positions (``T = H W``):
    the patches of an image (``to_tokens``). The walk keeps the grid through layers that keep the
    token count (norms, linear layers, attention, residuals). Equal to the plain tuple.

    >>> TokenGrid((1, 196, 768), (14, 14)).grid
    (14, 14)
    """

    def __new__(cls, shape, grid: tuple[int, int]):
        instance = super().__new__(cls, shape)
        instance.grid = (grid[0], grid[1])
        return instance

    def __reduce__(self):
        return (TokenGrid, (tuple(self), self.grid))


def with_grid_of(source: Shape, out: Shape) -> Shape:
    """``out`` with ``source``'s grid when ``source`` is a :class:`TokenGrid` and ``out`` has its tokens
    (a layer that keeps the tokens of a grid keeps the grid: a linear layer, attention, a residual)."""
    if source.__class__ is TokenGrid and out.__class__ is tuple and len(out) == 3 and out[1] == source[1]:
        return TokenGrid(out, source.grid)
    return out


RANK_NAMES = {4: "an image-shaped input (N x C x H x W)", 2: "a flat input (N x features)",
              3: "tokens (N x T x D)"}


def require_rank(name: str, kind: str, shape: Shape, *ranks: int) -> None:
    """A :class:`ShapeError` unless ``shape`` has one of ``ranks`` dimensions (batch included); token
    ids are accepted by no layer but ``embedding``."""
    if len(shape) in ranks and shape.__class__ is not TokenIds:
        return
    need = " or ".join(RANK_NAMES[rank] for rank in ranks if rank in RANK_NAMES)
    if shape.__class__ is TokenIds:
        raise ShapeError(f"{kind} needs {need}, got token ids {shape_text(shape)}", where=name,
                         hint="an embedding turns token ids into features: put one first")
    if 4 in ranks:
        fix = "turn tokens back into a map with to_image" if len(shape) == 3 else "remove the flatten before it"
    elif len(shape) == 4:
        fix = "add a flatten layer before it"
    else:
        fix = "check the layers before it"
    raise ShapeError(f"{kind} needs {need}, got {shape_text(shape)}", where=name, hint=fix)


def channels_of(shape: Shape) -> int:
    """The channel (feature) count of an image ``(N, C, H, W)``, flat ``(N, F)`` or token ``(N, T, D)`` tensor."""
    return shape[-1] if len(shape) == 3 else shape[1]
