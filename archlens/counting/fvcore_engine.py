"""The fvcore engine: fvcore's ``FlopCountAnalysis`` figures in an archlens :class:`Profile`.

Many users know fvcore's numbers. This engine runs fvcore on the module and puts its per-module
figures into the same records the torch engine produces (names, kinds, shapes and parameters come
from the torch engine on the meta device), column by column:

* fvcore's ``conv``, ``linear``, ``addmm``, ``matmul``, ``bmm``, ``einsum`` -> ``macs``
  (fvcore's unit is one multiply-add, "flop" in its wording; it leaves bias adds out);
* ``batch_norm``, ``group_norm``, ``layer_norm``, ``instance_norm`` -> ``norm_ops``;
* ``adaptive_avg_pool2d`` (one per input element) -> ``pool_ops``;
* any other figure fvcore reports (upsampling, grid sampling) -> ``elementwise_ops``.

fvcore ignores some ops on purpose (ReLU, concatenation, dropout: zero, silently) and cannot count
others (max and average pooling, ``x + y``, softmax, scaled dot-product attention, the ops inside
local response norm): those are listed in :attr:`Profile.unsupported` as fvcore names them
(``aten::max_pool2d``), layer by layer. So each difference from the torch engine is one of fvcore's
conventions, visible in the profile.

Memory: fvcore traces with ``torch.jit.trace``, which cannot run on the meta device, so the module
runs on the CPU with real weights (4 bytes a parameter in float32: VGG16 needs about 553 MB) and
does the real arithmetic. A spec is built with uninitialised weights set to zero (no random
initialisation), so only the allocation and one forward pass cost time.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

from archlens.counting import formulas as fm
from archlens.counting.records import LayerStats, Profile, UnsupportedOp
from archlens.errors import ArchlensError, TargetError

FVCORE_COLUMNS = {
    "conv": "macs", "linear": "macs", "addmm": "macs", "matmul": "macs", "bmm": "macs", "einsum": "macs",
    "batch_norm": "norm_ops", "group_norm": "norm_ops", "layer_norm": "norm_ops", "instance_norm": "norm_ops",
    "adaptive_avg_pool2d": "pool_ops",
}
"""fvcore's operator names -> archlens columns; anything else goes to ``elementwise_ops``."""


def profile_module_fvcore(module_or_factory: Any, input_shape: tuple[int, ...], *, train: bool = False,
                          dtype: str = "float32", name: str | None = None) -> Profile:
    """Profile a module (or a factory, called on the CPU) with fvcore, in archlens's records.

    >>> from torch import nn
    >>> profile_module_fvcore(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), (1, 3, 8, 8)).totals.macs
    7776
    """
    try:
        with warnings.catch_warnings():  # fvcore's import scripts a helper; torch calls that deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            from fvcore.nn import FlopCountAnalysis
    except ImportError:
        raise ArchlensError("the fvcore engine needs fvcore", hint="pip install fvcore") from None
    import torch

    from archlens.counting.torch import ROOT, materialize, profile_module

    module = materialize(module_or_factory, name, device=None)  # fvcore needs real weights
    if any(t.is_meta for t in (*module.parameters(), *module.buffers())):
        raise TargetError("fvcore cannot trace a module on the meta device",
                          hint="use --engine torch, or give fvcore a module with real weights")
    structure = profile_module(module, input_shape, train=train, dtype=dtype, name=name)
    device = next((t.device for t in (*module.parameters(), *module.buffers())), torch.device("cpu"))
    dtype_in = next((t.dtype for t in module.parameters() if t.is_floating_point()), torch.float32)
    x = torch.zeros(tuple(input_shape), device=device, dtype=dtype_in)
    modes = {m: m.training for m in module.modules()}
    # fvcore runs the real forward: in training mode BatchNorm would update the user's running statistics.
    buffers = {key: tensor.detach().clone() for key, tensor in module.named_buffers()}
    try:
        module.train(train)
        analysis = FlopCountAnalysis(module, (x,))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        by_module = analysis.by_module_and_operator()
        children = {name: [f"{name}.{child}" if name else child for child, _ in sub.named_children()]
                    for name, sub in module.named_modules()}
        figures = {key: _own(by_module, key, children[key]) for key in children}
        unsupported = {key: _own_unsupported(analysis, key, children[key]) for key in children}
    except ArchlensError:
        raise
    except Exception as error:  # noqa: BLE001 - fvcore or the traced forward failed: one line, cause kept
        raise TargetError(f"fvcore could not trace the module: {type(error).__name__}: {error}".splitlines()[0],
                          hint="try --engine torch") from error
    finally:
        for submodule, training in modes.items():
            submodule.training = training
        with torch.no_grad():
            for key, tensor in module.named_buffers():
                tensor.copy_(buffers[key])

    def module_name(record_name: str) -> str:
        return "" if record_name == ROOT else record_name

    layers = []
    seen = set()
    for layer in structure.layers:
        key = module_name(layer.name)
        seen.add(key)
        layers.append(layer._replace(ops=_ops(figures.get(key, Counter()))))
    for key, counter in figures.items():  # figures fvcore gives a module the torch engine has no record for
        if key not in seen and +counter:
            layers.append(LayerStats(key or ROOT, type(module.get_submodule(key)).__name__.lower(), (), (), 0, 0,
                                     _ops(counter), 0, 0))
    listed = tuple(UnsupportedOp(op=op, layer=key or ROOT, count=count)
                   for key in children for op, count in sorted(unsupported[key].items()) if count > 0)
    return dataclasses.replace(structure, engine="fvcore", layers=tuple(layers), unsupported=listed)


def _own(by_module: dict[str, Counter], key: str, children: list[str]) -> Counter:
    own = Counter(by_module.get(key, {}))
    for child in children:
        own.subtract(by_module.get(child, {}))
    return +own


def _own_unsupported(analysis, key: str, children: list[str]) -> Counter:
    own = Counter(analysis.unsupported_ops(key))
    for child in children:
        own.subtract(analysis.unsupported_ops(child))
    return +own


def _ops(counter: Counter) -> fm.OpCount:
    columns = dict.fromkeys(fm.OP_COLUMNS, 0)
    for op, count in counter.items():
        columns[FVCORE_COLUMNS.get(op, "elementwise_ops")] += int(count)
    return fm.OpCount(**columns)


def build_for_fvcore(spec, *, train: bool) -> Callable[[], Any]:
    """A factory building ``spec`` on the CPU with zeroed weights (no random initialisation)."""

    def factory():
        import torch

        from archlens.builder import build

        network = build(spec, device="meta", train=train).to_empty(device="cpu")
        with torch.no_grad():
            for tensor in (*network.parameters(), *network.buffers()):
                tensor.zero_()
            for submodule in network.modules():
                if isinstance(getattr(submodule, "running_var", None), torch.Tensor):
                    submodule.running_var.fill_(1)
        return network

    return factory
