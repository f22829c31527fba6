"""Tokens: the layers that make, extend, read and undo sequences of feature vectors.

``embedding`` (token ids -> tokens), ``position_embedding`` (learned or fixed positions, added),
``segment_embedding`` (BERT's token types), ``class_token`` (a learned token prepended),
``to_tokens`` (a feature map's positions as tokens, on their grid), ``to_image`` (back to a map),
``patch_merge`` (Swin's 2x2 neighbours concatenated) and ``token_pool`` (the class token, or the
tokens' mean). Shapes: :mod:`archlens.layers.base` (``(N, T, D)`` tokens, ``(N, T)`` token ids).
"""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from archlens.counting import formulas as F
from archlens.errors import ShapeError, SpecError
from archlens.layers import register
from archlens.layers.base import LayerType, Shape, TokenGrid, TokenIds, require_rank, shape_text
from archlens.layers.fields import PositiveInt


def grid_of(name: str, kind: str, shape: Shape) -> tuple[int, int]:
    """The ``H x W`` grid of tokens made from an image (a :class:`ShapeError` for tokens without one)."""
    require_rank(name, kind, shape, 3)
    grid = getattr(shape, "grid", None)
    if grid is None:
        raise ShapeError(f"{kind} needs tokens on a grid of positions, got {shape_text(shape)} without one",
                         where=name, hint="make the tokens from a feature map with to_tokens")
    return grid


@register
class Embedding(LayerType):
    """Token ids looked up in a table of ``vocab`` rows of ``dim`` features: ``N x T`` ids to
    ``N x T x dim`` tokens. A lookup is data movement (free); the table is ``vocab x dim`` weights.
    ``vocab`` defaults to the network input's (``input: {tokens: 128, vocab: 30522}``)."""

    type: Literal["embedding"] = "embedding"
    dim: PositiveInt
    vocab: PositiveInt | None = None

    widths = ("dim",)

    def vocabulary(self, walker_or_builder, name: str) -> int:
        vocab = self.vocab if self.vocab is not None else walker_or_builder.vocab
        if vocab is None:
            raise SpecError("embedding needs a vocabulary", where=name,
                            hint="give vocab: N, or token ids as the input: {tokens: 128, vocab: 30522}")
        return vocab

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        if shape.__class__ is not TokenIds:
            raise ShapeError(f"embedding needs token ids (N x T), got {shape_text(shape)}", where=name,
                             hint="make the network's input token ids: input: {tokens: 128, vocab: 30522}")
        vocab = self.vocabulary(walker, name)
        out = (shape[0], shape[1], self.dim)
        walker.record(name, "embedding", shape, out, F.embedding(), vocab * self.dim, backward=self.backward)
        return out

    def backward(self, record, grads):
        """Keeps the token ids (int64) for the table's gradient: each token's gradient added into its row."""
        from archlens.layers.gradients import Effects

        return Effects(F.embedding_backward(F.numel(record.output_shape)), saves=(0,), edges=(0,))

    def build(self, builder, name: str, shape: Shape):
        from torch import nn

        return nn.Embedding(self.vocabulary(builder, name), self.dim)

    def detail(self) -> str | None:
        return f"vocab {self.vocab:,}" if self.vocab is not None else None


@register
class PositionEmbedding(LayerType):
    """Position embeddings added to the tokens: ``learned`` (a table of ``positions`` x D weights, ViT,
    BERT, GPT-2) or fixed sinusoids (``learned: false``: a buffer, no parameters). ``positions``
    defaults to the tokens the layer sees; a decoding step reads the rows after the cache's.
    One add per element."""

    type: Literal["position_embedding"] = "position_embedding"
    positions: PositiveInt | None = None
    learned: StrictBool = True

    def table_rows(self, name: str, tokens: int, offset: int) -> int:
        rows = self.positions if self.positions is not None else offset + tokens
        if offset + tokens > rows:
            last = offset + tokens - 1
            at = (f"{tokens} tokens need" if not offset else f"position {last} needs" if tokens == 1
                  else f"positions {offset} to {last} need")
            raise ShapeError(f"{at} more than the {rows} positions of the table", where=name,
                             hint="use fewer tokens (--tokens, --decode) or a larger table (the layer's positions: field)")
        return rows

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "position_embedding", shape, 3)
        rows = self.table_rows(name, shape[1], walker.cache)
        weights = rows * shape[2] if self.learned else 0
        walker.record(name, "position_embedding", shape, shape, F.elementwise(shape), weights,
                      backward=table_gradient)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import PositionEmbedding as Module

        return Module(self.table_rows(name, shape[1], builder.cache), shape[2], self.learned, builder.cache)

    def detail(self) -> str | None:
        kind = "learned" if self.learned else "sinusoidal"
        return f"{kind}, {self.positions} positions" if self.positions is not None else kind


@register
class SegmentEmbedding(LayerType):
    """BERT's token-type (segment) embeddings: a table of ``segments`` x D weights, of which every token
    gets segment 0's row added (one add per element)."""

    type: Literal["segment_embedding"] = "segment_embedding"
    segments: PositiveInt = 2

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "segment_embedding", shape, 3)
        walker.record(name, "segment_embedding", shape, shape, F.elementwise(shape), self.segments * shape[2],
                      backward=table_gradient)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import SegmentEmbedding as Module

        return Module(self.segments, shape[2])

    def detail(self) -> str:
        return f"{self.segments} segments"


@register
class ClassToken(LayerType):
    """Learned tokens (one by default: ViT's class token) put before the sequence: ``N x T x D`` to
    ``N x (T + tokens) x D``; D weights each, no arithmetic."""

    type: Literal["class_token"] = "class_token"
    tokens: PositiveInt = 1

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "class_token", shape, 3)
        out = (shape[0], shape[1] + self.tokens, shape[2])
        walker.record(name, "class_token", shape, out, F.ZERO, self.tokens * shape[2], backward=self.backward)
        return out

    def backward(self, record, grads):
        """Nothing kept; the tokens' gradient sums their slice of the gradient over the batch (``pool_ops``):
        none at a batch of one, where the expand's gradient is the slice itself."""
        from archlens.layers.gradients import Effects

        batch, _, features = record.input_shape
        summed = grads.weight and batch > 1
        return Effects(F.OpCount(pool_ops=batch * self.tokens * features) if summed else F.ZERO)

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import ClassToken as Module

        return Module(self.tokens, shape[2])


@register
class ToTokens(LayerType):
    """A feature map's positions as tokens: ``N x C x H x W`` to ``N x HW x C`` on an ``H x W`` grid
    (a patch embedding is a strided ``conv`` and this). A view, free."""

    type: Literal["to_tokens"] = "to_tokens"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "to_tokens", shape, 4)
        batch, channels, height, width = shape
        out = TokenGrid((batch, height * width, channels), (height, width))
        walker.record(name, "to_tokens", shape, out, F.ZERO)
        return out

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import ToTokens as Module

        return Module()


@register
class ToImage(LayerType):
    """Tokens on a grid back to a feature map: ``N x HW x C`` to ``N x C x H x W``. A copy, free."""

    type: Literal["to_image"] = "to_image"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        height, width = grid_of(name, "to_image", shape)
        out = (shape[0], shape[2], height, width)
        walker.record(name, "to_image", shape, out, F.ZERO)
        return out

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import ToImage as Module

        return Module(*grid_of(name, "to_image", shape))


@register
class PatchMerge(LayerType):
    """Swin's patch merging: each 2x2 neighbourhood of the grid concatenated into one token, ``N x HW x C``
    to ``N x (H/2)(W/2) x 4C`` (an odd side padded first). A copy, free; the norm and the linear
    reduction that follow are layers of their own."""

    type: Literal["patch_merge"] = "patch_merge"

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        height, width = grid_of(name, "patch_merge", shape)
        grid = ((height + 1) // 2, (width + 1) // 2)
        out = TokenGrid((shape[0], grid[0] * grid[1], 4 * shape[2]), grid)
        walker.record(name, "patch_merge", shape, out, F.ZERO, backward=self.backward)
        return out

    def backward(self, record, grads):
        """Nothing kept; the four neighbours are four slices of the (padded) input, whose four gradients are
        added (3 adds an element of the padded grid)."""
        from archlens.layers.gradients import Effects

        batch, _, channels = record.input_shape
        height, width = record.input_shape.grid if hasattr(record.input_shape, "grid") else (0, 0)
        padded = batch * (height + height % 2) * (width + width % 2) * channels
        return Effects(F.accumulation(padded, 4))

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import PatchMerge as Module

        return Module(*grid_of(name, "patch_merge", shape))


@register
class TokenPool(LayerType):
    """Tokens to one vector: ``first`` takes the first token (ViT's and BERT's class token: a view,
    free), ``mean`` averages them (one add per element, a pooling layer for depth): ``N x T x D`` to
    ``N x D``."""

    type: Literal["token_pool"] = "token_pool"
    mode: Literal["first", "mean"] = "first"

    @property
    def depth_step(self):  # type: ignore[override]
        return (0, 1) if self.mode == "mean" else (0, 0)

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "token_pool", shape, 3)
        out = (shape[0], shape[2])
        ops = F.reduction(shape) if self.mode == "mean" else F.ZERO
        walker.record(name, "token_pool", shape, out, ops, backward=self.backward)
        return out

    def backward(self, record, grads):
        """``first``: a view of the input; ``mean``: nothing kept, the gradient spread and divided (1 an
        input element)."""
        from archlens.layers.gradients import Effects

        if self.mode == "first":
            return Effects(alias=0)
        return Effects(F.elementwise(record.input_shape))

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import TokenPool as Module

        return Module(self.mode)

    def detail(self) -> str:
        return self.mode


def table_gradient(record, grads):
    """``x + rows of a table``: nothing kept; the table's gradient sums the gradient over the batch (and the
    tokens, for a segment's one row): 1 an element, ``pool_ops``."""
    from archlens.layers.gradients import Effects

    return Effects(F.OpCount(pool_ops=F.numel(record.output_shape)) if grads.weight else F.ZERO)


__all__ = ["ClassToken", "Embedding", "PatchMerge", "PositionEmbedding", "SegmentEmbedding", "ToImage", "ToTokens",
           "TokenPool", "grid_of", "table_gradient"]
