"""The ``torch.nn`` modules archlens builds where PyTorch has none of its own.

Imported only by the builder (it imports torch). Each class says which layer types use it. Every
module archlens builds carries ``archlens_kind`` (a leaf's record kind, a container's group kind);
a container whose ``forward`` computes something itself (a residual's add, a gate's multiply, a
concatenation) names the kind of that record in ``archlens_op_kind``. The torch engine reads both,
so a built spec's records match the analytic engine's name for name and kind for kind.
"""

from __future__ import annotations

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
    if torch.empty(0).is_meta:  # built on the meta device: only the shape matters
        return torch.empty(rows, dim)
    position = torch.arange(rows, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-torch.log(torch.tensor(10000.0)) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
    return table


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
