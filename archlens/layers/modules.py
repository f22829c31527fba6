"""The ``torch.nn`` modules archlens builds where PyTorch has none of its own.

Imported only by the builder (it imports torch). Each class says which layer types use it. Every
module archlens builds carries ``archlens_kind`` (a leaf's record kind, a container's group kind);
a container whose ``forward`` computes something itself (a residual's add, a gate's multiply, a
concatenation) names the kind of that record in ``archlens_op_kind``. The torch engine reads both,
so a built spec's records match the analytic engine's name for name and kind for kind.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch
from torch import nn


def tagged(module: nn.Module, kind: str) -> nn.Module:
    """``module`` with its record kind set."""
    module.archlens_kind = kind
    return module


class Unit(nn.Sequential):
    """A conv or linear layer with its BatchNorm and activation, named as one spec layer (``conv``,
    ``conv_transpose``, ``linear``)."""

    def __init__(self, kind: str, parts: "OrderedDict[str, nn.Module]"):
        super().__init__(parts)
        self.archlens_kind = kind


class Sequence(nn.Sequential):
    """A named group applied in order (``sequence``, an expanded ``repeat``, a block, a branch)."""

    def __init__(self, kind: str, parts: "OrderedDict[str, nn.Module]"):
        super().__init__(parts)
        self.archlens_kind = kind


class Parallel(nn.Module):
    """Branches on the same input, concatenated on channels (``parallel``: an Inception module)."""

    archlens_op_kind = "concat"

    def __init__(self, kind: str, branches: "OrderedDict[str, nn.Module]"):
        super().__init__()
        self.archlens_kind = kind
        for name, branch in branches.items():
            self.add_module(name, branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


class Split(nn.Module):
    """The input's channels split into consecutive parts, one branch each, outputs concatenated
    (``split``: ShuffleNetV2's unit keeps one half and transforms the other)."""

    archlens_op_kind = "concat"

    def __init__(self, kind: str, sizes: list[int], branches: "OrderedDict[str, nn.Module]"):
        super().__init__()
        self.archlens_kind = kind
        self.sizes = list(sizes)
        for name, branch in branches.items():
            self.add_module(name, branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.sizes, dim=1)
        return torch.cat([branch(part) for branch, part in zip(self.children(), parts)], dim=1)


class Residual(nn.Module):
    """``activation(main(x) * scale + shortcut(x))`` (``residual``). The main path's modules are direct
    children; the shortcut (when not the identity) is the child ``shortcut``, run before the main path
    when ``shortcut_first``; the activation comes last."""

    archlens_op_kind = "add"

    def __init__(self, kind: str, main: "OrderedDict[str, nn.Module]", shortcut: nn.Module | None,
                 activation: tuple[str, nn.Module] | None, scale: float | None, shortcut_first: bool = False):
        super().__init__()
        self.archlens_kind = kind
        self._main = list(main)
        for name, module in main.items():
            self.add_module(name, module)
        self.has_shortcut = shortcut is not None
        if shortcut is not None:
            self.add_module("shortcut", shortcut)
        self._activation = None
        if activation is not None:
            self._activation = activation[0]
            self.add_module(activation[0], activation[1])
        self.scale = scale
        self.shortcut_first = shortcut_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shortcut(x) if self.has_shortcut and self.shortcut_first else x
        out = x
        for name in self._main:
            out = getattr(self, name)(out)
        if self.has_shortcut and not self.shortcut_first:
            skip = self.shortcut(x)
        out = out * self.scale + skip if self.scale is not None else out + skip
        if self._activation is not None:
            out = getattr(self, self._activation)(out)
        return out


class Gate(nn.Module):
    """``x * f(x)``: the input scaled by what its children compute from it (``gate``; squeeze-and-excitation)."""

    archlens_op_kind = "mul"

    def __init__(self, kind: str, parts: "OrderedDict[str, nn.Module]"):
        super().__init__()
        self.archlens_kind = kind
        for name, module in parts.items():
            self.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x
        for module in self.children():
            scale = module(scale)
        return x * scale


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (``channel_shuffle``): a reshape, a transpose, a copy; no arithmetic."""

    def __init__(self, groups: int):
        super().__init__()
        self.archlens_kind = "channel_shuffle"
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        x = x.view(batch, self.groups, channels // self.groups, height, width)
        return torch.transpose(x, 1, 2).contiguous().view(batch, channels, height, width)


class LayerScale(nn.Module):
    """A learned per-channel scale (``layer_scale``: ConvNeXt, CaiT): one weight a channel."""

    def __init__(self, channels: int, rank: int, init: float):
        super().__init__()
        self.archlens_kind = "layer_scale"
        shape = (channels,) + (1,) * (rank - 2) if rank == 4 else (channels,)  # channels first, or last
        self.weight = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


class StochasticDepth(nn.Module):
    """Stochastic depth as torchvision writes it (``stochastic_depth``): the identity at inference; in
    training a random 0/1 per sample (``row``) or per batch, divided by the survival rate, times the input."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.archlens_kind = "stochastic_depth"
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of an image tensor (``layer_norm`` on N x C x H x W): ConvNeXt's
    channels-last LayerNorm, as torchvision's ``LayerNorm2d`` does it (permute, normalize, permute back)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def _computed_on_cpu(make):
    """``make()`` run on the CPU (index arithmetic meta tensors cannot do), its tensor moved to where the
    module is being built (the meta device too)."""
    device = torch.empty(0).device
    with torch.device("cpu"):
        return make().to(device)


class PositionEmbedding(nn.Module):
    """Position embeddings added (``position_embedding``): a learned table (``weight``, rows x D) or fixed
    sinusoids (a buffer); the rows of the tokens' positions, from ``offset`` (a decoding step's cache)."""

    def __init__(self, rows: int, dim: int, learned: bool, offset: int = 0):
        super().__init__()
        self.archlens_kind = "position_embedding"
        self.offset = offset
        if learned:
            self.weight = nn.Parameter(torch.randn(rows, dim) * 0.02)
        else:
            self.register_buffer("table", sinusoids(rows, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.weight if hasattr(self, "weight") else self.table
        return x + table[self.offset:self.offset + x.shape[1]]


def sinusoids(rows: int, dim: int) -> torch.Tensor:
    """The fixed position encodings of "Attention is all you need": sin and cos at geometric frequencies."""
    def make():
        position = torch.arange(rows, dtype=torch.float32)[:, None]
        frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(rows, dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
        return table

    return _computed_on_cpu(make)


class SegmentEmbedding(nn.Module):
    """BERT's token-type embeddings (``segment_embedding``): segment 0's row added to every token."""

    def __init__(self, segments: int, dim: int):
        super().__init__()
        self.archlens_kind = "segment_embedding"
        self.weight = nn.Parameter(torch.randn(segments, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[0]


class ClassToken(nn.Module):
    """Learned tokens put before the sequence (``class_token``)."""

    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.archlens_kind = "class_token"
        self.token = nn.Parameter(torch.zeros(1, tokens, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class ToTokens(nn.Module):
    """A feature map's positions as tokens (``to_tokens``): N x C x H x W to N x HW x C, a view."""

    archlens_kind = "to_tokens"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class ToImage(nn.Module):
    """Tokens on an H x W grid back to a feature map (``to_image``)."""

    archlens_kind = "to_image"

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], self.height, self.width)


class PatchMerge(nn.Module):
    """Swin's 2x2 neighbours concatenated (``patch_merge``), in torchvision's order (x0, x1, x2, x3)."""

    archlens_kind = "patch_merge"

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, channels = x.shape
        x = x.view(batch, self.height, self.width, channels)
        x = nn.functional.pad(x, (0, 0, 0, self.width % 2, 0, self.height % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return x.reshape(batch, -1, 4 * channels)


class TokenPool(nn.Module):
    """Tokens to one vector (``token_pool``): the first token, or their mean."""

    archlens_kind = "token_pool"

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if self.mode == "first" else x.mean(dim=1)


class RotaryTables:
    """The cosine and sine tables a ``rotary_embedding`` computes on each forward, for the attention
    layers after it (not a module: shared state, as Hugging Face passes ``position_embeddings`` down)."""

    cos: torch.Tensor | None = None
    sin: torch.Tensor | None = None


class RotaryEmbedding(nn.Module):
    """Rotary tables (``rotary_embedding``), as Hugging Face's ``LlamaRotaryEmbedding`` computes them:
    positions times the inverse frequencies, both halves, cosine and sine. The input passes unchanged."""

    def __init__(self, dim: int, base: float, offset: int, tables: RotaryTables):
        super().__init__()
        self.archlens_kind = "rotary_embedding"
        self.offset = offset
        self.tables = tables
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(self.offset, self.offset + x.shape[1], device=x.device, dtype=torch.float32)
        freqs = positions[:, None] * self.inv_freq
        angles = torch.cat((freqs, freqs), dim=-1)
        self.tables.cos, self.tables.sin = angles.cos(), angles.sin()
        return x


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def skipping_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention by a kernel that skips the masked half (``causal: skip``): the torch engine counts
    it with :func:`archlens.counting.formulas.attention_skipping_masked` (the builder registers that
    formula), the queries being the last of the keys' positions. Computed here as masked attention."""
    if torch.overrides.has_torch_function((q, k, v)):
        return torch.overrides.handle_torch_function(skipping_causal_attention, (q, k, v), q, k, v)
    length, source = q.shape[-2], k.shape[-2]
    mask = torch.ones(length, source, dtype=torch.bool, device=q.device).tril(source - length)
    return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=q.shape[1] != k.shape[1])


class Attention(nn.Module):
    """Multi-head self-attention (``attention``): ``qkv`` (or ``q``, ``k``, ``v``) and ``proj`` linear
    layers; rotary embedding, the key-value cache of a decoding step and scaled dot-product attention are
    the module's own ops (one record, kind ``attention``)."""

    archlens_op_kind = "attention"

    def __init__(self, features: int, heads: int, kv_heads: int, head_dim: int, out: int, *, bias: bool,
                 out_bias: bool, causal, tables: RotaryTables | None, separate: bool, cache: int, tokens: int):
        super().__init__()
        self.archlens_kind = "attention"
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.separate = separate
        if separate:
            self.q = nn.Linear(features, heads * head_dim, bias=bias)
            self.k = nn.Linear(features, kv_heads * head_dim, bias=bias)
            self.v = nn.Linear(features, kv_heads * head_dim, bias=bias)
        else:
            self.qkv = nn.Linear(features, (heads + 2 * kv_heads) * head_dim, bias=bias)
        self.proj = nn.Linear(heads * head_dim, out, bias=out_bias)
        self.causal = causal
        self.tables = tables
        self.cached = cache
        if cache:  # a decoding step: the keys and values of the tokens before (one sample, expanded)
            self.register_buffer("cache_k", torch.zeros(1, kv_heads, cache, head_dim), persistent=False)
            self.register_buffer("cache_v", torch.zeros(1, kv_heads, cache, head_dim), persistent=False)
            if causal is True and tokens > 1:  # the new tokens' mask: each sees the cache and those before it
                self.register_buffer("mask", torch.ones(tokens, cache + tokens, dtype=torch.bool).tril(cache),
                                     persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        if self.separate:
            q, k, v = self.q(x), self.k(x), self.v(x)
        else:
            query, key = self.heads * self.head_dim, self.kv_heads * self.head_dim
            q, k, v = self.qkv(x).split([query, key, key], dim=-1)
        q = q.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)
        k = k.unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
        v = v.unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
        if self.tables is not None:
            cos, sin = self.tables.cos, self.tables.sin
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        if self.cached:
            k = torch.cat([self.cache_k.expand(batch, -1, -1, -1), k], dim=2)
            v = torch.cat([self.cache_v.expand(batch, -1, -1, -1), v], dim=2)
        gqa = self.kv_heads != self.heads
        if self.causal == "skip":
            y = skipping_causal_attention(q, k, v)
        elif self.causal and hasattr(self, "mask"):
            y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, enable_gqa=gqa)
        else:
            causal = bool(self.causal) and tokens > 1 and not self.cached
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
        return self.proj(y.transpose(1, 2).reshape(batch, tokens, self.heads * self.head_dim))


class GatedMLP(nn.Module):
    """A gated MLP (``gated_mlp``): ``down(act(gate(x)) * up(x))``; the product is the module's own op."""

    archlens_op_kind = "mul"

    def __init__(self, features: int, hidden: int, out: int, activation: nn.Module | None, bias: bool):
        super().__init__()
        self.archlens_kind = "gated_mlp"
        self.gate = nn.Linear(features, hidden, bias=bias)
        if activation is not None:
            self.act = activation
        self.up = nn.Linear(features, hidden, bias=bias)
        self.down = nn.Linear(hidden, out, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate(x)
        if hasattr(self, "act"):
            gate = self.act(gate)
        return self.down(gate * self.up(x))


def relative_position_index(wh: int, ww: int) -> torch.Tensor:
    """For each pair of tokens of a window, the row of their offset in the relative position table."""
    def make():
        coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        relative[:, :, 0] += wh - 1
        relative[:, :, 1] += ww - 1
        relative[:, :, 0] *= 2 * ww - 1
        return relative.sum(-1).flatten()

    return _computed_on_cpu(make)


def relative_coordinates(wh: int, ww: int) -> torch.Tensor:
    """Swin-V2's log-spaced relative coordinates, ``1 x (2wh - 1) x (2ww - 1) x 2`` (torchvision's)."""
    def make():
        h = torch.arange(-(wh - 1), wh, dtype=torch.float32) / max(wh - 1, 1)
        w = torch.arange(-(ww - 1), ww, dtype=torch.float32) / max(ww - 1, 1)
        table = torch.stack(torch.meshgrid([h, w], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0) * 8
        return torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0

    return _computed_on_cpu(make)


def shift_mask(padded: tuple[int, int], window: tuple[int, int], shift: tuple[int, int]) -> torch.Tensor:
    """The mask of shifted windows (torchvision's): -100 between tokens from different regions of the
    rolled grid, ``windows x 1 x P x P``."""
    def make():
        (height, width), (wh, ww), (sh, sw) = padded, window, shift
        regions = torch.zeros(height, width)
        count = 0
        for h in ((0, -wh), (-wh, -sh), (-sh, None)):
            for w in ((0, -ww), (-ww, -sw), (-sw, None)):
                regions[h[0]:h[1], w[0]:w[1]] = count
                count += 1
        regions = regions.view(height // wh, wh, width // ww, ww).permute(0, 2, 1, 3).reshape(-1, wh * ww)
        mask = regions.unsqueeze(1) - regions.unsqueeze(2)
        return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0).unsqueeze(1)

    return _computed_on_cpu(make)


class WindowAttention(nn.Module):
    """Attention within windows of a token grid (``window_attention``, ``cosine_window_attention``): the
    position bias, the partition, the products and the mask are the module's own ops (kind ``attention``);
    ``qkv`` and ``proj`` are linear layers on the partitioned tokens."""

    archlens_op_kind = "attention"

    def __init__(self, features: int, heads: int, head_dim: int, out: int, *, grid: tuple[int, int],
                 padded: tuple[int, int], window: tuple[int, int], shift: tuple[int, int], partition: str,
                 bias: bool, out_bias: bool, cosine: bool, cpb_hidden: int):
        super().__init__()
        self.archlens_kind = "attention"
        self.heads, self.head_dim, self.out = heads, head_dim, out
        self.grid, self.padded, self.window, self.shift, self.partition = grid, padded, window, shift, partition
        self.cosine = cosine
        wh, ww = window
        entries = (2 * wh - 1) * (2 * ww - 1)
        if cosine:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)))
            self.cpb_fc1_weight = nn.Parameter(torch.randn(cpb_hidden, 2) * 0.02)
            self.cpb_fc1_bias = nn.Parameter(torch.zeros(cpb_hidden))
            self.cpb_fc2_weight = nn.Parameter(torch.randn(heads, cpb_hidden) * 0.02)
            self.register_buffer("relative_coords_table", relative_coordinates(wh, ww), persistent=False)
        else:
            self.relative_position_bias_table = nn.Parameter(torch.randn(entries, heads) * 0.02)
        self.register_buffer("relative_position_index", relative_position_index(wh, ww), persistent=False)
        if shift != (0, 0):
            self.register_buffer("mask", shift_mask(padded, window, shift), persistent=False)
        self.qkv = nn.Linear(features, 3 * heads * head_dim, bias=bias)
        self.proj = nn.Linear(heads * head_dim, out, bias=out_bias)

    def position_bias(self) -> torch.Tensor:
        size = self.window[0] * self.window[1]
        if self.cosine:
            hidden = nn.functional.relu(nn.functional.linear(self.relative_coords_table, self.cpb_fc1_weight,
                                                             self.cpb_fc1_bias))
            table = nn.functional.linear(hidden, self.cpb_fc2_weight).view(-1, self.heads)
        else:
            table = self.relative_position_bias_table
        bias = table[self.relative_position_index].view(size, size, self.heads).permute(2, 0, 1)
        return 16 * torch.sigmoid(bias) if self.cosine else bias

    def partitioned(self, x: torch.Tensor) -> torch.Tensor:
        """``N x H x W x C`` to ``sets x P x C``."""
        batch, height, width, channels = x.shape
        wh, ww = self.window
        if self.partition == "grid":  # each set: a wh x ww grid spread over the map
            x = x.view(batch, wh, height // wh, ww, width // ww, channels).permute(0, 2, 4, 1, 3, 5)
        else:
            x = x.view(batch, height // wh, wh, width // ww, ww, channels).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, wh * ww, channels)

    def departitioned(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        height, width = self.padded
        wh, ww = self.window
        if self.partition == "grid":
            x = x.view(batch, height // wh, width // ww, wh, ww, -1).permute(0, 3, 1, 4, 2, 5)
        else:
            x = x.view(batch, height // wh, width // ww, wh, ww, -1).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(batch, height, width, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.position_bias()  # first, as torchvision does: the block's own record comes first
        batch, tokens, channels = x.shape
        (height, width), (padded_h, padded_w) = self.grid, self.padded
        x = x.view(batch, height, width, channels)
        if (padded_h, padded_w) != (height, width):
            x = nn.functional.pad(x, (0, 0, 0, padded_w - width, 0, padded_h - height))
        if self.shift != (0, 0):
            x = torch.roll(x, shifts=(-self.shift[0], -self.shift[1]), dims=(1, 2))
        x = self.partitioned(x)
        sets, size, _ = x.shape
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, self.head_dim)).permute(2, 0, 3, 1, 4)
        if self.cosine:
            q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True).clamp_min(1e-12)
            k = k / torch.linalg.vector_norm(k, dim=-1, keepdim=True).clamp_min(1e-12)
            attn = q @ k.transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # log(100)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.head_dim ** -0.5
        attn = attn + bias
        if self.shift != (0, 0):
            attn = (attn.view(batch, sets // batch, self.heads, size, size) + self.mask).view(sets, self.heads,
                                                                                                size, size)
        y = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(sets, size, self.heads * self.head_dim)
        y = self.departitioned(self.proj(y), batch)
        if self.shift != (0, 0):
            y = torch.roll(y, shifts=self.shift, dims=(1, 2))
        return y[:, :height, :width].reshape(batch, tokens, self.out)


class Network(nn.Module):
    """A built spec. In training mode with auxiliary heads it returns ``(main, aux1, aux2, ...)``."""

    def __init__(self, name: str, layers: "OrderedDict[str, nn.Module]", aux_names: list[str]):
        super().__init__()
        self.archlens_kind = "network"
        self.archlens_name = name
        self.aux_names = tuple(aux_names)
        for layer_name, module in layers.items():
            self.add_module(layer_name, module)

    def forward(self, x: torch.Tensor) -> Any:
        aux_outputs = []
        for name, module in self.named_children():
            if name in self.aux_names:
                if self.training:
                    aux_outputs.append(module(x))
                continue
            x = module(x)
        return (x, *aux_outputs) if aux_outputs else x


def activation_module(kind: str) -> nn.Module:
    """The module of activation ``kind`` (in place where torchvision's conv blocks use it in place)."""
    makers = {
        "relu": lambda: nn.ReLU(inplace=True),
        "relu6": lambda: nn.ReLU6(inplace=True),
        "leaky_relu": lambda: nn.LeakyReLU(inplace=True),
        "gelu": lambda: nn.GELU(),
        "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
        "silu": lambda: nn.SiLU(inplace=True),
        "sigmoid": lambda: nn.Sigmoid(),
        "hardsigmoid": lambda: nn.Hardsigmoid(),
        "hardswish": lambda: nn.Hardswish(inplace=True),
        "tanh": lambda: nn.Tanh(),
        "softmax": lambda: nn.Softmax(dim=1),
    }
    return tagged(makers[kind](), kind)
