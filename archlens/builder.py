"""Spec -> ``torch.nn.Module``; each layer type builds its own module (:mod:`archlens.layers`).

Module names mirror the spec (``inception_3a.branch_3x3.reduce.conv``).

Build on ``device="meta"`` to get a module of any size without allocating a single weight.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from archlens.errors import ShapeError
from archlens.spec import load_spec
from archlens.spec.expand import walk_spec
from archlens.spec.schema import NetworkSpec
from archlens.units import TORCH_SIZE_LIMIT

if TYPE_CHECKING:  # pragma: no cover
    from archlens.layers.modules import Network


def build(spec: "NetworkSpec | str", *, device: "str | torch.device" = "cpu", train: bool = False,
          dtype: torch.dtype | None = None, decode: int | None = None) -> "Network":
    """Build a spec (or a built-in name / file) into a module.

    ``train=True`` includes the auxiliary heads and returns the module in training mode; otherwise
    the heads are left out and the module is in eval mode. ``device="meta"`` allocates nothing.
    Shapes are checked first (by the analytic engine), so a spec that cannot run fails before
    anything is built, naming the layer. ``decode=N`` builds a decoding step: its attention layers
    hold a key-value cache of N tokens (buffers) and run on the new tokens only.

    >>> net = build("googlenet", device="meta")
    >>> sum(p.numel() for p in net.parameters())
    6998552
    """
    from archlens.counting.analytic import profile_spec
    from archlens.layers.modules import Network

    spec = load_spec(spec)
    cache = decode or 0
    # One place infers shapes: the walk. The builder reads each layer's input shape from it.
    _check_torch_limits(profile_spec(spec, train=train, decode=decode))
    walker, layers = walk_spec(spec, train=train, cache=cache)
    builder = Builder(walker.inputs, train, vocab=spec.input.vocab, cache=cache)
    with torch.device(device):
        network = Network(spec.name, builder.layers(layers, ""), builder.aux_names)
    if dtype is not None:
        network = network.to(dtype)
    network.train(train)
    return network


def _skipping_formula(args: tuple, kwargs: dict, out: Any) -> Any:
    from archlens.counting import formulas

    q, k, v = args[:3]
    return formulas.attention_skipping_masked(tuple(q.shape), tuple(k.shape), tuple(v.shape))


def _teach_the_torch_engine() -> None:
    """The formula of the one function the built modules call that the torch engine does not know:
    causal attention by a kernel that skips the masked half (``attention: {causal: skip}``)."""
    from archlens.counting.torch.ops import register_op
    from archlens.layers.modules import skipping_causal_attention

    register_op(skipping_causal_attention, _skipping_formula, replace=True)


_teach_the_torch_engine()



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


class Builder:
    """Builds layers into modules; each layer type builds its own (``layer.build(builder, name, shape)``).

    ``inputs`` maps every layer's qualified name to its input shape (from the walk); ``vocab`` is the
    network input's vocabulary, ``cache`` a decoding step's key-value cache in tokens; ``shared`` holds
    what layers built earlier leave for later ones (the rotary tables attention layers read)."""

    def __init__(self, inputs: dict[str, tuple[int, ...]], train: bool, *, vocab: int | None = None,
                 cache: int = 0):
        self.inputs = inputs
        self.train = train
        self.vocab = vocab
        self.cache = cache
        self.shared: dict[str, Any] = {}
        self.aux_names: list[str] = []

    def layers(self, layers: list, prefix: str) -> "OrderedDict[str, nn.Module]":
        """The modules of ``layers`` by name (aux heads only in training mode, remembered in ``aux_names``)."""
        modules: "OrderedDict[str, nn.Module]" = OrderedDict()
        for layer in layers:
            name = f"{prefix}.{layer.name}" if prefix else layer.name
            if layer.type == "aux":
                if self.train:
                    modules[layer.name] = layer.build(self, name, self.inputs[name])
                    if not prefix:
                        self.aux_names.append(layer.name)
                continue
            module = layer.build(self, name, self.inputs[name])
            if getattr(module, "archlens_kind", None) is None and not module._modules:
                module.archlens_kind = layer.kind or layer.type  # a leaf's record kind is its layer type's
            modules[layer.name] = module
        return modules
