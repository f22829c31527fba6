"""``archlens.profile``: one entry point for specs, built-in names, files and modules."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, Any, Iterable

from archlens.counting.records import Profile
from archlens.counting.training import TrainingStep, check_precision, training_step
from archlens.errors import ArchlensError, ShapeError, UncountedOps
from archlens.targets import ModuleTarget, SpecTarget, Target, TargetOptions, resolve, user_code_errors
from archlens.units import TORCH_SIZE_LIMIT

if TYPE_CHECKING:  # pragma: no cover
    from archlens.spec import NetworkSpec

ENGINES = ("analytic", "torch", "fvcore")


def profile(target: "str | os.PathLike[str] | NetworkSpec | Any", *, engine: str | None = None,
            batch: int | None = None, train: bool = False, dtype: str = "float32",
            input_shape: tuple[int, ...] | None = None, tokens: int | None = None,
            decode: int | None = None, inputs: Any = None, device: str = "meta", strict: bool = False,
            step: "str | TrainingStep | None" = None, optimizer: str | None = None,
            mixed_precision: bool = False, freeze: "Iterable[str] | str" = (),
            checkpoint: "Iterable[str] | str" = ()) -> Profile:
    """Profile a built-in network, a spec file, a spec, a module, a factory, or ``pkg.module:callable``.

    >>> import archlens
    >>> archlens.profile("googlenet-torchvision").totals.macs
    1498376192

    ``engine``: ``analytic`` (the default for specs: shape inference, no torch import), ``torch``
    (the default for modules: runs on the meta device and counts the real ops; a spec is built on
    meta first), or ``fvcore`` (fvcore's figures in the same records; needs real CPU weights).
    ``input_shape=(N, C, H, W)`` replaces a spec's input and is what a module, a factory or a
    ``pkg.module:callable`` runs on (:func:`archlens.targets.resolve` says what each option means).
    ``tokens`` is a token input's sequence length; ``decode=N`` profiles one decoding step (``tokens``
    new tokens, 1 by default) after a key-value cache of N tokens:

    >>> step = archlens.profile("gpt2", decode=1023)
    >>> step.totals.macs, step.kv_cache_bytes
    (103809024, 75423744)

    A module may take several inputs, typed or by keyword (``inputs``: a tensor, a
    :class:`~archlens.counting.torch.TensorSpec`, a tuple, a dict, or
    :class:`~archlens.counting.torch.Inputs` for both); ``device="cpu"`` runs it on real random
    tensors, for ops whose output depends on the values; ``strict=True`` raises
    :class:`~archlens.errors.UncountedOps` (exit 2) when any op is not counted.

    ``step="train"``: a training step (in training mode): the backward pass, the optimizer's update and the
    memory (:attr:`Profile.step`), with ``optimizer`` (``sgd``, ``momentum``, ``adam``, ``adamw``: the
    default), ``mixed_precision`` (fp32 master weights), ``freeze`` and ``checkpoint`` (layer name patterns):

    >>> archlens.profile("resnet50", batch=32, step="train").step.backward.macs
    257931345920
    """
    check_engine(engine)
    training = training_step(step, optimizer=optimizer, mixed_precision=mixed_precision, freeze=freeze,
                             checkpoint=checkpoint)
    options = TargetOptions(input_shape=input_shape, batch=batch, train=train or training is not None, tokens=tokens,
                            decode=decode, inputs=inputs, device=device)
    result = profile_target(resolve(target, options), engine=engine, dtype=dtype, step=training)
    return require_counted(result) if strict else result


def require_counted(profile: Profile) -> Profile:
    """``profile`` if every op it saw was counted; else an error naming the ops (``--strict``)."""
    if profile.unsupported:
        raise UncountedOps(profile)
    return profile


def check_engine(engine: str | None) -> None:
    """An unknown engine name is an error before anything is loaded."""
    if engine is not None and engine not in ENGINES:
        raise ArchlensError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")


def profile_target(target: Target, *, engine: str | None = None, dtype: str = "float32",
                   step: TrainingStep | None = None) -> Profile:
    """Profile a resolved target with ``engine`` (default: analytic for specs, torch for modules);
    ``step``: a training step (:class:`~archlens.counting.training.TrainingStep`)."""
    check_engine(engine)
    if step is not None and engine == "fvcore":
        raise ArchlensError("the fvcore engine counts inference only (it traces a forward pass)",
                            hint="use --engine analytic or torch for a training step")
    if step is not None and getattr(target, "decode", None) is not None:
        raise ArchlensError("a training step has no decoding step", hint="drop --decode (or --step train)")
    check_precision(step, dtype)
    if isinstance(target, ModuleTarget):
        with user_code_errors(target.label):  # a CancelledError from the user's code is one line too
            return _profile_module(target, engine or "torch", dtype, step)
    try:
        return _profile_spec(target, engine or "analytic", dtype, step)
    except ShapeError as error:  # name the file as `archlens validate` does: "spec.yaml: conv3: ..."
        if target.source is not None:
            raise error.within(target.source) from None
        raise


def _profile_spec(target: SpecTarget, engine: str, dtype: str, step: TrainingStep | None = None) -> Profile:
    spec, train = target.spec, target.train or step is not None
    if engine == "analytic":
        from archlens.counting.analytic import profile_spec

        return profile_spec(spec, batch=target.batch, dtype=dtype, train=train, decode=target.decode, step=step)
    if target.batch > 1:  # build() checks PyTorch's size limits at batch 1; the batch multiplies every size
        from archlens.builder import _check_torch_limits
        from archlens.counting.analytic import profile_spec

        _check_torch_limits(profile_spec(spec, batch=target.batch, train=train))
    if engine == "torch":
        from archlens.builder import build
        from archlens.counting.torch_engine import profile_module

        if step is not None:  # the patterns must name layers (checked on the spec, as the analytic engine does)
            from archlens.counting.analytic import profile_spec

            profile_spec(spec, batch=target.batch, dtype=dtype, step=step)
        # the analytic engine checks the spec's shapes first (inside build), naming any bad layer; a training
        # step runs in the profile's dtype (what autograd keeps is measured in it)
        result = profile_module(build(spec, device="meta", train=train, decode=target.decode,
                                      dtype=_torch_dtype(dtype) if step is not None else None),
                                **spec_inputs(spec, target.batch), train=train, dtype=dtype, name=spec.name,
                                step=step)
    else:
        if target.decode is not None or spec.input.kind == "ids":
            what = "a decoding step" if target.decode is not None else f"{spec.name}, whose input is token ids"
            raise ArchlensError(f"the fvcore engine cannot profile {what} (it traces on float inputs)",
                                hint="use --engine analytic or torch")
        from archlens.counting.fvcore_engine import build_for_fvcore, profile_module_fvcore

        result = profile_module_fvcore(build_for_fvcore(spec, train=train), target.input_shape, train=train,
                                       dtype=dtype, name=spec.name)
    metadata = spec.metadata.model_dump(mode="json", exclude_none=True) if spec.metadata else None
    decoding = {}
    if target.decode is not None:  # the cache a step reads is the spec's to say, whichever engine counts
        from archlens.counting.analytic import profile_spec

        cache = profile_spec(spec, batch=target.batch, dtype=dtype, decode=target.decode)
        decoding = {"decode": target.decode, "kv_per_token": cache.kv_per_token}
    return dataclasses.replace(result, metadata=metadata, **decoding)


def spec_inputs(spec: NetworkSpec, batch: int = 1) -> dict[str, Any]:
    """What a built spec runs on, as :func:`~archlens.counting.torch_engine.profile_module`'s keyword:
    ``input_shape`` for an image or features, ``inputs`` (an int64 :class:`TensorSpec`) for token ids."""
    shape = tuple(spec.input.shape(batch))
    if spec.input.kind == "ids":
        from archlens.counting.torch import TensorSpec

        return {"inputs": TensorSpec(shape, "int64")}
    return {"input_shape": shape}


def _profile_module(target: ModuleTarget, engine: str, dtype: str, step: TrainingStep | None = None) -> Profile:
    if engine == "analytic":
        raise ArchlensError("the analytic engine reads specs, not modules", hint="use --engine torch (or fvcore)")
    if target.input_shape is not None and math.prod(target.input_shape) > TORCH_SIZE_LIMIT:
        raise ShapeError(f"the input {'x'.join(map(str, target.input_shape))} has more than 2^63 - 1 elements, "
                         "PyTorch's limit", where=target.label, hint="give a smaller --input-shape")
    if engine == "fvcore":
        from archlens.counting.fvcore_engine import profile_module_fvcore

        if target.input_shape is None:
            raise ArchlensError("the fvcore engine takes one input (--input-shape), not --input",
                                hint="use the torch engine for several or typed inputs")
        return profile_module_fvcore(target.module, target.input_shape, train=target.train, dtype=dtype,
                                     name=target.label)
    from archlens.counting.torch_engine import profile_module

    return profile_module(target.module, target.input_shape, inputs=target.inputs, train=target.train or step is not None,
                          dtype=dtype, name=target.label, device=target.device, step=step)


def _torch_dtype(dtype: str):
    import torch

    return getattr(torch, dtype)
