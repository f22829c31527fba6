"""The torch engine: profile any ``nn.Module`` by running it on the meta device and watching the ops.

It sees what really runs, functional ops included (``torch.matmul``, ``x + y``, ``F.relu``,
``torch.cat``, ``F.scaled_dot_product_attention``), through two interception layers:

* a ``TorchDispatchMode`` sees every aten op after autograd and composite decomposition
  (``aten.convolution``, ``aten.addmm``, ``aten.native_batch_norm`` ...);
* a ``TorchFunctionMode`` catches the few functions whose decomposition would hide what they are
  (``F.linear``, ``F.scaled_dot_product_attention``, ``F.local_response_norm``, ``F.dropout``): each
  is counted once with its formula and the ops inside it are not counted again. So
  ``nn.LocalResponseNorm`` (a dozen small ops in Python) and scaled dot-product attention (a math
  decomposition on the meta device, a fused kernel on CPU) count exactly as the analytic engine does.

Every counted op maps to a formula of :mod:`archlens.counting.formulas`, the same functions the
analytic engine uses. Views, copies, concatenation, data movement and dropout are free on purpose.
Ops computed from parameters and buffers alone (a relative-position MLP on a table) are work and
count like any other; only bookkeeping is free: in-place writes into a parameter or buffer
(BatchNorm's ``num_batches_tracked += 1``). A tensor made from nothing inside a forward (a first
hidden state from ``torch.zeros``) is data: what is computed from it counts. Any op without a formula
is listed in :attr:`Profile.unsupported` with the layer that ran it, never counted as zero silently.

A parameter counts once, however many modules share it (a tied embedding), in the record of the
first module that owns it and runs; one read only through another module (``MultiheadAttention``
reads ``out_proj.weight`` without calling ``out_proj``) counts in the reader's record; one never
read is listed under its module, kind ``not called``.

Ops are attributed to the innermost module running (global forward hooks, removed in a
``finally``). Records: one per leaf module that ran, plus one per container that ran ops itself
(an Inception module's ``torch.cat``: kind ``concat``), in order of first execution; each container
is a :class:`Group` with the shape of what its ``forward`` returned. Depth is
measured on the tensor dataflow: a convolution or matrix product with a parameter weight adds one
layer to both figures, a pooling op one to the figure that counts pooling; the longest path to any
output wins.

A module with real weights is profiled through ``torch.func.functional_call`` with meta stand-ins
for its parameters and buffers: nothing weight-sized is allocated, and its parameters, buffers,
train/eval modes, device and hooks are exactly as found afterwards.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archlens.counting.records import DTYPE_BYTES, Profile
from archlens.counting.torch.tracker import ROOT, Tracker, Tree
from archlens.errors import ArchlensError, TargetError

__all__ = ["ROOT", "materialize", "profile_module", "user_code"]


def profile_module(module_or_factory: "nn.Module | Callable[[], nn.Module]", input_shape: tuple[int, ...], *,
                   train: bool = False, dtype: str = "float32", name: str | None = None) -> Profile:
    """Profile a module (or a factory, called under ``torch.device("meta")``) on an input of ``input_shape``.

    >>> from torch import nn
    >>> p = profile_module(lambda: nn.Sequential(nn.Linear(10**6, 10**6), nn.ReLU()), (1, 10**6))
    >>> p.totals.params, p.totals.macs
    (1000001000000, 1000000000000)
    """
    if dtype not in DTYPE_BYTES:
        raise ArchlensError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPE_BYTES)}")
    shape = tuple(int(size) for size in input_shape)
    if not shape or min(shape) < 1:
        raise TargetError(f"input shape {shape} needs positive sizes", hint="write it like 1,3,224,224")
    module = materialize(module_or_factory, name)
    label = name or getattr(module, "archlens_name", None) or type(module).__name__
    tree = Tree(module)
    stand_ins = None
    if not all(tensor.is_meta for tensor in tree.tensors.values()):
        stand_ins = {key: torch.empty_like(tensor, device="meta") for key, tensor in tree.tensors.items()}
    if stand_ins is not None:
        tree.add_stand_ins(stand_ins)
    x = torch.empty(shape, device="meta", dtype=_input_dtype(tree.tensors.values()))
    modes = [(m, m.training) for m in tree.modules]
    tracker = Tracker(module, tree, DTYPE_BYTES[dtype])
    try:
        if any(training != train for _, training in modes):
            module.train(train)
        with tracker.active(), torch.no_grad(), user_code():
            try:
                if stand_ins is None:
                    output = module(x)
                else:
                    output = torch.func.functional_call(module, stand_ins, (x,), strict=False)
            except ArchlensError:
                raise
            except (Exception, SystemExit) as error:  # noqa: BLE001 - the user's forward: name where it broke
                where = tracker.innermost()
                raise TargetError(
                    f"forward raised {type(error).__name__}: {_first_line(error)}",
                    where=f"{label} layer {where}" if where else label,
                    hint=("the torch engine runs on the meta device: make tensors in forward on the input's "
                          "device (x.new_zeros(...), device=x.device)" if "meta" in str(error) else
                          f"check the input shape {','.join(map(str, shape))} and the module's forward"),
                ) from error
    finally:
        for submodule, training in modes:
            if submodule.training != training:
                submodule.training = training
    return Profile(
        name=label,
        engine="torch",
        input_shape=shape,
        dtype=dtype,
        train=train,
        layers=tracker.layers(),
        groups=tuple(tracker.groups),
        depth=tracker.output_depth(output),
        unsupported=tracker.unsupported_ops(),
    )


def user_code():
    """Run the user's code (a factory, an import, a forward) with its ``print`` going to stderr: what
    archlens itself writes to stdout (JSON, CSV) must stay parseable."""
    return contextlib.redirect_stdout(sys.stderr)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def materialize(module_or_factory: Any, name: str | None, *, device: str | None = "meta") -> nn.Module:
    """The module itself, or what a factory returns when called under ``torch.device(device)``."""
    if isinstance(module_or_factory, nn.Module):
        return module_or_factory
    if not callable(module_or_factory):
        raise TargetError(f"cannot profile a {type(module_or_factory).__name__}: expected an nn.Module or a "
                          "callable returning one")
    label = name or getattr(module_or_factory, "__qualname__", repr(module_or_factory))
    try:
        if device is None:
            with user_code():
                module = module_or_factory()
        else:
            with torch.device(device), user_code():
                module = module_or_factory()
    except ArchlensError:
        raise
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the user's factory ran and raised
        hint = ("it is called with no arguments: wrap it, e.g. a function returning Model(width=64)"
                if isinstance(error, TypeError) else "rerun with --debug to see where")
        raise TargetError(f"calling {label}() raised {type(error).__name__}: {_first_line(error)}",
                          hint=hint) from error
    if not isinstance(module, nn.Module):
        raise TargetError(f"{label} returned {type(module).__name__}, not a torch.nn.Module",
                          hint="return the model (an nn.Module instance) from the callable")
    return module


def _input_dtype(tensors) -> torch.dtype:
    for tensor in tensors:
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32
