"""``archlens.profile``: one entry point for specs, built-in names, files and modules."""

from __future__ import annotations

import os
from typing import Any

from archlens.counting.records import Profile
from archlens.errors import ArchlensError
from archlens.spec import NetworkSpec, load_spec

ENGINES = ("analytic",)


def profile(target: "str | os.PathLike[str] | NetworkSpec | Any", *, engine: str | None = None, batch: int = 1,
            train: bool = False, dtype: str = "float32", input_shape: tuple[int, ...] | None = None) -> Profile:
    """Profile a built-in network, a spec file, a spec, or a module.

    >>> import archlens
    >>> archlens.profile("googlenet-torchvision").totals.macs
    1498376192

    ``engine`` is ``analytic`` (the default for specs: shape inference, no torch import).
    """
    engine = engine or "analytic"
    if engine not in ENGINES:
        raise ArchlensError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    spec = load_spec(target)
    if input_shape is not None:
        spec = with_input_shape(spec, input_shape)
        batch = input_shape[0]
    from archlens.counting.analytic import profile_spec

    return profile_spec(spec, batch=batch, dtype=dtype, train=train)


def with_input_shape(spec: NetworkSpec, shape: tuple[int, ...]) -> NetworkSpec:
    """``spec`` with its input replaced by ``(N, C, H, W)`` (N is the batch, not part of the spec)."""
    if len(shape) != 4:
        raise ArchlensError(f"an input shape for a spec is N,C,H,W; got {','.join(map(str, shape))}")
    _, channels, height, width = shape
    return spec.model_copy(update={"input": spec.input.model_copy(update={
        "channels": channels, "height": height, "width": width})})
