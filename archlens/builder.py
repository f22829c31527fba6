"""Spec -> ``torch.nn.Module``. Module names mirror the spec (``inception_3a.branch_3x3.reduce.conv``).

Build on ``device="meta"`` to get a module of any size without allocating a single weight.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from archlens.errors import ShapeError, SpecError
from archlens.spec import load_spec, schema
from archlens.spec.expand import expand, unit_parts
from archlens.spec.schema import NetworkSpec, pair


class Unit(nn.Sequential):
    """A conv or linear layer with its BatchNorm and activation, named as one spec layer."""

    def __init__(self, kind: str, parts: "OrderedDict[str, nn.Module]"):
        super().__init__(parts)
        self.archlens_kind = kind


class Sequence(nn.Sequential):
    """A named group applied in order (a VGG stage, an Inception branch)."""

    def __init__(self, kind: str, parts: "OrderedDict[str, nn.Module]"):
        super().__init__(parts)
        self.archlens_kind = kind


class Parallel(nn.Module):
    """Branches on the same input, concatenated on channels (an Inception module)."""

    def __init__(self, kind: str, branches: "OrderedDict[str, nn.Module]"):
        super().__init__()
        self.archlens_kind = kind
        for name, branch in branches.items():
            self.add_module(name, branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


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


def build(spec: "NetworkSpec | str", *, device: "str | torch.device" = "cpu", train: bool = False,
          dtype: torch.dtype | None = None) -> Network:
    """Build a spec (or a built-in name / file) into a module.

    ``train=True`` includes the auxiliary heads and returns the module in training mode; otherwise
    the heads are left out and the module is in eval mode. ``device="meta"`` allocates nothing.
    Shapes are checked first (by the analytic engine), so a spec that cannot run fails before
    anything is built, naming the layer.

    >>> net = build("googlenet", device="meta")
    >>> sum(p.numel() for p in net.parameters())
    6998552
    """
    from archlens.counting.analytic import profile_spec

    spec = load_spec(spec)
    expanded = expand(spec)
    # One place infers shapes: the analytic engine. The builder reads each layer's input from it.
    analytic = profile_spec(spec, train=train)
    _check_torch_limits(analytic)
    inputs = {record.name: record.input_shape for record in analytic.layers}
    builder = _Builder(inputs, train)
    with torch.device(device):
        layers = builder.layers(expanded.layers, "")
        network = Network(spec.name, layers, builder.aux_names)
    if dtype is not None:
        network = network.to(dtype)
    network.train(train)
    return network


TORCH_SIZE_LIMIT = 2**63 - 1  # PyTorch sizes and element counts are signed 64-bit integers


def _check_torch_limits(profile: Any) -> None:
    """Name the first layer too large for PyTorch; the analytic engine, in Python integers, has no limit."""
    for record in profile.layers:
        for what, shape in (("input", record.input_shape), ("output", record.output_shape)):
            elements = 1
            for size in shape:
                elements *= size
            if elements > TORCH_SIZE_LIMIT:
                raise ShapeError(
                    f"its {what} {'x'.join(map(str, shape))} has more than 2^63 - 1 elements, PyTorch's limit",
                    where=record.name, hint="the analytic engine counts it exactly: use --engine analytic")
        if record.weights > TORCH_SIZE_LIMIT:
            raise ShapeError(f"its {record.weights:,} weights are more than 2^63 - 1, PyTorch's limit",
                             where=record.name, hint="the analytic engine counts it exactly: use --engine analytic")


class _Builder:
    def __init__(self, inputs: dict[str, tuple[int, ...]], train: bool):
        self.inputs = inputs
        self.train = train
        self.aux_names: list[str] = []

    def layers(self, layers: list, prefix: str) -> "OrderedDict[str, nn.Module]":
        modules: "OrderedDict[str, nn.Module]" = OrderedDict()
        for layer in layers:
            name = f"{prefix}.{layer.name}" if prefix else layer.name
            if isinstance(layer, schema.Aux):
                if self.train:
                    modules[layer.name] = Sequence("aux", self.layers(layer.layers, name))
                    self.aux_names.append(layer.name)
                continue
            modules[layer.name] = self.layer(layer, name)
        return modules

    def input_of(self, name: str, parts: list[str]) -> tuple[int, ...]:
        return self.inputs[f"{name}.{parts[0]}" if len(parts) > 1 else name]

    def layer(self, layer, name: str) -> nn.Module:
        if isinstance(layer, schema.Conv):
            names = unit_parts(layer)
            channels = self.input_of(name, names)[1]
            parts: "OrderedDict[str, nn.Module]" = OrderedDict()
            parts["conv"] = nn.Conv2d(channels, layer.out, pair(layer.kernel), stride=pair(layer.stride),
                                      padding=pair(layer.padding), groups=layer.groups, bias=layer.bias)
            if "bn" in names:
                parts["bn"] = nn.BatchNorm2d(layer.out, eps=layer.batch_norm.eps, momentum=layer.batch_norm.momentum)
            if "relu" in names:
                parts["relu"] = nn.ReLU(inplace=True)
            return parts["conv"] if len(parts) == 1 else Unit("conv", parts)
        if isinstance(layer, schema.Linear):
            names = unit_parts(layer)
            features = self.input_of(name, names)[-1]
            parts = OrderedDict(linear=nn.Linear(features, layer.out, bias=layer.bias))
            if "relu" in names:
                parts["relu"] = nn.ReLU(inplace=True)
            return parts["linear"] if len(parts) == 1 else Unit("linear", parts)
        if isinstance(layer, schema.MaxPool):
            stride = pair(layer.stride if layer.stride is not None else layer.kernel)
            return nn.MaxPool2d(pair(layer.kernel), stride, pair(layer.padding), ceil_mode=layer.ceil_mode)
        if isinstance(layer, schema.AvgPool):
            stride = pair(layer.stride if layer.stride is not None else layer.kernel)
            return nn.AvgPool2d(pair(layer.kernel), stride, pair(layer.padding), ceil_mode=layer.ceil_mode,
                                count_include_pad=layer.count_include_pad)
        if isinstance(layer, schema.AdaptiveAvgPool):
            return nn.AdaptiveAvgPool2d(pair(layer.output))
        if isinstance(layer, schema.LRN):
            return nn.LocalResponseNorm(layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k)
        if isinstance(layer, schema.ReLU):
            return nn.ReLU(inplace=True)
        if isinstance(layer, schema.Softmax):
            return nn.Softmax(dim=1)
        if isinstance(layer, schema.Dropout):
            return nn.Dropout(layer.p)
        if isinstance(layer, schema.Flatten):
            return nn.Flatten(1)
        if isinstance(layer, schema.Parallel):
            branches: "OrderedDict[str, nn.Module]" = OrderedDict()
            for branch in layer.branches:
                branches[branch.name] = Sequence("branch", self.layers(branch.layers, f"{name}.{branch.name}"))
            return Parallel(layer.block or "parallel", branches)
        if isinstance(layer, schema.Sequence):
            return Sequence(layer.block or "sequence", self.layers(layer.layers, name))
        raise SpecError(f"cannot build layer type {layer.type!r}", where=name)  # pragma: no cover
