"""The torch engine: profile any ``nn.Module`` by running it on the meta device and watching the ops.

It sees what really runs, functional ops included (``torch.matmul``, ``x + y``, ``F.relu``,
``torch.cat``, ``F.scaled_dot_product_attention``), through two interception layers:

* a ``TorchDispatchMode`` sees every aten op after autograd and composite decomposition
  (``aten.convolution``, ``aten.addmm``, ``aten.native_batch_norm`` ...);
* a ``TorchFunctionMode`` catches the few functions whose decomposition would hide what they are
  (``F.linear``, ``F.scaled_dot_product_attention``, ``F.local_response_norm``, ``F.instance_norm``,
  ``F.rms_norm``, ``F.bilinear``, ``F.dropout``; see :mod:`archlens.counting.torch.ops`): each
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

Inputs are any a ``forward`` takes (:class:`TensorSpec`, :class:`Inputs`, example tensors). Ops
whose result depends on values (``nonzero``, ``nms``, ``.item()``) cannot run on the meta device:
the error names the op, and ``device="cpu"`` runs on real random tensors instead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from archlens.counting.records import DTYPE_BYTES, Profile
from archlens.counting.torch.step import StepTracking, freeze
from archlens.counting.torch.tracker import ROOT, CannotRunOnMeta, Tracker, Tree
from archlens.counting.training import TRAINING_DTYPES, TrainingStep, check_patterns
from archlens.errors import ArchlensError, TargetError, UncountedOps
from archlens.targets import DEVICES
from archlens.units import TORCH_SIZE_LIMIT, format_bytes

__all__ = ["DEVICES", "ROOT", "Inputs", "TensorSpec", "UncountedOps", "materialize", "profile_module",
           "require_counted", "user_code"]

logger = logging.getLogger(__name__)


class TensorSpec(NamedTuple):
    """An input described, not made: its shape and dtype (``"int64"``, ``torch.long``; None: the
    module's floating-point dtype, float32 by default).

    >>> TensorSpec((1, 128), "int64")
    TensorSpec(shape=(1, 128), dtype='int64')
    """

    shape: tuple[int, ...]
    dtype: "str | torch.dtype | None" = None


class Inputs:
    """Positional and keyword inputs of a forward: ``Inputs(ids, attention_mask=mask)``. Each is a
    tensor (an example: on the meta device only its shape and dtype are used), a :class:`TensorSpec`,
    or any other value, passed as it is (``use_cache=False``); tuples, lists and dicts are walked."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        parts = [repr(value) for value in self.args] + [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"Inputs({', '.join(parts)})"


def require_counted(profile: Profile) -> Profile:
    """``profile`` itself if every op it saw was counted; else :class:`UncountedOps` naming the ops.

    >>> from torch import nn
    >>> require_counted(profile_module(nn.Linear(4, 2), (1, 4))).totals.macs
    8
    """
    if profile.unsupported:
        raise UncountedOps(profile)
    return profile


_DTYPES = {
    "float32": torch.float32, "float": torch.float32, "float64": torch.float64, "double": torch.float64,
    "float16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16, "int64": torch.int64,
    "long": torch.int64, "int32": torch.int32, "int": torch.int32, "int16": torch.int16, "int8": torch.int8,
    "uint8": torch.uint8, "bool": torch.bool, "complex64": torch.complex64,
}


def profile_module(module_or_factory: "nn.Module | Callable[[], nn.Module]",
                   input_shape: "tuple[int, ...] | None" = None, *, inputs: Any = None, train: bool = False,
                   dtype: str = "float32", name: str | None = None, device: str = "meta",
                   strict: bool = False, step: TrainingStep | None = None) -> Profile:
    """Profile a module (or a factory, called under ``torch.device(device)``) on its inputs.

    Inputs: ``input_shape`` for one floating-point tensor, or ``inputs``: a tensor, a
    :class:`TensorSpec`, a tuple of positional inputs, a dict of keyword inputs, or
    :class:`Inputs` for both. On the meta device an example tensor gives its shape and dtype only.

    ``device="cpu"`` runs on real tensors with the weights allocated (a module on the meta device
    gets random weights), for ops whose output depends on the values (``nonzero``, ``nms``): float
    inputs described by a shape are random normal, integer ones are ones (a valid token id), booleans
    True. ``strict=True`` raises :class:`UncountedOps` when any op is not counted. ``dtype`` is the
    activations' dtype, for their bytes.

    >>> from torch import nn
    >>> p = profile_module(lambda: nn.Sequential(nn.Linear(10**6, 10**6), nn.ReLU()), (1, 10**6))
    >>> p.totals.params, p.totals.macs
    (1000001000000, 1000000000000)
    >>> embed = lambda: nn.Sequential(nn.Embedding(1000, 64), nn.Linear(64, 10))
    >>> profile_module(embed, inputs=TensorSpec((2, 16), "int64")).totals.macs   # token ids
    20480
    """
    if dtype not in DTYPE_BYTES:
        raise ArchlensError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPE_BYTES)}")
    if device not in DEVICES:
        raise ArchlensError(f"unknown device {device!r}", hint=f"use one of {', '.join(DEVICES)}")
    args, kwargs = _inputs(input_shape, inputs)
    module = _module_on(module_or_factory, name, device)
    label = name or getattr(module, "archlens_name", None) or type(module).__name__
    tree = Tree(module)
    stand_ins, saved_buffers = _stand_ins(tree, device)
    if stand_ins:
        tree.add_stand_ins(stand_ins)
    float_dtype = _input_dtype(tree.tensors.values())
    generator = torch.Generator().manual_seed(0)
    args = _make(args, device, float_dtype, generator)
    kwargs = _make(kwargs, device, float_dtype, generator)
    first = next(_tensors_of((args, kwargs)), None)
    shape = tuple(first.shape) if first is not None else ()
    if step is not None:
        _check_step_dtype(tree, dtype, label)
    modes = [(m, m.training) for m in tree.modules]
    tracker = Tracker(module, tree, DTYPE_BYTES[dtype])
    train = train or step is not None
    restore: list = []
    try:
        if step is not None:
            restore = _prepare_step(tracker, tree, module, stand_ins, step)
        if any(training != train for _, training in modes):
            module.train(train)
        with tracker.active(), torch.no_grad() if step is None else _recording(tracker), user_code():
            try:
                if stand_ins:
                    output = torch.func.functional_call(module, stand_ins, args, kwargs, strict=False)
                else:
                    output = module(*args, **kwargs)
            except ArchlensError:
                raise
            except (Exception, SystemExit) as error:  # noqa: BLE001 - the user's forward: name where it broke
                raise _forward_error(error, tracker, label, tree, args, kwargs) from error
        if step is not None:
            _backward(tracker, output, label)
    finally:
        for submodule, training in modes:
            if submodule.training != training:
                submodule.training = training
        for buffer, saved in saved_buffers:  # device cpu: a training forward updates running statistics
            buffer.copy_(saved)
        for param, requires_grad, grad in restore:  # frozen parameters, and gradients the pass wrote
            param.requires_grad_(requires_grad)
            param.grad = grad
        if tracker.step is not None:
            tracker.step.close()
    result = Profile(
        name=label,
        engine="torch",
        input_shape=shape,
        dtype=dtype,
        train=train,
        layers=tracker.layers(),
        groups=tuple(tracker.groups),
        depth=tracker.output_depth(output),
        unsupported=tracker.unsupported_ops(),
        inputs=_described(args, kwargs),
        training=step,
    )
    return require_counted(result) if strict else result


def _check_step_dtype(tree: Tree, dtype: str, label: str) -> None:
    """A training step is measured in the module's own dtype: the one asked for must be it."""
    if dtype not in TRAINING_DTYPES:
        raise TargetError(f"a training step runs in a floating-point dtype, not {dtype}",
                          hint=f"use one of {', '.join(TRAINING_DTYPES)}")
    found = next((tensor.dtype for key, tensor in tree.tensors.items()
                  if key in tree.parameters and tensor.is_floating_point()), None)
    if found is not None and str(found).removeprefix("torch.") != dtype:
        raise TargetError(f"{label}'s weights are {str(found).removeprefix('torch.')}, not {dtype}",
                          hint=f"give --dtype {str(found).removeprefix('torch.')}, or build the module in {dtype}")


def _prepare_step(tracker: Tracker, tree: Tree, module: nn.Module, stand_ins: dict[str, torch.Tensor],
                  step: TrainingStep) -> list:
    """Freeze what ``step`` freezes, give stand-ins the parameters' ``requires_grad``, and start the
    step's tracking; what to restore afterwards (each parameter's ``requires_grad`` and ``grad``). A freeze or
    checkpoint pattern that names no module is an error."""
    check_patterns(step, [name for name in tree.names.values() if name and name != ROOT])
    frozen = {id(param) for param, _ in freeze(module, tree.names, step)}
    restore = [(param, param.requires_grad or id(param) in frozen, param.grad) for param in module.parameters()]
    for param in module.parameters():
        if id(param) in frozen:
            param.requires_grad_(False)
    for key, tensor in stand_ins.items():
        if key in tree.parameters and tensor.is_floating_point():
            tensor.requires_grad_(tree.tensors[key].requires_grad)
    tracker.trainable = frozenset(key for key in tree.parameters
                                  if (stand_ins.get(key, tree.tensors[key])).requires_grad)
    tracker.step = StepTracking(tracker, step)
    tracker.step.prepare(tree)
    return restore


@contextlib.contextmanager
def _recording(tracker: Tracker):
    """The forward pass of a training step: autograd on, saved tensors measured."""
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(tracker.step.pack, _unpacked):
        yield


def _unpacked(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


def _backward(tracker: Tracker, output: Any, label: str) -> None:
    """The backward pass from every output that needs a gradient (each given a gradient of ones)."""
    outputs = [tensor for tensor in _tensors_of(output) if tensor.requires_grad]
    if not outputs:
        return
    step = tracker.step
    step.graph(outputs)
    seeds = [torch.ones_like(tensor) for tensor in outputs]
    step.phase = "backward"
    with tracker.active(), user_code():
        try:
            torch.autograd.backward(outputs, seeds)
        except ArchlensError:
            raise
        except Exception as error:  # noqa: BLE001 - a backward formula the meta device lacks
            where = step.last_layer or label
            raise TargetError(f"the backward pass raised {type(error).__name__}: {_first_line(error)}",
                              where=where, hint="profile inference only (drop --step train)") from error


def _inputs(input_shape: "tuple[int, ...] | None", inputs: Any) -> tuple[tuple, dict]:
    """Positional and keyword inputs, as given (tensors, specs, values)."""
    if input_shape is not None and inputs is not None:
        raise TargetError("pass input_shape or inputs, not both",
                          hint="inputs=TensorSpec(shape, dtype) describes one input with its dtype")
    if inputs is None:
        if input_shape is None:
            raise TargetError("the module needs an input", hint="pass input_shape=(1, 3, 224, 224), or inputs=...")
        return (TensorSpec(tuple(input_shape)),), {}
    if isinstance(inputs, Inputs):
        return tuple(inputs.args), dict(inputs.kwargs)
    if isinstance(inputs, (torch.Tensor, TensorSpec)):
        return (inputs,), {}
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)):
        if inputs and all(isinstance(item, int) and not isinstance(item, bool) for item in inputs):
            shape = ",".join(map(str, inputs))
            raise TargetError(f"inputs=({shape}) looks like a shape, not a list of inputs",
                              hint=f"pass input_shape=({shape}), or inputs=TensorSpec(({shape}), dtype)")
        return tuple(inputs), {}
    raise TargetError(f"cannot use a {type(inputs).__name__} as the module's inputs",
                      hint="pass a tensor, a TensorSpec, a tuple (positional), a dict (keyword) or Inputs(...)")


def _make(value: Any, device: str, float_dtype: torch.dtype, generator: torch.Generator) -> Any:
    """The tensors to run on: specs made, example tensors moved to the meta device (device meta) or
    used as they are (device cpu); anything else as it is."""
    if isinstance(value, TensorSpec):
        return _tensor(value, device, float_dtype, generator)
    if isinstance(value, torch.Tensor):
        if device == "meta":
            return value if value.is_meta else torch.empty_like(value, device="meta")
        if value.is_meta:
            return _tensor(TensorSpec(tuple(value.shape), value.dtype), device, float_dtype, generator)
        return value if value.device.type == "cpu" else value.cpu()
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_make(item, device, float_dtype, generator) for item in value)
    if isinstance(value, list):
        return [_make(item, device, float_dtype, generator) for item in value]
    if isinstance(value, dict):
        return {key: _make(item, device, float_dtype, generator) for key, item in value.items()}
    return value


def _tensor(spec: TensorSpec, device: str, float_dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    shape = tuple(int(size) for size in spec.shape)
    if not shape or min(shape) < 1:
        raise TargetError(f"input shape {shape} needs positive sizes", hint="write it like 1,3,224,224")
    if math.prod(shape) > TORCH_SIZE_LIMIT:
        raise TargetError(f"the input {'x'.join(map(str, shape))} has more than 2^63 - 1 elements, PyTorch's limit",
                          hint="give a smaller input")
    dtype = float_dtype if spec.dtype is None else _dtype(spec.dtype)
    if device == "meta":
        return torch.empty(shape, device="meta", dtype=dtype)
    if dtype.is_floating_point:
        return torch.randn(shape, generator=generator).to(dtype)
    return torch.ones(shape, dtype=dtype)  # token id 1 exists in any vocabulary; a mask of ones attends


def _dtype(value: "str | torch.dtype") -> torch.dtype:
    if isinstance(value, torch.dtype):
        return value
    found = _DTYPES.get(str(value).removeprefix("torch."))
    if found is None:
        raise TargetError(f"unknown input dtype {value!r}", hint=f"use one of {', '.join(_DTYPES)}")
    return found


def _described(args: tuple, kwargs: dict) -> tuple[str, ...]:
    """The inputs as the heading names them (``1x128 int64``, ``mask=1x128 float32``), when one float
    tensor's shape would not say it all; () otherwise."""
    named = [("", value) for value in args] + list(kwargs.items())
    tensors = [(key, value) for key, value in named if isinstance(value, torch.Tensor)]
    if len(named) == 1 and len(tensors) == 1 and tensors[0][1].is_floating_point():
        return ()
    return tuple(
        f"{key + '=' if key else ''}{'x'.join(map(str, value.shape)) or 'scalar'} {str(value.dtype).removeprefix('torch.')}"
        for key, value in tensors)


def _tensors_of(value: Any):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors_of(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_of(item)


def _module_on(module_or_factory: Any, name: str | None, device: str) -> nn.Module:
    """The module; a factory is called under ``torch.device(device)`` (on the CPU after checking, on
    the meta device, that its weights fit in memory)."""
    if device == "meta" or isinstance(module_or_factory, nn.Module):
        return materialize(module_or_factory, name, device="meta" if device == "meta" else None)
    try:
        on_meta = materialize(module_or_factory, name)
    except TargetError:  # a constructor that needs values (torchvision's regnet): the CPU build decides
        logger.info("device cpu: %s cannot be built on the meta device to size it first", name or "the factory")
    else:
        _check_memory(_weight_bytes(on_meta))
    return materialize(module_or_factory, name, device="cpu")


def _weight_bytes(module: nn.Module) -> int:
    return sum(tensor.numel() * tensor.element_size() for tensor in Tree(module).tensors.values())


def _check_memory(needed: int) -> None:
    logger.info("device cpu: %s of weights", format_bytes(needed))
    available = _available_memory()
    if available is not None and needed > available:
        raise TargetError(f"device cpu needs {format_bytes(needed)} for the weights; {format_bytes(available)} "
                          "of memory is free", hint="profile on the meta device, or on a larger machine")


def _available_memory() -> int | None:
    """Bytes of memory available for new allocations (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform: let the allocation decide
        return None


def _stand_ins(tree: Tree, device: str) -> tuple[dict[str, torch.Tensor], list]:
    """Tensors to run with in place of the module's own, and buffers to restore afterwards.

    Meta device: meta stand-ins for every real tensor (nothing weight-sized allocated). CPU: random
    weights for tensors on the meta device (normal, std 0.02; floating-point buffers ones, integer
    buffers zeros, a valid index), the module's own CPU tensors as they are, its buffers saved.
    """
    if device == "meta":
        if all(tensor.is_meta for tensor in tree.tensors.values()):
            return {}, []
        return {key: torch.empty_like(tensor, device="meta") for key, tensor in tree.tensors.items()}, []
    others = sorted({t.device.type for t in tree.tensors.values()} - {"cpu", "meta"})
    if others:
        raise TargetError(f"device cpu: the module's weights are on {', '.join(others)}",
                          hint="move it to the CPU first (module.cpu()), or profile on the meta device")
    meta = {key: tensor for key, tensor in tree.tensors.items() if tensor.is_meta}
    if meta:
        _check_memory(sum(tensor.numel() * tensor.element_size() for tensor in meta.values()))
    generator = torch.Generator().manual_seed(0)
    stand_ins = {}
    for key, tensor in meta.items():
        if key in tree.parameters and tensor.is_floating_point():
            stand_ins[key] = (torch.randn(tensor.shape, generator=generator) * 0.02).to(tensor.dtype)
        elif tensor.is_floating_point():
            stand_ins[key] = torch.ones(tensor.shape, dtype=tensor.dtype)
        else:
            stand_ins[key] = torch.zeros(tensor.shape, dtype=tensor.dtype)
    saved = [(tensor, tensor.detach().clone()) for key, tensor in tree.tensors.items()
             if not tensor.is_meta and key not in tree.parameters]
    return stand_ins, saved


def _forward_error(error: BaseException, tracker: Tracker, label: str, tree: Tree, args: tuple,
                   kwargs: dict) -> TargetError:
    """The user's forward failed: one line naming the layer, and what to do."""
    where = tracker.innermost()
    where = f"{label} layer {where}" if where else label
    on_meta = any(tensor.is_meta for tensor in _tensors_of((args, kwargs)))
    weights = _weight_bytes(tracker.root)
    cpu_hint = "profile on real tensors: --device cpu (device='cpu' in Python; " + (
        f"it allocates the weights, {format_bytes(weights)}, and runs" if weights else "it runs") + " on random inputs)"
    cause = error
    while cause is not None and not isinstance(cause, CannotRunOnMeta):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        reason = _first_line(cause.error).split(". ")[0].rstrip(".")
        return TargetError(f"{cause.op} cannot run on the meta device ({reason})", where=where, hint=cpu_hint)
    if on_meta and "meta" in str(error).lower():
        return TargetError(f"forward raised {type(error).__name__}: {_first_line(error)}", where=where,
                           hint=f"it cannot run on the meta device: {cpu_hint}")
    tensors = list(_tensors_of((args, kwargs)))
    if len(tensors) == 1 and tensors[0].is_floating_point():
        checked = f"the input shape {','.join(map(str, tensors[0].shape))}"
    else:
        checked = "the inputs (" + ", ".join(
            f"{'x'.join(map(str, t.shape))} {str(t.dtype).removeprefix('torch.')}" for t in tensors) + ")"
    return TargetError(f"forward raised {type(error).__name__}: {_first_line(error)}", where=where,
                       hint=f"check {checked} and the module's forward")


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
