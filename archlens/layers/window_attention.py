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
        partitioned = (windows, size, features)
        step = walker.step
        if step is None:
            walker.record(name, "attention", shape, out, ops, weights, self.own_biases(heads))
            record_linear(walker, f"{name}.qkv", partitioned, 3 * heads * head_dim, self.bias)
            record_linear(walker, f"{name}.proj", (windows, size, heads * head_dim), out_features, self.out_bias)
            return out
        # a training step: the block's own ops copy the input into windows (for qkv), run the products on
        # qkv's output (for proj) and copy proj's output back onto the grid; its record is listed first
        start = step.value
        moves = not self.in_place(grid, padded, shift)  # the windows are a copy of the grid, or a view of it
        step.value = step.new_values(1, F.numel(partitioned), grad=start.grad)[0] if moves else start.view()
        before = walker.marks()
        record_linear(walker, f"{name}.qkv", partitioned, 3 * heads * head_dim, self.bias)
        made = walker.marks()
        walker.record(name, "attention", shape, out, ops, weights, self.own_biases(heads),
                      backward=self.step_rule(q_shape, windows * size * heads * head_dim), reads=[start, step.value],
                      tensors=self.own_tensors)
        walker.move_before(before, made)
        record_linear(walker, f"{name}.proj", (windows, size, heads * head_dim), out_features, self.out_bias)
        step.read(name, step.value)
        step.value = step.new_values(1, F.numel(out), grad=step.value.grad)[0] if moves else step.value.view()
        return out

    def in_place(self, grid: tuple[int, int], padded: tuple[int, int], shift: tuple[int, int]) -> bool:
        """Whether the windows are a view of the grid (no padding, no shift, and a partition that keeps the
        memory order: the permutation moves only dimensions of size 1), so no copy is made either way."""
        if padded != grid or shift != (0, 0):
            return False
        wh, ww = pair(self.window)
        sizes = {"rows": grid[0] // wh, "wh": wh, "columns": grid[1] // ww, "ww": ww}
        before = ("wh", "rows", "ww", "columns") if self.partition == "grid" else ("rows", "wh", "columns", "ww")
        after = ("rows", "columns", "wh", "ww")
        return [dim for dim in before if sizes[dim] != 1] == [dim for dim in after if sizes[dim] != 1]

    own_tensors: ClassVar[int | None] = None
    """The parameter tensors of the block's own record (None: one a weight and one a bias)."""

    def step_rule(self, q_shape: Shape, products: int):
        """The rule of the block's own record, reading ``(input, qkv's output)``; ``products``: the elements
        its products give proj."""
        raise NotImplementedError

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

    def step_rule(self, q_shape: Shape, products: int):
        """Keeps the queries, keys and values (copies made contiguous for the batched products) and the
        probabilities (:func:`~archlens.counting.formulas.window_attention_backward`)."""
        from archlens.layers.gradients import Effects

        windows, heads, size, head_dim = q_shape
        kept = 3 * F.numel(q_shape) + windows * heads * size * size

        def rule(record, grads):
            ops = F.window_attention_backward(windows, heads, size, head_dim, table_grad=grads.weight)
            return Effects(ops, extra=kept * record.element_bytes, output_elements=products)

        return rule


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

    own_tensors = 4  # logit_scale, cpb_fc1_weight, cpb_fc1_bias, cpb_fc2_weight

    def own_biases(self, heads: int) -> int:
        return CPB_HIDDEN

    def step_rule(self, q_shape: Shape, products: int):
        """Keeps the position-bias MLP's hidden values and its sigmoid, qkv's output (the queries and keys
        read by their norms), each norm and its clamp, the normalized queries and keys (copies for the
        products), the logit scale's exponential, the raw and scaled scores and the values' copy (with
        more than one head) (:func:`~archlens.counting.formulas.cosine_window_attention_backward`)."""
        from archlens.layers.gradients import Effects

        windows, heads, size, head_dim = q_shape
        wh, ww = pair(self.window)
        entries = (2 * wh - 1) * (2 * ww - 1)
        scores = windows * heads * size * size
        queries = F.numel(q_shape)
        copies = 3 if heads > 1 else 2  # one head: the values are a view of qkv's output (kept already)
        kept = entries * CPB_HIDDEN + heads * size * size + 4 * windows * heads * size + copies * queries + heads \
            + 2 * scores

        def rule(record, grads):
            ops = F.cosine_window_attention_backward(windows, heads, size, head_dim, (wh, ww), CPB_HIDDEN)
            return Effects(ops, saves=(1,), extra=kept * record.element_bytes, output_elements=products)

        return rule

    def score_ops(self, q_shape: Shape) -> F.OpCount:
        # queries and keys normalized; the logit scale, clamped and exponentiated a head, is the scores'
        # scale (counted by attention())
        return F.normalize(q_shape) + F.normalize(q_shape) + F.OpCount(elementwise_ops=2 * q_shape[1])


__all__ = ["CPB_HIDDEN", "CosineWindowAttention", "WindowAttention", "window_plan"]
