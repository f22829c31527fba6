"""The tracker: ops attributed to the innermost running module, tensors followed for depth, and the
records, groups and unsupported ops a profile is made of."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from archlens.counting import formulas as fm
from archlens.counting.records import DepthFigures, Group, LayerStats, UnsupportedOp
from archlens.counting.torch.kinds import class_kind, group_kind, leaf_kind
from archlens.counting.torch.step import StepTracking
from archlens.counting.training import StepStats, segment_of, transient_bytes
from archlens.counting.torch.ops import (ATEN_HANDLERS, ATEN_OUTPUTS, BACKWARD_HANDLERS, CONCAT_OPS, DISPATCH_CACHE,
                                         FUNCTION_HANDLERS,
                                         FUNCTION_OUTPUTS, POOL_OPS, VIEW_OPS, WEIGHTED_FUNCTIONS, WEIGHTED_OPS,
                                         OpHandler, arg, first_tensor, flat_tensors, op_key, op_label, shape_of,
                                         tensors_in)

ROOT = "(top)"
"""The record and layer name for ops the profiled module's own ``forward`` runs."""


def _is_bias(name: str) -> bool:
    """``bias``, and ``bias_ih``/``bias_hh`` of recurrent cells, ``in_proj_bias`` of attention."""
    return name == "bias" or name.startswith("bias_") or name.endswith("_bias")


class Tree:
    """One walk over a module tree: qualified names, leaves, and parameters and buffers by qualified name.

    A tensor shared by several modules (a tied embedding) has one key, its first qualified name; the
    meta stand-ins of a module with real weights map to the same keys, so a parameter is counted once
    whichever object a forward sees.
    """

    def __init__(self, root: nn.Module):
        self.names: dict[int, str] = {}
        self.modules: list[nn.Module] = []
        self.leaves: set[int] = set()
        self.tensors: dict[str, torch.Tensor] = {}
        self.key_of: dict[int, str] = {}  # id of a parameter or buffer (or its stand-in) -> its key
        self.parameters: dict[str, tuple[int, bool]] = {}  # key -> (elements, is a bias)
        pending = [("", root)]
        while pending:
            prefix, module = pending.pop()
            if id(module) in self.names:
                continue  # a module shared under two names keeps its first
            self.names[id(module)] = prefix or ROOT
            self.modules.append(module)
            for store in (module._parameters, module._buffers):
                for name, tensor in store.items():
                    if tensor is not None and id(tensor) not in self.key_of:
                        key = f"{prefix}.{name}" if prefix else name
                        self.key_of[id(tensor)] = key
                        self.tensors[key] = tensor
                        if store is module._parameters:
                            self.parameters[key] = (tensor.numel(), _is_bias(name))
            children = [(f"{prefix}.{key}" if prefix else key, child)
                        for key, child in module._modules.items() if child is not None]
            if not children:
                self.leaves.add(id(module))
            pending.extend(reversed(children))
        self.stand_ins: dict[str, torch.Tensor] = {}

    def add_stand_ins(self, stand_ins: dict[str, torch.Tensor]) -> None:
        """Meta tensors standing in for the parameters and buffers of ``key`` during the forward."""
        self.stand_ins = stand_ins
        for key, tensor in stand_ins.items():
            self.key_of[id(tensor)] = key

    def parameter_key(self, tensor: torch.Tensor) -> str | None:
        """The key of a parameter (or its stand-in); None for buffers and anything else."""
        key = self.key_of.get(id(tensor))
        return key if key in self.parameters else None


class Record:
    """What one module (or a container's own ops) costs, filled in while the forward runs.

    Plain classes here, not dataclasses: a dataclass compiles its methods when the module is
    imported, and this import is on the path of a first profile."""

    __slots__ = ("name", "kind", "order", "input_shape", "weights", "biases", "ops", "output_shape",
                 "activation_elements", "key", "backward", "saved", "recompute_saved", "trainable",
                 "trainable_tensors")

    def __init__(self, name: str, kind: str, order: int, input_shape: tuple[int, ...], key: int = 0):
        self.name, self.kind, self.order, self.input_shape, self.key = name, kind, order, input_shape, key
        self.weights = self.biases = self.activation_elements = 0
        self.ops = self.backward = fm.ZERO
        self.saved = self.recompute_saved = self.trainable = self.trainable_tensors = 0
        self.output_shape: tuple[int, ...] | None = None


class Tracker:
    """Counts ops into records of the innermost running module and follows tensor depths."""

    def __init__(self, root: nn.Module, tree: Tree, dtype_bytes: int):
        self.root, self.tree, self.dtype_bytes = root, tree, dtype_bytes
        self.state = frozenset(tree.key_of)  # the parameters and buffers themselves (and stand-ins)
        self.constants = set(self.state)  # parameters, buffers and what is computed from them alone
        self.parameter_ids = {ident: key for ident, key in tree.key_of.items() if key in tree.parameters}
        self.names = tree.names
        self.modules = {id(module): module for module in tree.modules}
        self.leaves = tree.leaves
        self.stack: list[int] = []
        self.records: dict[int, Record] = {}
        self.inputs: dict[int, tuple[int, ...]] = {}
        self.groups: list[Group] = []
        self.group_index: dict[int, int] = {}  # containers running for the first time
        self.counted_params: set[str] = set()  # keys of parameters in some record
        self.used_params: dict[str, Record] = {}  # parameters read by a module not theirs
        self.unsupported: dict[tuple[str, str], int] = {}
        self.depth: dict[int, tuple[int, int]] = {}
        self.alive: list[torch.Tensor] = []  # keeps ids in `depth` from being reused
        self.suppress = 0
        self.step: StepTracking | None = None  # a training step (archlens.counting.torch.step)
        self.trainable: frozenset[str] = frozenset()  # keys of the parameters that get a gradient

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
        if self.step is not None:
            self.step.enter(key, args)
        if key not in self.inputs:
            first = first_tensor(args)
            self.inputs[key] = shape_of(first) if first is not None else ()
            if key in self.leaves:
                self.record(key, leaf_kind(module))
            elif module is not self.root:
                self.group_index[key] = len(self.groups)
                self.groups.append(Group(self.names[key], group_kind(module)))

    def leave(self, module: nn.Module, args: tuple, output: Any) -> None:
        key = id(module)
        if key not in self.names:
            return
        self.stack.pop()
        if self.step is not None:
            self.step.leave(key, output)
        index = self.group_index.pop(key, None)
        if index is not None:  # a container's first call: what it returned is the block's output
            first = first_tensor(output)
            if first is not None:
                group = self.groups[index]
                self.groups[index] = Group(group.name, group.kind, shape_of(first))
        record = self.records.get(key)
        if record is None and self._own_parameters(module):
            record = self.record(key, class_kind(module))
        if record is None:
            return
        seen: set[int] = set()
        for tensor in tensors_in(output):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                record.activation_elements += tensor.numel()
                if record.output_shape is None:
                    record.output_shape = shape_of(tensor)

    def innermost(self) -> str | None:
        return self.names[self.stack[-1]] if self.stack else None

    def record(self, key: int, kind: str) -> Record:
        module = self.modules[key]
        record = Record(self.names[key], kind, len(self.records), self.inputs.get(key, ()), key)
        for param in module._parameters.values():
            if param is not None:
                self._count_parameter(record, self.tree.key_of.get(id(param)))
        self.records[key] = record
        if self.step is not None:
            self.step.created(record)
        return record

    def _count_parameter(self, record: Record, key: str | None) -> None:
        if key is None or key in self.counted_params or key not in self.tree.parameters:
            return
        self.counted_params.add(key)
        elements, is_bias = self.tree.parameters[key]
        if is_bias:
            record.biases += elements
        else:
            record.weights += elements
        if key in self.trainable:
            record.trainable += elements
            record.trainable_tensors += 1

    def _own_parameters(self, module: nn.Module) -> bool:
        key_of, counted = self.tree.key_of, self.counted_params
        return any(p is not None and key_of.get(id(p)) not in counted for p in module._parameters.values())

    def owner(self, key: int) -> Record:
        """The record of module ``key`` (made for a container's own work if it has none yet)."""
        record = self.records.get(key)
        if record is None:
            module = self.modules[key]
            kind = leaf_kind(module) if key in self.leaves else (
                getattr(module, "archlens_op_kind", None) or class_kind(module))
            record = self.record(key, kind)
        return record

    def current(self, op: Any) -> Record:
        key = self.stack[-1] if self.stack else id(self.root)
        record = self.records.get(key)
        if record is None:
            # a container's own ops: an archlens-built container names them (``add`` of a residual
            # block, ``mul`` of a gate); otherwise a concatenation is ``concat``, anything else the class
            module = self.modules[key]
            kind = getattr(module, "archlens_op_kind", None) or (
                "concat" if op in CONCAT_OPS else class_kind(module))
            record = self.record(key, kind)
        elif record.kind == "concat" and op not in CONCAT_OPS and key not in self.leaves:
            record.kind = class_kind(self.modules[key])
        return record

    # -- one op --

    def op(self, op: Any, handler: OpHandler | None, weight_index: int | None, pooling: bool,
           args: tuple, kwargs: dict, out: Any, writes_state: bool = False) -> None:
        """Count one op: ``writes_state`` says it writes into a parameter or buffer (bookkeeping: free)."""
        inputs = flat_tensors(args)
        if kwargs:
            inputs.extend(tensors_in(kwargs))
        outputs = [out] if isinstance(out, torch.Tensor) else flat_tensors(out)
        if not inputs:
            # made from nothing inside a forward (torch.zeros for a first hidden state, arange, a
            # mask): data, not bookkeeping, so what is computed from it counts. Making it is free.
            for tensor in outputs:
                self.depth[id(tensor)] = (0, 0)
                self.alive.append(tensor)
            return
        if writes_state:
            return  # an in-place update of a parameter or buffer (num_batches_tracked += 1): bookkeeping
        weighted = pooled = 0
        constant = True
        constants, depths, parameter_ids = self.constants, self.depth, self.parameter_ids
        for tensor in inputs:
            ident = id(tensor)
            if ident in constants:
                if ident in parameter_ids:
                    self._use_parameter(parameter_ids[ident], op)
                continue
            constant = False
            depth = depths.get(ident)
            if depth is not None:
                weighted, pooled = max(weighted, depth[0]), max(pooled, depth[1])
        if constant:
            # computed from parameters and buffers alone (a relative-position MLP on a table, a weight
            # standardized on every forward): work like any other, though off the data's path (no depth)
            for tensor in outputs:
                self.constants.add(id(tensor))
                self.alive.append(tensor)
            if op in VIEW_OPS:
                return
            if handler is None:
                self._unsupported(op, self.current(op).name)
                return
            count = handler(args, kwargs, out)
            if count != fm.ZERO:
                record = self.current(op)
                record.ops = record.ops + count
            return
        if op in VIEW_OPS:
            for tensor in outputs:
                self.depth[id(tensor)] = (weighted, pooled)
                self.alive.append(tensor)
            return
        record = self.current(op)
        if handler is None:
            self._unsupported(op, record.name)
        else:
            record.ops = record.ops + handler(args, kwargs, out)
        if weight_index is not None:
            weight = arg(args, kwargs, weight_index, "weight")
            if isinstance(weight, torch.Tensor) and id(weight) in self.constants:
                weighted, pooled = weighted + 1, pooled + 1
        elif pooling:
            pooled += 1
        for tensor in outputs:
            self.depth[id(tensor)] = (weighted, pooled)
            self.alive.append(tensor)

    def _use_parameter(self, key: str, op: Any) -> None:
        """A parameter read by an op: if no module of its own counts it (MultiheadAttention reads
        ``out_proj.weight`` without calling ``out_proj``), the module reading it first does."""
        if key not in self.counted_params and key not in self.used_params:
            self.used_params[key] = self.current(op)

    def _unsupported(self, op: Any, layer: str) -> None:
        key = (op_label(op), layer)
        self.unsupported[key] = self.unsupported.get(key, 0) + 1

    # -- results --

    def layers(self) -> tuple[LayerStats, ...]:
        for key, record in self.used_params.items():
            self._count_parameter(record, key)
        rows = []
        for record in sorted(self.records.values(), key=lambda r: r.order):
            output_shape = record.output_shape if record.output_shape is not None else record.input_shape
            rows.append(LayerStats(
                name=record.name, kind=record.kind, input_shape=record.input_shape, output_shape=output_shape,
                weights=record.weights, biases=record.biases, ops=record.ops,
                activation_elements=record.activation_elements,
                activation_bytes=record.activation_elements * self.dtype_bytes,
                step=None if self.step is None else self._step_stats(record, output_shape),
            ))
        # Modules holding parameters that never ran and were never read (an unused head, an embedding
        # table): listed last, kind "not called", so the parameter total is the module's whole count.
        for key, module in self.modules.items():
            if key in self.records:
                continue
            leftover = Record(self.names[key], "not called", 0, ())
            for param in module._parameters.values():
                if param is not None:
                    self._count_parameter(leftover, self.tree.key_of.get(id(param)))
            if leftover.weights or leftover.biases:
                rows.append(LayerStats(name=leftover.name, kind="not called", input_shape=(), output_shape=(),
                                       weights=leftover.weights, biases=leftover.biases, ops=fm.ZERO,
                                       activation_elements=0, activation_bytes=0,
                                       step=None if self.step is None else StepStats(
                                           trainable=leftover.trainable,
                                           trainable_tensors=leftover.trainable_tensors)))
        return tuple(rows)

    def _step_stats(self, record: Record, output_shape: tuple[int, ...]) -> StepStats:
        step = self.step
        flags = step.flags.get(record.key, (False, False))
        checkpointed = (flags[1] and bool(step.options.checkpoint)
                        and segment_of(record.name, step.options.checkpoint) is not None)
        return StepStats(backward=record.backward, recompute=record.ops if checkpointed else fm.ZERO,
                         saved_bytes=record.saved, recompute_bytes=record.recompute_saved,
                         transient_bytes=transient_bytes(record.input_shape, output_shape, flags[0], flags[1],
                                                         self.dtype_bytes),
                         trainable=record.trainable, trainable_tensors=record.trainable_tensors)

    def output_depth(self, output: Any) -> DepthFigures:
        weighted = pooled = 0
        for tensor in tensors_in(output):
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

    def __init__(self, tracker: Tracker):
        super().__init__()
        self.tracker = tracker

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        info = DISPATCH_CACHE.get(func)
        if info is None:
            key = op_key(func._overloadpacket)
            info = DISPATCH_CACHE[func] = (key, ATEN_HANDLERS.get(key), WEIGHTED_OPS.get(key), key in POOL_OPS,
                                           _written_arguments(func), ATEN_OUTPUTS.get(key))
        key, handler, weight_index, pooling, written, shortcut = info
        out = None
        if shortcut is not None and all(tensor.is_meta for tensor in flat_tensors(args)):
            out = shortcut(args, kwargs)
        if out is None:
            try:
                out = func(*args, **kwargs)
            except Exception as error:
                if _meta_limitation(error, args, kwargs):
                    raise CannotRunOnMeta(str(func._overloadpacket), error) from error
                raise
        tracker = self.tracker
        step = tracker.step
        if step is not None:
            if step.phase == "backward":
                if key not in VIEW_OPS:
                    step.backward_op(key, handler or BACKWARD_HANDLERS.get(key), args, kwargs, out)
                return out
            step.forward_op(args, kwargs, out)
        if not tracker.suppress:
            writes_state = bool(written) and any(
                id(arg(args, kwargs, index, name)) in tracker.state for index, name in written)
            tracker.op(key, handler, weight_index, pooling, args, kwargs, out, writes_state)
        return out


class CannotRunOnMeta(Exception):
    """An op that cannot run on the meta device (its result's shape depends on the values: ``nonzero``,
    ``nms``, ``.item()``; or it has no meta kernel), named by its aten name."""

    def __init__(self, op: str, error: BaseException):
        super().__init__(f"{op} cannot run on the meta device")
        self.op = op
        self.error = error


def _meta_limitation(error: BaseException, args: tuple, kwargs: dict) -> bool:
    """An op's failure that is the meta device's, not the shapes': no meta kernel, a value asked for,
    or a tensor made on another device."""
    if not any(tensor.is_meta for tensor in flat_tensors(args)) and not any(
            tensor.is_meta for tensor in tensors_in(kwargs)):
        return False
    text = str(error).lower()
    return isinstance(error, NotImplementedError) or "meta" in text or "fake impl" in text


def _written_arguments(func: Any) -> tuple[tuple[int, str], ...]:
    """The (position, name) of the arguments an aten op writes into and returns: ``self`` of ``add_``,
    ``out=``. Running statistics a batch norm updates on the side are not among them: the op's result
    is new, and it is work."""
    schema = func._schema
    returned = {alias for result in schema.returns if result.alias_info is not None
                for alias in result.alias_info.before_set}
    return tuple((index, argument.name) for index, argument in enumerate(schema.arguments)
                 if argument.alias_info is not None and argument.alias_info.is_write
                 and returned.intersection(argument.alias_info.before_set))


class _FunctionMode(TorchFunctionMode):
    def __init__(self, tracker: Tracker):
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
            shortcut = FUNCTION_OUTPUTS.get(func) if tracker.step is None else None
            out = shortcut(args, kwargs) if shortcut is not None else None
            if out is None:
                out = func(*args, **kwargs)
        finally:
            tracker.suppress -= 1
        tracker.op(func, handler, WEIGHTED_FUNCTIONS.get(func), False,
                   args, kwargs, out)
        return out
