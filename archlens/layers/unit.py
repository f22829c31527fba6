"""A weighted layer with its BatchNorm and activation, as one spec layer (conv, conv_transpose, linear).

A unit with one part is a single module carrying the layer's name; with several, a group of that
name whose children are the parts: ``conv1.conv``, ``conv1.bn``, ``conv1.relu``. The analytic walk
and the builder both follow :func:`unit_parts`, so their layer names agree.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from archlens.counting import formulas as F
from archlens.layers.base import Shape

if TYPE_CHECKING:  # pragma: no cover
    from archlens.layers.walk import Walker


def unit_parts(kind: str, layer: Any) -> list[str]:
    """The part names of a unit, in order: ``kind``, then ``bn``, then the activation's name.

    >>> from archlens.layers.conv import Conv
    >>> unit_parts("conv", Conv(out=8, kernel=3, batch_norm=True))
    ['conv', 'bn', 'relu']
    """
    parts = [kind]
    if getattr(layer, "batch_norm", None) is not None:
        parts.append("bn")
    if layer.activation != "none":
        parts.append(layer.activation)
    return parts


def record_unit(walker: "Walker", layer: Any, kind: str, name: str, in_shape: Shape, out_shape: Shape,
                ops: F.OpCount, weights: int, biases: int) -> None:
    """Record the parts of a unit (as :func:`unit_parts` names them): the weighted op, then BatchNorm
    over channels, then the activation."""
    norm = getattr(layer, "batch_norm", None) is not None
    activation = layer.activation
    if not norm and activation == "none":
        walker.record(name, kind, in_shape, out_shape, ops, weights, biases)
        return
    walker.group(name, kind)
    walker.record(f"{name}.{kind}", kind, in_shape, out_shape, ops, weights, biases)
    elements = F.numel(out_shape)
    if norm:
        channels = out_shape[1]
        walker.record(f"{name}.bn", "batchnorm", out_shape, out_shape, F.batch_norm(elements), channels, channels)
    if activation != "none":
        walker.record(f"{name}.{activation}", activation, out_shape, out_shape, F.activation(activation, elements))


def build_unit(layer: Any, kind: str, main: Any, out_channels: int, *, batch_norm_dims: int = 2) -> Any:
    """The module of a unit: ``main`` alone, or a :class:`~archlens.layers.modules.Unit` of its parts."""
    from torch import nn

    from archlens.layers.modules import Unit, activation_module, tagged

    parts: "OrderedDict[str, nn.Module]" = OrderedDict()
    parts[kind] = tagged(main, kind)
    if getattr(layer, "batch_norm", None) is not None:
        norm = nn.BatchNorm2d if batch_norm_dims == 2 else nn.BatchNorm1d
        parts["bn"] = tagged(norm(out_channels, eps=layer.batch_norm.eps, momentum=layer.batch_norm.momentum),
                             "batchnorm")
    if layer.activation != "none":
        parts[layer.activation] = activation_module(layer.activation)
    return main if len(parts) == 1 else Unit(kind, parts)
