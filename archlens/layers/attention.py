"""``attention``: multi-head self-attention over tokens, and ``rotary_embedding``, the tables it may use.

Conventions (README, "Transformers"):

* the two products (``Q K^T`` and the weighted sum of ``V``) are MACs, as the torch engine counts
  ``F.scaled_dot_product_attention``: ``heads x queries x keys x head_dim`` each; the ``1/sqrt(d)``
  scale is one operation a score and softmax three (:func:`archlens.counting.formulas.attention`);
* a causal mask does not change the count (``causal: true``: the kernel computes every score and
  masks); ``causal: skip`` says the kernel skips the masked half (flash attention's causal blocks):
  only the visible scores count (:func:`~archlens.counting.formulas.attention_skipping_masked`);
* grouped-query attention (``kv_heads`` below ``heads``) shares each key and value head among
  ``heads / kv_heads`` query heads: smaller projections, the same products;
* a decoding step (``--decode N``): the new tokens' queries attend to the N cached keys and their own;
  the cache (keys and values of N tokens, every layer) is memory, not work.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import Field, StrictBool, model_validator
from typing_extensions import Annotated

from archlens.counting import formulas as F
from archlens.errors import ShapeError, SpecError
from archlens.layers import register
from archlens.layers.base import LayerType, Scaler, Shape, require_rank
from archlens.layers.fields import PositiveInt

Causal = Union[StrictBool, Literal["skip"]]


def head_layout(layer, name: str, features: int) -> tuple[int, int, int]:
    """``(heads, kv_heads, head_dim)`` of an attention layer on tokens of ``features``."""
    heads = layer.heads
    kv_heads = layer.kv_heads if layer.kv_heads is not None else heads
    if heads % kv_heads:
        raise ShapeError(f"kv_heads={kv_heads} must divide heads={heads}", where=name,
                         hint="each key and value head serves heads / kv_heads query heads")
    head_dim = layer.head_dim
    if head_dim is None:
        if features % heads:
            raise ShapeError(f"heads={heads} must divide the features ({features}) when head_dim is not given",
                             where=name, hint="give head_dim, or a number of heads that divides the features")
        head_dim = features // heads
    return heads, kv_heads, head_dim


def record_linear(walker, name: str, shape: Shape, out_features: int, bias: bool) -> Shape:
    """A linear layer's record (a projection inside attention or an MLP)."""
    out = (*shape[:-1], out_features)
    walker.record(name, "linear", shape, out, F.linear(shape, (out_features, shape[-1]), bias=bias),
                  out_features * shape[-1], out_features if bias else 0)
    return out


@register
class Attention(LayerType):
    """Multi-head self-attention on tokens (``N x T x D``): query, key and value projections (one fused
    ``qkv`` linear layer, or ``q``, ``k``, ``v`` with ``qkv: separate``), scaled dot-product attention
    over ``heads`` heads of ``head_dim`` features (default ``D / heads``), an output projection ``proj``
    to ``out`` features (default D). ``kv_heads`` below ``heads``: grouped-query attention. ``bias``:
    the projections' biases (``out_bias`` the output's). ``causal``: ``true`` (masked; counted in full),
    ``skip`` (a kernel that skips the masked half: counted as computed) or ``false``. ``rotary``: rotary
    position embedding on queries and keys, with the tables of a ``rotary_embedding`` layer before."""

    type: Literal["attention"] = "attention"
    heads: PositiveInt
    head_dim: PositiveInt | None = None
    kv_heads: PositiveInt | None = None
    out: PositiveInt | None = None
    bias: StrictBool = True
    out_bias: StrictBool = True
    causal: Causal = False
    rotary: StrictBool = False
    qkv: Literal["fused", "separate"] = "fused"

    depth_step = (2, 2)
    widths = ("out",)

    @model_validator(mode="after")
    def _kv_heads_at_most_heads(self) -> "Attention":
        if self.kv_heads is not None and self.kv_heads > self.heads:
            raise ValueError(f"kv_heads ({self.kv_heads}) cannot be more than heads ({self.heads})")
        return self

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "attention", shape, 3)
        batch, tokens, features = shape
        heads, kv_heads, head_dim = head_layout(self, name, features)
        if self.rotary and walker.rotary != head_dim:
            raise SpecError(
                "rotary attention needs the tables of a rotary_embedding layer before it" if walker.rotary is None
                else f"the rotary tables have {walker.rotary} dimensions, the heads {head_dim}", where=name,
                hint=f"put rotary_embedding: {{dim: {head_dim}}} before the attention layers")
        out_features = self.out if self.out is not None else features
        keys = walker.cache + tokens
        walker.group(name, "attention")
        query, key = heads * head_dim, kv_heads * head_dim
        step = walker.step
        start = step.value if step is not None else None
        projected = []
        if self.qkv == "fused":
            record_linear(walker, f"{name}.qkv", shape, query + 2 * key, self.bias)
            if step is not None:
                projected.append(step.value)
        else:
            for part, width in (("q", query), ("k", key), ("v", key)):
                if step is not None:
                    step.value = start
                record_linear(walker, f"{name}.{part}", shape, width, self.bias)
                if step is not None:
                    projected.append(step.value)
        q_shape = (batch, heads, tokens, head_dim)
        k_shape = (batch, kv_heads, keys, head_dim)
        product = F.attention_skipping_masked if self.causal == "skip" else F.attention
        ops = product(q_shape, k_shape, k_shape)
        if self.rotary:
            ops = ops + F.rotary(F.numel(q_shape)) + F.rotary(batch * kv_heads * tokens * head_dim)
        out = (batch, tokens, out_features)
        if step is None:
            walker.record(name, "attention", shape, out, ops)
        else:
            tables = list(step.tables) if self.rotary else []
            walker.record(name, "attention", shape, out, ops, backward=attention_rule(q_shape, k_shape, self.rotary),
                          reads=[start, *projected, *tables])
        record_linear(walker, f"{name}.proj", (batch, tokens, query), out_features, self.out_bias)
        if not walker.silent:
            walker.kv_per_token += 2 * batch * kv_heads * head_dim  # a token's keys and values, kept
        return out

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import Attention as Module

        heads, kv_heads, head_dim = head_layout(self, name, shape[2])
        tables = builder.shared.get("rotary") if self.rotary else None
        return Module(shape[2], heads, kv_heads, head_dim, self.out if self.out is not None else shape[2],
                      bias=self.bias, out_bias=self.out_bias, causal=self.causal, tables=tables,
                      separate=self.qkv == "separate", cache=builder.cache, tokens=shape[1])

    def detail(self) -> str:
        text = f"{self.heads} heads"
        if self.kv_heads is not None and self.kv_heads != self.heads:
            text += f", {self.kv_heads} kv heads"
        if self.causal:
            text += ", causal" + (" (masked half skipped)" if self.causal == "skip" else "")
        if self.rotary:
            text += ", rotary"
        return text

    def scale_widths(self, scaler: Scaler) -> "Attention":
        update = {}
        if self.out is not None:
            update["out"] = scaler.width(self.out)
        if self.head_dim is not None:  # explicit heads of a fixed size: their number scales
            update["heads"] = max(1, round(self.heads * scaler.multiplier))
            if self.kv_heads is not None:
                ratio = self.heads // self.kv_heads if self.heads % self.kv_heads == 0 else 1
                update["kv_heads"] = max(1, update["heads"] // ratio)
                if update["heads"] % update["kv_heads"]:
                    update["kv_heads"] = update["heads"]
        return self.model_copy(update=update) if update else self


@register
class RotaryEmbedding(LayerType):
    """The tables of rotary position embedding (Su et al. 2021; LLaMA): a cosine and a sine for each of
    the tokens' positions and ``dim`` angles (``dim`` the heads' size; frequencies ``base^(-2i/dim)``),
    computed on every forward as Hugging Face's LLaMA does, once for all the ``attention`` layers after
    it that say ``rotary: true``. The tokens pass unchanged; a decoding step's positions follow the cache."""

    type: Literal["rotary_embedding"] = "rotary_embedding"
    dim: Annotated[int, Field(gt=0, multiple_of=2, strict=True)]
    base: Annotated[float, Field(gt=1, allow_inf_nan=False)] = 10000.0

    def infer(self, walker, name: str, shape: Shape) -> Shape:
        require_rank(name, "rotary_embedding", shape, 3)
        walker.rotary = self.dim
        walker.record(name, "rotary_embedding", shape, shape, F.rotary_tables(shape[1], self.dim),
                      backward=passthrough)
        if walker.step is not None:  # the cosine and sine tables (no gradient), kept by the first layer using them
            walker.step.tables = walker.step.new_values(2, shape[1] * self.dim)
        return shape

    def build(self, builder, name: str, shape: Shape):
        from archlens.layers.modules import RotaryEmbedding as Module, RotaryTables

        tables = RotaryTables()
        builder.shared["rotary"] = tables
        return Module(self.dim, self.base, builder.cache, tables)

    def detail(self) -> str:
        return f"dim {self.dim}, base {self.base:g}"


def passthrough(record, grads):
    """The input passes unchanged (no op)."""
    from archlens.layers.gradients import Effects

    return Effects(passthrough=True)


def attention_rule(q_shape: Shape, k_shape: Shape, rotary: bool):
    """The rule of an attention block's own record, reading ``(input, projections..., rotary tables...)``.

    As autograd runs PyTorch's reference path (:func:`archlens.counting.formulas.attention_backward`), it
    keeps the scaled queries, the scaled keys and the values (each copied: expanded to the query heads and
    made contiguous for the batched products; with a single head or a batch of one the values are a
    view of their projection, which is kept whole) and the softmax's probabilities, and with rotary embedding
    the cosine and sine tables (the first layer to use them)."""
    from archlens.layers.gradients import Effects

    batch, heads, length, embed = q_shape
    source = k_shape[2]
    # the values need no copy when their (batch, heads) dimensions fold into one without it: a single
    # head, or a batch of one (and no key-value heads to expand); a view of their projection is kept
    single = k_shape[1] == heads and (heads == 1 or batch == 1)
    kept = F.numel(q_shape) + (1 if single else 2) * batch * heads * source * embed + batch * heads * length * source

    def rule(record, grads):
        projections = len(grads.inputs) - 1 - (2 if rotary else 0)
        tables = (projections + 1, projections + 2) if rotary else ()
        values = (projections,) if single else ()  # the fused projection (1), or the values' own (3)
        return Effects(F.attention_backward(q_shape, k_shape, k_shape, rotary=rotary), saves=values + tables,
                       extra=kept * record.element_bytes, edges=(0,) + (1,) * projections + (0,) * len(tables),
                       output_elements=F.numel(q_shape))  # the heads' outputs, what the projection reads

    return rule


__all__ = ["Attention", "RotaryEmbedding", "attention_rule", "head_layout", "passthrough", "record_linear"]
