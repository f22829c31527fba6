"""``archlens.profile``: one entry point for specs, built-in names, files and modules."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from archlens.counting.records import Profile
from archlens.errors import ArchlensError, ShapeError, TargetError
from archlens.spec import NetworkSpec, is_spec_path, load_spec

ENGINES = ("analytic", "torch", "fvcore")


def profile(target: "str | os.PathLike[str] | NetworkSpec | Any", *, engine: str | None = None, batch: int = 1,
            train: bool = False, dtype: str = "float32", input_shape: tuple[int, ...] | None = None) -> Profile:
    """Profile a built-in network, a spec file, a spec, a module, a factory, or ``pkg.module:callable``.

    >>> import archlens
    >>> archlens.profile("googlenet-torchvision").totals.macs
    1498376192

    ``engine``: ``analytic`` (the default for specs: shape inference, no torch import), ``torch``
    (the default for modules: runs on the meta device and counts the real ops; a spec is built on
    meta first), or ``fvcore`` (fvcore's figures in the same records; needs real CPU weights).
    A module, a factory or a ``pkg.module:callable`` needs ``input_shape=(N, C, H, W)``.
    """
    if engine is not None and engine not in ENGINES:
        raise ArchlensError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    module_target, label = _module_target(target)
    if module_target is not None:
        return _profile_module(module_target, label, engine or "torch", train, dtype, input_shape)
    spec = load_spec(target)
    if input_shape is not None:
        spec = with_input_shape(spec, input_shape)
        batch = input_shape[0]
    try:
        return _profile_spec(spec, engine or "analytic", batch, train, dtype)
    except ShapeError as error:  # name the file as `archlens validate` does: "spec.yaml: conv3: ..."
        if isinstance(target, (str, os.PathLike)) and is_spec_path(target):
            raise error.within(str(target)) from None
        raise


def _profile_spec(spec: NetworkSpec, engine: str, batch: int, train: bool, dtype: str) -> Profile:
    if engine == "analytic":
        from archlens.counting.analytic import profile_spec

        return profile_spec(spec, batch=batch, dtype=dtype, train=train)
    shape = (batch, spec.input.channels, spec.input.height, spec.input.width)
    if engine == "torch":
        from archlens.builder import build
        from archlens.counting.torch_engine import profile_module

        # the analytic engine checks the spec's shapes first (inside build), naming any bad layer
        result = profile_module(build(spec, device="meta", train=train), shape, train=train, dtype=dtype,
                                name=spec.name)
    else:
        from archlens.counting.fvcore_engine import build_for_fvcore, profile_module_fvcore

        result = profile_module_fvcore(build_for_fvcore(spec, train=train), shape, train=train, dtype=dtype,
                                       name=spec.name)
    metadata = spec.metadata.model_dump(mode="json", exclude_none=True) if spec.metadata else None
    return dataclasses.replace(result, metadata=metadata)


def _module_target(target: Any) -> tuple[Any, str | None]:
    """``(module or factory, label)`` when ``target`` is one (or names one as ``pkg.module:attr``), else None."""
    if isinstance(target, str):
        from archlens.targets import is_module_target, load_target

        return (load_target(target), target) if is_module_target(target) else (None, None)
    if isinstance(target, (os.PathLike, dict, NetworkSpec)):
        return None, None
    if callable(target):  # an nn.Module instance is callable too
        return target, None
    return None, None


def _profile_module(target: Any, label: str | None, engine: str, train: bool, dtype: str,
                    input_shape: tuple[int, ...] | None) -> Profile:
    from archlens.targets import NEEDS_SHAPE

    if input_shape is None:
        raise TargetError(NEEDS_SHAPE, hint="from Python, pass input_shape=(1, 3, 224, 224)")
    if engine == "analytic":
        raise ArchlensError("the analytic engine reads specs, not modules", hint="use --engine torch (or fvcore)")
    if engine == "fvcore":
        from archlens.counting.fvcore_engine import profile_module_fvcore

        return profile_module_fvcore(target, input_shape, train=train, dtype=dtype, name=label)
    from archlens.counting.torch_engine import profile_module

    return profile_module(target, input_shape, train=train, dtype=dtype, name=label)


def with_input_shape(spec: NetworkSpec, shape: tuple[int, ...]) -> NetworkSpec:
    """``spec`` with its input replaced by ``(N, C, H, W)`` (N is the batch, not part of the spec)."""
    if len(shape) != 4:
        raise ArchlensError(f"an input shape for a spec is N,C,H,W; got {','.join(map(str, shape))}")
    _, channels, height, width = shape
    return spec.model_copy(update={"input": spec.input.model_copy(update={
        "channels": channels, "height": height, "width": width})})
