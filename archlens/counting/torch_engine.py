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
analytic engine uses. Views, copies, concatenation and dropout are free on purpose; ops that read
only parameters and buffers (BatchNorm's ``num_batches_tracked += 1`` in training) are bookkeeping
and count zero (a tensor made from nothing inside a forward, such as a first hidden state from
``torch.zeros``, is data: what is computed from it counts); any other op is listed in :attr:`Profile.unsupported` with the layer that ran it,
never counted as zero silently.

Ops are attributed to the innermost module running (global forward hooks, removed in a
``finally``). Records: one per leaf module that ran, plus one per container that ran ops itself
(an Inception module's ``torch.cat``: kind ``concat``), in order of first execution. Depth is
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from archlens.counting import formulas as fm
from archlens.counting.records import DTYPE_BYTES, DepthFigures, Group, LayerStats, Profile, UnsupportedOp
from archlens.errors import ArchlensError, TargetError

ROOT = "(top)"
"""The record and layer name for ops the profiled module's own ``forward`` runs."""

aten = torch.ops.aten
OpHandler = Callable[[tuple, dict, Any], fm.OpCount]


# --- what each op costs: aten ops, keyed by overload packet ---------------------------------------


def _shape(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def _first_tensor(value: Any) -> torch.Tensor | None:
    for tensor in _tensors(value):
        return tensor
    return None


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _flat_tensors(values: Any) -> list[torch.Tensor]:
    """The tensors of an aten op's arguments or results (a tuple, with lists one level deep)."""
    found = []
    for value in values if isinstance(values, (tuple, list)) else (values,):
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(item for item in value if isinstance(item, torch.Tensor))
    return found


def _spatial(kernel: Any, dims: int) -> tuple[int, ...]:
    kernel = tuple(kernel) if isinstance(kernel, (tuple, list)) else (kernel,)
    return kernel * dims if len(kernel) == 1 else kernel


def _convolution(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    x, weight, bias = args[0], args[1], args[2]
    transposed = args[6] if len(args) > 6 else False
    if transposed:
        return fm.conv_transpose(_shape(x), _shape(out), _shape(weight), bias=bias is not None)
    return fm.conv(_shape(out), _shape(weight), bias=bias is not None)


def _addmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    mat1, mat2 = args[1], args[2]
    return fm.linear(_shape(mat1), (mat2.shape[1], mat2.shape[0]), bias=True)


def _product(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.matmul(_shape(args[0]), _shape(args[1]))


def _baddbmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.matmul(_shape(args[1]), _shape(args[2])) + fm.elementwise(_shape(out))


def _attention(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.attention(_shape(args[0]), _shape(args[1]), _shape(args[2]))


def _batch_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.batch_norm(args[0].numel())


def _relu(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.relu(_first_tensor(out).numel())


def _softmax(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.softmax(_first_tensor(out).numel())


def _pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    result = _first_tensor(out)
    return fm.pool(_shape(result), _spatial(args[1], result.dim() - 2))


def _adaptive_avg_pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # the output size argument says how many trailing dimensions are pooled (2 or 3)
    return fm.adaptive_pool(_shape(args[0]), _shape(out), spatial=len(args[1]))


def _mean(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.mean(_shape(args[0]), _shape(out))


def _elementwise(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.elementwise(_shape(out))


def _free(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.ZERO


def _packets(*names: str) -> list:
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


ATEN_HANDLERS: dict[Any, OpHandler] = {}
for _handler, _names in (
    (_convolution, ("convolution", "_convolution")),
    (_addmm, ("addmm",)),
    (_product, ("mm", "bmm", "mv", "dot")),
    (_baddbmm, ("baddbmm",)),
    (_attention, ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
                  "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
                  "_scaled_dot_product_fused_attention_overrideable")),
    (_batch_norm, ("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
                   "_native_batch_norm_legit_functional", "_batch_norm_with_update", "_batch_norm_no_update",
                   "cudnn_batch_norm", "miopen_batch_norm")),
    (_relu, ("relu", "relu_")),
    (_softmax, ("_softmax", "_safe_softmax")),
    (_pool, ("max_pool2d_with_indices", "max_pool2d", "max_pool3d_with_indices", "avg_pool2d", "avg_pool3d")),
    (_adaptive_avg_pool, ("_adaptive_avg_pool2d", "_adaptive_avg_pool3d")),
    (_mean, ("mean",)),
    (_elementwise, ("add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_")),
    (_free, ("cat", "stack", "clone", "copy_", "_to_copy", "contiguous", "constant_pad_nd", "native_dropout",
             "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full",
             "full_like", "fill_", "zero_", "new_empty", "new_empty_strided", "new_zeros", "new_ones",
             "new_full", "lift_fresh", "lift_fresh_copy", "arange")),
):
    for _packet in _packets(*_names):
        if _packet in ATEN_HANDLERS:  # one formula an op: a second registration is a bug
            raise RuntimeError(f"two handlers for {_packet}")
        ATEN_HANDLERS[_packet] = _handler

VIEW_OPS = frozenset(_packets(
    "view", "_unsafe_view", "_reshape_alias", "reshape", "t", "transpose", "permute", "expand", "unsqueeze",
    "squeeze", "slice", "select", "alias", "detach", "as_strided", "split", "split_with_sizes", "unbind",
    "unsafe_split", "narrow", "flatten", "unflatten", "view_as_real", "view_as_complex", "expand_as", "view_as",
))
"""Ops that only reinterpret a tensor: free, carry depth through, and never make a container a record."""

WEIGHTED_OPS = {packet: index for names, index in ((("convolution", "_convolution", "mm", "bmm", "mv"), 1),
                                                   (("addmm", "baddbmm"), 2))
                for packet in _packets(*names)}
"""Products that are a layer when their weight operand (argument index) is a parameter."""

POOL_OPS = frozenset(_packets("max_pool2d_with_indices", "max_pool2d", "max_pool3d_with_indices", "avg_pool2d",
                              "avg_pool3d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "mean"))


# --- functions counted whole, so their decomposition does not hide what they are ---------------------


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _f_linear(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    weight, bias = _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    return fm.linear(_shape(args[0]), _shape(weight), bias=bias is not None)


def _f_attention(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    query, key, value = (_arg(args, kwargs, i, n) for i, n in enumerate(("query", "key", "value")))
    return fm.attention(_shape(query), _shape(key), _shape(value))


def _f_local_response_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.local_response_norm(args[0].numel(), _arg(args, kwargs, 1, "size"))


FUNCTION_HANDLERS: dict[Any, OpHandler] = {
    F.linear: _f_linear,
    F.scaled_dot_product_attention: _f_attention,
    F.local_response_norm: _f_local_response_norm,
    **{function: _free for function in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                        F.feature_alpha_dropout)},
}
WEIGHTED_FUNCTIONS = {F.linear: 1}


def _linear_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """F.linear's result made directly: PyTorch's meta addmm is a Python decomposition whose first use
    imports torch._dynamo (seconds). None when the shapes do not fit: the real call raises the error."""
    x, weight = args[0], _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    if not (x.is_meta and weight.is_meta and weight.dim() == 2 and x.dim() >= 1 and x.shape[-1] == weight.shape[1]):
        return None
    if bias is not None and (not bias.is_meta or tuple(bias.shape) not in ((weight.shape[0],), (), (1,))):
        return None
    return torch.empty((*x.shape[:-1], weight.shape[0]), device="meta", dtype=torch.result_type(x, weight))


def _same_shape_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Local response norm's result: the input's shape (its meta ops are Python decompositions too)."""
    return torch.empty_like(args[0]) if args[0].is_meta else None


def _dropout_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Dropout's result without its mask: the input itself at inference, a tensor like it in training."""
    x = args[0]
    if not x.is_meta:
        return None
    if not _arg(args, kwargs, 2, "training", True) or _arg(args, kwargs, 3, "inplace", False):
        return x
    return torch.empty_like(x)


FUNCTION_OUTPUTS = {
    F.linear: _linear_output,
    F.local_response_norm: _same_shape_output,
    **{function: _dropout_output for function in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout)},
}


# --- record kinds ------------------------------------------------------------------------------------

LEAF_KINDS: dict[type, str] = {
    nn.modules.conv._ConvNd: "conv",
    nn.modules.batchnorm._BatchNorm: "batchnorm",
    nn.ReLU: "relu",
    nn.MaxPool2d: "maxpool",
    nn.AvgPool2d: "avgpool",
    nn.AdaptiveAvgPool2d: "adaptive_avgpool",
    nn.LocalResponseNorm: "lrn",
    nn.modules.dropout._DropoutNd: "dropout",
    nn.Flatten: "flatten",
    nn.Linear: "linear",
    nn.Softmax: "softmax",
}


def leaf_kind(module: nn.Module) -> str:
    """The record kind of a leaf module: its ``archlens_kind`` (modules archlens builds name their
    layer type), else by class (subclasses included), else the lowercased class name."""
    own = getattr(module, "archlens_kind", None)
    if own is not None:
        return own
    for cls in type(module).__mro__:
        kind = LEAF_KINDS.get(cls)
        if kind is not None:
            return kind
    return type(module).__name__.lower()


def group_kind(module: nn.Module) -> str:
    """A container's group kind: its ``archlens_kind`` if it has one, else the lowercased class name."""
    return getattr(module, "archlens_kind", None) or type(module).__name__.lower()


# --- the profile ------------------------------------------------------------------------------------


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
    tree = _Tree(module)
    stand_ins = None
    if not all(tensor.is_meta for tensor in tree.tensors.values()):
        stand_ins = {key: torch.empty_like(tensor, device="meta") for key, tensor in tree.tensors.items()}
    constants = {id(t) for t in (*tree.tensors.values(), *(stand_ins or {}).values())}
    x = torch.empty(shape, device="meta", dtype=_input_dtype(tree.tensors.values()))
    modes = [(m, m.training) for m in tree.modules]
    tracker = _Tracker(module, tree, constants, DTYPE_BYTES[dtype])
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


class _Tree:
    """One walk over a module tree: qualified names, leaves, and parameters and buffers by qualified name."""

    def __init__(self, root: nn.Module):
        self.names: dict[int, str] = {}
        self.modules: list[nn.Module] = []
        self.leaves: set[int] = set()
        self.tensors: dict[str, torch.Tensor] = {}
        seen_tensors: set[int] = set()
        pending = [("", root)]
        while pending:
            prefix, module = pending.pop()
            if id(module) in self.names:
                continue  # a module shared under two names keeps its first
            self.names[id(module)] = prefix or ROOT
            self.modules.append(module)
            for store in (module._parameters, module._buffers):
                for key, tensor in store.items():
                    if tensor is not None and id(tensor) not in seen_tensors:
                        seen_tensors.add(id(tensor))
                        self.tensors[f"{prefix}.{key}" if prefix else key] = tensor
            children = [(f"{prefix}.{key}" if prefix else key, child)
                        for key, child in module._modules.items() if child is not None]
            if not children:
                self.leaves.add(id(module))
            pending.extend(reversed(children))


@dataclass
class _Record:
    name: str
    kind: str
    order: int
    input_shape: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    ops: fm.OpCount = fm.ZERO
    output_shape: tuple[int, ...] | None = None
    activation_elements: int = 0


@dataclass
class _Tracker:
    """Counts ops into records of the innermost running module and follows tensor depths."""

    root: nn.Module
    tree: _Tree
    constants: set[int]
    dtype_bytes: int
    names: dict[int, str] = field(init=False)
    modules: dict[int, nn.Module] = field(init=False)
    leaves: set[int] = field(init=False)
    stack: list[int] = field(default_factory=list)
    records: dict[int, _Record] = field(default_factory=dict)
    inputs: dict[int, tuple[int, ...]] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    counted_params: set[int] = field(default_factory=set)
    unsupported: dict[tuple[str, str], int] = field(default_factory=dict)
    depth: dict[int, tuple[int, int]] = field(default_factory=dict)
    alive: list[torch.Tensor] = field(default_factory=list)  # keeps ids in `depth` from being reused
    suppress: int = 0

    def __post_init__(self) -> None:
        self.names = self.tree.names
        self.modules = {id(module): module for module in self.tree.modules}
        self.leaves = self.tree.leaves

    # -- interception --

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Hooks and modes on; every hook removed and every mode left again, whatever happens."""
        handles = [nn.modules.module.register_module_forward_pre_hook(self.enter),
                   nn.modules.module.register_module_forward_hook(self.leave)]
        try:
            with _DispatchMode(self), _FunctionMode(self):
                yield
        finally:
            for handle in handles:
                handle.remove()

    def enter(self, module: nn.Module, args: tuple) -> None:
        key = id(module)
        if key not in self.names:
            return  # a module outside the profiled tree (made inside a forward): its ops go to the caller
        self.stack.append(key)
        if key not in self.inputs:
            first = _first_tensor(args)
            self.inputs[key] = _shape(first) if first is not None else ()
            if key in self.leaves:
                self.record(key, leaf_kind(module))
            elif module is not self.root:
                self.groups.append(Group(self.names[key], group_kind(module)))

    def leave(self, module: nn.Module, args: tuple, output: Any) -> None:
        key = id(module)
        if key not in self.names:
            return
        self.stack.pop()
        record = self.records.get(key)
        if record is None and self._own_parameters(module):
            record = self.record(key, type(module).__name__.lower())
        if record is None:
            return
        seen: set[int] = set()
        for tensor in _tensors(output):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                record.activation_elements += tensor.numel()
                if record.output_shape is None:
                    record.output_shape = _shape(tensor)

    def innermost(self) -> str | None:
        return self.names[self.stack[-1]] if self.stack else None

    def record(self, key: int, kind: str) -> _Record:
        module = self.modules[key]
        record = _Record(self.names[key], kind, len(self.records), self.inputs.get(key, ()))
        for param_name, param in module._parameters.items():
            if param is None or id(param) in self.counted_params:
                continue
            self.counted_params.add(id(param))
            if param_name == "bias" or param_name.startswith("bias_"):  # bias_ih, bias_hh of recurrent cells
                record.biases += param.numel()
            else:
                record.weights += param.numel()
        self.records[key] = record
        return record

    def _own_parameters(self, module: nn.Module) -> bool:
        return any(p is not None and id(p) not in self.counted_params for p in module._parameters.values())

    def current(self, packet: Any) -> _Record:
        key = self.stack[-1] if self.stack else id(self.root)
        record = self.records.get(key)
        if record is None:
            # a container's own ops: an archlens-built container names them (``add`` of a residual
            # block, ``mul`` of a gate); otherwise a concatenation is ``concat``, anything else the class
            module = self.modules[key]
            kind = getattr(module, "archlens_op_kind", None) or (
                "concat" if packet in (aten.cat, aten.stack) else type(module).__name__.lower())
            record = self.record(key, kind)
        elif record.kind == "concat" and packet not in (aten.cat, aten.stack) and key not in self.leaves:
            record.kind = type(self.modules[key]).__name__.lower()
        return record

    # -- one op --

    def op(self, packet: Any, handler: OpHandler | None, weight_index: int | None, pooling: bool,
           args: tuple, kwargs: dict, out: Any) -> None:
        weighted = pooled = 0
        constant = True
        constants, depths = self.constants, self.depth
        inputs = _flat_tensors(args)
        if not inputs and not (kwargs and any(True for _ in _tensors(kwargs))):
            # made from nothing inside a forward (torch.zeros for a first hidden state, arange, a
            # mask): data, not bookkeeping, so what is computed from it counts. Making it is free.
            for tensor in [out] if isinstance(out, torch.Tensor) else _flat_tensors(out):
                self.depth[id(tensor)] = (0, 0)
                self.alive.append(tensor)
            return
        for tensor in inputs:
            if id(tensor) in constants:
                continue
            constant = False
            depth = depths.get(id(tensor))
            if depth is not None:
                weighted, pooled = max(weighted, depth[0]), max(pooled, depth[1])
        if kwargs and any(id(tensor) not in constants for tensor in _tensors(kwargs)):
            constant = False
        outputs = [out] if isinstance(out, torch.Tensor) else _flat_tensors(out)
        if constant:
            # reads only parameters and buffers (or nothing): weight preprocessing or bookkeeping
            if handler is None and packet not in VIEW_OPS:
                self._unsupported(packet, self.current(packet).name)
            for tensor in outputs:
                self.constants.add(id(tensor))
                self.alive.append(tensor)
            return
        if packet in VIEW_OPS:
            for tensor in outputs:
                self.depth[id(tensor)] = (weighted, pooled)
                self.alive.append(tensor)
            return
        record = self.current(packet)
        if handler is None:
            self._unsupported(packet, record.name)
        else:
            record.ops = record.ops + handler(args, kwargs, out)
        if weight_index is not None:
            weight = _arg(args, kwargs, weight_index, "weight")
            if isinstance(weight, torch.Tensor) and id(weight) in self.constants:
                weighted, pooled = weighted + 1, pooled + 1
        elif pooling:
            pooled += 1
        for tensor in outputs:
            self.depth[id(tensor)] = (weighted, pooled)
            self.alive.append(tensor)

    def _unsupported(self, packet: Any, layer: str) -> None:
        key = (str(packet), layer)
        self.unsupported[key] = self.unsupported.get(key, 0) + 1

    # -- results --

    def layers(self) -> tuple[LayerStats, ...]:
        rows = []
        for record in sorted(self.records.values(), key=lambda r: r.order):
            output_shape = record.output_shape if record.output_shape is not None else record.input_shape
            rows.append(LayerStats(
                name=record.name, kind=record.kind, input_shape=record.input_shape, output_shape=output_shape,
                weights=record.weights, biases=record.biases, ops=record.ops,
                activation_elements=record.activation_elements,
                activation_bytes=record.activation_elements * self.dtype_bytes,
            ))
        # Modules holding parameters that never ran (an unused head, an embedding table): listed last,
        # kind "not called", so the parameter total is the module's whole parameter count.
        seen: set[int] = set()
        for key, module in self.modules.items():
            if key in self.records:
                continue
            weights = biases = 0
            for param_name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                if param_name == "bias" or param_name.startswith("bias_"):
                    biases += param.numel()
                else:
                    weights += param.numel()
            if weights or biases:
                rows.append(LayerStats(name=self.names[key], kind="not called", input_shape=(), output_shape=(),
                                       weights=weights, biases=biases, ops=fm.ZERO, activation_elements=0,
                                       activation_bytes=0))
        return tuple(rows)

    def output_depth(self, output: Any) -> DepthFigures:
        weighted = pooled = 0
        for tensor in _tensors(output):
            depth = self.depth.get(id(tensor), (0, 0))
            weighted, pooled = max(weighted, depth[0]), max(pooled, depth[1])
        return DepthFigures(weighted=weighted, with_pooling=pooled)

    def unsupported_ops(self) -> tuple[UnsupportedOp, ...]:
        return tuple(UnsupportedOp(op=op, layer=layer, count=count)
                     for (op, layer), count in self.unsupported.items())


class _DispatchMode(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps __torch_dispatch__ in torch._dynamo.disable by default: a wrapper on every op.
        # This mode never runs under torch.compile, so it opts out.
        return False

    def __init__(self, tracker: _Tracker):
        super().__init__()
        self.tracker = tracker

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        tracker = self.tracker
        if not tracker.suppress:
            packet = func._overloadpacket
            tracker.op(packet, ATEN_HANDLERS.get(packet), WEIGHTED_OPS.get(packet),
                       packet in POOL_OPS, args, kwargs, out)
        return out


class _FunctionMode(TorchFunctionMode):
    def __init__(self, tracker: _Tracker):
        super().__init__()
        self.tracker = tracker

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        handler = FUNCTION_HANDLERS.get(func)
        tracker = self.tracker
        if handler is None or tracker.suppress:
            # PyTorch keeps this mode off while func runs: the functions a Python-level function
            # calls (F.multi_head_attention_forward's F.linear, F.dropout) are seen as aten ops only
            return func(*args, **kwargs)
        tracker.suppress += 1
        try:
            shortcut = FUNCTION_OUTPUTS.get(func)
            out = shortcut(args, kwargs) if shortcut is not None else None
            if out is None:
                out = func(*args, **kwargs)
        finally:
            tracker.suppress -= 1
        tracker.op(func, handler, WEIGHTED_FUNCTIONS.get(func), False,
                   args, kwargs, out)
        return out
