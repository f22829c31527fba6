"""Attention within windows of a grid of tokens: ``window_attention`` (Swin's shifted windows with a
relative position bias table; MaxViT's block and grid attention) and ``cosine_window_attention``
(Swin-V2: scaled cosine attention with a continuous position bias from a small MLP).

The tokens must come from a feature map (``to_tokens``: they know their ``H x W`` grid). A
``window`` partition cuts the grid into ``window``-sized tiles (padded up to a multiple, as torchvision
does; a ``shift`` rolls the grid first, and the windows that wrap around are masked: one add a score);
a ``grid`` partition (MaxViT) makes each set of tokens a ``window``-sized grid spread over the whole
map. Either way every set of ``P = window_h x window_w`` tokens attends within itself: ``sets x heads x
P x P`` scores, each costing what :func:`archlens.counting.formulas.attention` counts, plus one add for
the position bias. Records: the block's own (kind ``attention``: the bias, the products, the mask),
then ``qkv`` and ``proj`` on the partitioned tokens (``sets x P x D``), in the order they run.

A position bias is computed on every forward: the table's lookup is free; Swin-V2's MLP over the
relative coordinates (a buffer) and its ``16 sigmoid`` are counted, as the torch engine counts them
(torchvision's published Swin-V2 figures include that MLP).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import StrictBool, model_validator

from archlens.counting import formulas as F
from archlens.errors import ShapeError
from archlens.layers import register
from archlens.layers.attention import head_layout, record_linear
from archlens.layers.base import LayerType, Scaler, Shape
from archlens.layers.fields import Padding, PositiveInt, Size, pair
from archlens.layers.tokens import grid_of

CPB_HIDDEN = 512
"""The width of Swin-V2's continuous position-bias MLP (torchvision's and the paper's)."""


def window_plan(layer, name: str, grid: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int], int]:
    """``(padded grid, effective shift, sets of tokens)`` of a window layer on ``grid``."""
    wh, ww = pair(layer.window)
    height, width = grid
    if layer.partition == "grid":
        if height % wh or width % ww:
            raise ShapeError(f"a {wh}x{ww} grid partition needs a grid divisible by it, got {height}x{width}",
                             where=name, hint="choose an input size whose feature maps the window divides")
        return (height, width), (0, 0), (height // wh) * (width // ww)
    padded = (height + (-height) % wh, width + (-width) % ww)
    sh, sw = pair(layer.shift)
    # torchvision: no shift along a side the window covers whole
    shift = (0 if wh >= padded[0] else sh, 0 if ww >= padded[1] else sw)
    return padded, shift, (padded[0] // wh) * (padded[1] // ww)


class _WindowAttention(LayerType):
    heads: PositiveInt
    window: Size = 7
    shift: Padding = 0
    partition: Literal["window", "grid"] = "window"
    head_dim: PositiveInt | None = None
    out: PositiveInt | None = None
    bias: StrictBool = True
    out_bias: StrictBool = True

    kv_heads: ClassVar[None] = None  # every head has its keys and values (head_layout reads it)
    depth_step = (2, 2)
    widths = ("out",)

    @model_validator(mode="after")
    def _shift_within_window(self) -> "_WindowAttention":
        for shift, size in zip(pair(self.shift), pair(self.window)):
            if shift >= size:
                raise ValueError(f"shift ({shift}) must be smaller than the window ({size})")
        if self.partition == "grid" and pair(self.shift) != (0, 0):
            raise ValueError("a grid partition has no shift")
        return self

    def bias_ops(self, heads: int, tokens: int) -> tuple[F.OpCount, int]:
        """What computing the position bias costs on every forward, and its parameters."""
        raise NotImplementedError

    def score_ops(self, q_shape: Shape) -> F.OpCount:
        """What the scores cost beyond the products, scale and softmax (cosine: the norms, logit scale)."""
        return F.ZERO

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        grid = grid_of(name, self.type, shape)
        batch, tokens, features = shape
        heads, _, head_dim = head_layout(self, name, features)
        padded, shift, sets = window_plan(self, name, grid)
        size = pair(self.window)[0] * pair(self.window)[1]
        out_features = self.out if self.out is not None else features
        windows = batch * sets
        q_shape = (windows, heads, size, head_dim)
        bias, weights = self.bias_ops(heads, size)
        ops = bias + self.score_ops(q_shape) + F.attention(q_shape, q_shape, q_shape)
        # the position bias added to every score, and the shifted windows' mask
        ops = ops + F.pointwise((windows, heads, size, size), 2 if shift != (0, 0) else 1)
        walker.group(name, "attention")
        out = (batch, tokens, out_features)
        walker.record(name, "attention", shape, out, ops, weights, self.own_biases(heads))
        partitioned = (windows, size, features)
        record_linear(walker, f"{name}.qkv", partitioned, 3 * heads * head_dim, self.bias)
        record_linear(walker, f"{name}.proj", (windows, size, heads * head_dim), out_features, self.out_bias)
        return out

    def own_biases(self, heads: int) -> int:
        return 0

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import WindowAttention as Module

        grid = grid_of(name, self.type, shape)
        heads, _, head_dim = head_layout(self, name, shape[2])
        padded, shift, _ = window_plan(self, name, grid)
        return Module(shape[2], heads, head_dim, self.out if self.out is not None else shape[2], grid=grid,
                      padded=padded, window=pair(self.window), shift=shift, partition=self.partition,
                      bias=self.bias, out_bias=self.out_bias, cosine=self.type == "cosine_window_attention",
                      cpb_hidden=CPB_HIDDEN)

    def detail(self) -> str:
        wh, ww = pair(self.window)
        text = f"{self.heads} heads, {self.partition} {wh}x{ww}"
        if pair(self.shift) != (0, 0):
            sh, sw = pair(self.shift)
            text += f", shift {sh}" if sh == sw else f", shift {sh}x{sw}"
        return text

    def scale_widths(self, scaler: Scaler) -> "_WindowAttention":
        update = {"out": scaler.width(self.out)} if self.out is not None else {}
        if self.head_dim is not None:
            update["heads"] = max(1, round(self.heads * scaler.multiplier))
        return self.model_copy(update=update) if update else self


@register
class WindowAttention(_WindowAttention):
    """Attention within windows of a token grid (Swin; MaxViT's ``partition: grid`` too), with a learned
    relative position bias: a table of ``(2 window_h - 1)(2 window_w - 1)`` entries a head, looked up
    (free) and added to the scores. ``shift``: Swin's shifted windows (a rolled grid and a mask)."""

    type: Literal["window_attention"] = "window_attention"

    def bias_ops(self, heads: int, tokens: int) -> tuple[F.OpCount, int]:
        wh, ww = pair(self.window)
        return F.ZERO, (2 * wh - 1) * (2 * ww - 1) * heads


@register
class CosineWindowAttention(_WindowAttention):
    """Swin-V2's window attention: cosine similarity of queries and keys (each normalized: a vector norm,
    a clamp a row and a divide an element) times a learned logit scale a head (clamped, exponentiated:
    two operations a head; its multiply is the scores' scale), and a continuous position bias: an MLP (2 -> 512, ReLU,
    -> heads, no bias) over the ``(2 window_h - 1)(2 window_w - 1)`` relative coordinates, looked up and
    squashed by ``16 sigmoid`` on every forward."""

    type: Literal["cosine_window_attention"] = "cosine_window_attention"

    def bias_ops(self, heads: int, tokens: int) -> tuple[F.OpCount, int]:
        weights = 2 * CPB_HIDDEN + CPB_HIDDEN * heads + heads  # the MLP's weights, the logit scales
        return F.continuous_position_bias(pair(self.window), heads, CPB_HIDDEN), weights

    def own_biases(self, heads: int) -> int:
        return CPB_HIDDEN

    def score_ops(self, q_shape: Shape) -> F.OpCount:
        # queries and keys normalized; the logit scale, clamped and exponentiated a head, is the scores'
        # scale (counted by attention())
        return F.normalize(q_shape) + F.normalize(q_shape) + F.OpCount(elementwise_ops=2 * q_shape[1])


__all__ = ["CPB_HIDDEN", "CosineWindowAttention", "WindowAttention", "window_plan"]
