"""A training step in the torch engine: the backward pass run on the meta device, its ops attributed to
layers, and the activations autograd keeps for it, measured as PyTorch keeps them.

* **Attribution.** Every autograd node is tagged with the module whose op made it: an op's output is
  remembered with the module running (its producer), and the first op that reads the output finds its
  ``grad_fn`` and tags that node with the producer (an in-place op's output is the same tensor: the
  node it replaces keeps the module before; an in-place op on a view gives the view's base a node, tagged
  when the view is next read). In the backward pass, each aten op belongs to the node
  autograd is running (``torch._C._current_autograd_node()``), so to that node's module.
* **Gradients summed.** When a tensor is read by several ops, autograd adds their gradients after the
  node that delivers the second one has run (its post hook has fired): such an op is an accumulation,
  attributed to the innermost module holding every reader (the common prefix of their names: a
  residual's add, a parallel's concatenation), or, where that module has no record (the network
  itself, when an auxiliary head reads the main path), the reader that ran first.
* **Saved activations.** ``torch.autograd.graph.saved_tensors_hooks`` sees every tensor an op saves for
  its backward; each storage counts once (an in-place op's output, views, a tensor two ops save), with
  the module running when it is first saved; storages of parameters and buffers are not activations.
* **Checkpointed blocks** (``checkpoint`` patterns) are accounted as ``torch.utils.checkpoint`` (not
  reentrant) runs them, and a test holds the accounting to a real checkpointed run: the block keeps its
  input (with its first layer), what its layers save counts as ``recompute_bytes``, and their forward
  ops again as ``recompute``.
* **Frozen layers** (``freeze`` patterns): their parameters run with ``requires_grad=False``, so autograd
  computes exactly the gradients it would.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch import nn

from archlens.counting import formulas as fm
from archlens.counting.torch.ops import flat_tensors, tensors_in
from archlens.counting.training import TrainingStep, matches, segment_of


def storage_key(tensor: torch.Tensor) -> int:
    """The identity of a tensor's storage (views and in-place results share it), on any device."""
    return tensor.untyped_storage()._cdata


class StepTracking:
    """The training step's state while the tracker runs a forward and a backward pass."""

    def __init__(self, tracker: Any, options: TrainingStep):
        self.tracker = tracker
        self.options = options
        self.phase = "forward"
        self.state_storages: set[int] = set()
        self.seen: dict[int, torch.Tensor] = {}  # storages kept for the backward pass (tensors kept alive)
        self.segments: set[int] = set()  # module keys of checkpointed blocks
        self.segment: int | None = None  # the checkpointed block running
        self.segment_seen: dict[int, torch.Tensor] = {}
        self.pending = 0  # a checkpointed block's input, for its first record
        self.producer: dict[int, int] = {}  # id(tensor) -> the module key that made it
        self.keep: list[torch.Tensor] = []
        self.tags: dict[Any, int] = {}  # autograd node -> module key
        self.finished: set[Any] = set()
        self.flags: dict[int, list[bool]] = {}  # module key -> [input needs a gradient, output needs one]
        self.inputs: dict[int, tuple] = {}  # module key -> (its first input, that input's node) while it runs
        self.edges: dict[tuple[Any, int], list[Any]] = {}
        self.accumulated: dict[tuple[Any, int], int] = defaultdict(int)
        self.hooks: list[Any] = []
        self.by_name: dict[str, int] = {}
        self.last_layer: str | None = None  # the layer whose backward ran last (an error names it)

    # --- before and after the run ---

    def prepare(self, tree: Any) -> None:
        """Storages of parameters and buffers (and their stand-ins); the checkpointed blocks' modules."""
        for tensor in list(tree.tensors.values()) + list(tree.stand_ins.values()):
            if tensor is not None:
                self.state_storages.add(storage_key(tensor))
        self.by_name = {name: key for key, name in tree.names.items()}
        if self.options.checkpoint:
            for module in tree.modules:
                key = id(module)
                name = tree.names[key]
                if segment_of(name, self.options.checkpoint) == name:
                    self.segments.add(key)

    def module_key(self) -> int:
        stack = self.tracker.stack
        return stack[-1] if stack else id(self.tracker.root)

    # --- forward ---

    def enter(self, key: int, args: tuple) -> None:
        first = next((t for t in tensors_in(args)), None)
        if key not in self.flags:
            self.flags[key] = [bool(first is not None and first.requires_grad), False]
            self.inputs[key] = (first, None if first is None else first.grad_fn)
        if key in self.segments and self.segment is None and self.phase == "forward":
            self.segment = key
            self.segment_seen = {}
            for tensor in tensors_in(args):  # the checkpoint keeps the block's inputs
                storage = storage_key(tensor)
                if storage not in self.seen and storage not in self.state_storages:
                    self.seen[storage] = tensor
                    self.pending += tensor.untyped_storage().nbytes()

    def leave(self, key: int, output: Any) -> None:
        first = next((t for t in tensors_in(output)), None)
        flags = self.flags.get(key)
        if flags is not None and first is not None:
            given, node = self.inputs.pop(key, (None, None))
            if first is given and first.grad_fn is node:  # the input itself, no op (an identity)
                flags[0] = False
            else:
                flags[1] = flags[1] or bool(first.requires_grad)
        if key == self.segment:
            self.segment = None
            self.segment_seen = {}

    def created(self, record: Any) -> None:
        """A record was made: the first in a checkpointed block keeps the block's input."""
        if self.pending:
            record.saved += self.pending
            self.pending = 0

    def forward_op(self, args: tuple, kwargs: dict, out: Any) -> None:
        """Tag the nodes of the op's inputs with their producers; remember the op's outputs' producer."""
        producer, tags = self.producer, self.tags
        for tensor in flat_tensors(args):
            node = tensor.grad_fn
            if node is not None and node not in tags:
                tags[node] = producer.get(id(tensor), id(self.tracker.root))
            if tensor._base is not None:
                self._tag_base(tensor)
        if kwargs:
            for tensor in tensors_in(kwargs):
                node = tensor.grad_fn
                if node is not None and node not in tags:
                    tags[node] = producer.get(id(tensor), id(self.tracker.root))
        key = self.module_key()
        for tensor in ([out] if isinstance(out, torch.Tensor) else flat_tensors(out)):
            producer[id(tensor)] = key
            self.keep.append(tensor)

    def _tag_base(self, view: torch.Tensor) -> None:
        """An in-place op on a view gives its base a node (``CopySlices``) that runs the op's backward, and
        the view a node read from it: the base's node belongs to the module that last wrote the view."""
        node = view._base.grad_fn
        if node is not None and node not in self.tags and type(node).__name__ == "CopySlices":
            self.tags[node] = self.producer.get(id(view), id(self.tracker.root))

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        """A tensor an op saves for its backward: count its storage once, with the module running."""
        if self.phase != "forward":
            return tensor
        storage = storage_key(tensor)
        if storage in self.state_storages or storage in self.seen:
            return tensor
        size = tensor.untyped_storage().nbytes()
        record = self.tracker.owner(self.module_key())
        if self.segment is not None:
            if storage not in self.segment_seen:
                self.segment_seen[storage] = tensor
                record.recompute_saved += size
            return tensor
        self.seen[storage] = tensor
        record.saved += size
        return tensor

    # --- between the passes ---

    def graph(self, outputs: list[torch.Tensor]) -> None:
        """Tag the outputs' nodes, find every node's readers, and hook each node's end."""
        pending = []
        for tensor in outputs:
            node = tensor.grad_fn
            if tensor._base is not None:
                self._tag_base(tensor)
            if node is not None:
                if node not in self.tags:
                    self.tags[node] = self.producer.get(id(tensor), id(self.tracker.root))
                pending.append(node)
        visited = set()
        root = id(self.tracker.root)
        while pending:
            node = pending.pop()
            self.tags.setdefault(node, root)
            if node in visited:
                continue
            visited.add(node)
            self.hooks.append(node.register_hook(self._finisher(node)))
            for child, index in node.next_functions:
                if child is not None:
                    self.edges.setdefault((child, index), []).append(node)
                    if child not in self.tags:  # a node no op read (an in-place op on a view): its reader's
                        self.tags[child] = self.tags[node]
                    if child not in visited:
                        pending.append(child)

    def _finisher(self, node: Any):
        finished = self.finished

        def hook(grad_inputs, grad_outputs):
            finished.add(node)

        return hook

    # --- backward ---

    def backward_op(self, label: str, handler: Any, args: tuple, kwargs: dict, out: Any) -> None:
        """Count one op of the backward pass with the layer whose node runs it."""
        node = torch._C._current_autograd_node()
        if node is None:
            return  # the gradients the pass starts from
        if node in self.finished:
            key = self._accumulation_target(node, out)
        else:
            key = self.tags.get(node, id(self.tracker.root))
        self.last_layer = self.tracker.names.get(key)
        if handler is None:
            self.tracker._unsupported(label, self.tracker.owner(key).name)
            return
        count = handler(args, kwargs, out)
        if count != fm.ZERO:
            record = self.tracker.owner(key)
            record.backward = record.backward + count

    def _accumulation_target(self, node: Any, out: Any) -> int:
        """The module an accumulation of gradients belongs to: the innermost holding every reader of the
        tensor whose gradients it adds (found among the node's inputs that several nodes read)."""
        elements = out.numel() if isinstance(out, torch.Tensor) else None
        for child, index in node.next_functions:
            readers = self.edges.get((child, index))
            if child is None or readers is None or len(readers) < 2:
                continue
            if self.accumulated[(child, index)] >= len(readers) - 1:
                continue
            self.accumulated[(child, index)] += 1
            return self._holder(readers)
        return self.tags.get(node, id(self.tracker.root))

    def _holder(self, readers: list[Any]) -> int:
        tracker = self.tracker
        keys = [self.tags.get(reader, id(tracker.root)) for reader in readers]
        names = [tracker.names[key] for key in keys]
        parts = [name.split(".") for name in names]
        common: list[str] = []
        for level in zip(*parts):
            if len(set(level)) != 1:
                break
            common.append(level[0])
        prefix = ".".join(common)
        holder = self.by_name.get(prefix or None)
        if holder is not None and holder in tracker.records:
            return holder
        ordered = [key for key in keys if key in tracker.records]
        return min(ordered, key=lambda key: tracker.records[key].order) if ordered else keys[0]

    def close(self) -> None:
        for handle in self.hooks:
            handle.remove()
        self.hooks.clear()


def freeze(module: nn.Module, names: dict[int, str], options: TrainingStep) -> list[tuple[nn.Parameter, bool]]:
    """Set ``requires_grad=False`` on the parameters of frozen modules; what to restore afterwards."""
    changed = []
    if not options.freeze:
        return changed
    for sub in module.modules():
        name = names.get(id(sub))
        if name is None or not matches(name, options.freeze):
            continue
        for param in sub.parameters(recurse=False):
            if param.requires_grad:
                changed.append((param, True))
                param.requires_grad_(False)
    return changed


__all__ = ["StepTracking", "freeze", "storage_key"]
