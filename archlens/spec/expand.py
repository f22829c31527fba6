"""Macro expansion: ``inception`` and ``vgg_stage`` become primitives plus grouping.

After :func:`expand` a spec holds only primitives (conv, pools, lrn, relu, softmax, dropout,
flatten, linear) and the groupings ``parallel``, ``sequence`` and ``aux``, and every layer has a
name. Engines, the builder and the graphs know nothing else. The result is itself a valid spec:
``archlens show`` prints it, and loading that output profiles identically.
"""

from __future__ import annotations

from collections import OrderedDict

from archlens.errors import SpecError
from archlens.spec.schema import (
    Aux,
    Branch,
    Conv,
    Inception,
    MaxPool,
    NetworkSpec,
    Parallel,
    Sequence,
    VGGStage,
)


_RECENT: "OrderedDict[int, tuple[NetworkSpec, NetworkSpec]]" = OrderedDict()
_RECENT_SIZE = 32


def expand(spec: NetworkSpec) -> NetworkSpec:
    """Expand every macro of ``spec`` and fill in default layer names.

    >>> from archlens.spec import load_spec
    >>> expand(load_spec("googlenet")).layers[4].type   # inception_3a became a parallel
    'parallel'

    Specs are immutable, so the expansions of the last few specs are remembered (by identity, the
    spec itself kept alive beside its expansion): profiling the same spec again skips this step.
    """
    recent = _RECENT.get(id(spec))
    if recent is not None and recent[0] is spec:
        return recent[1]
    expanded = spec.model_copy(update={"layers": _expand_layers(spec.layers, "layers")})
    _RECENT[id(spec)] = (spec, expanded)
    if len(_RECENT) > _RECENT_SIZE:
        _RECENT.popitem(last=False)
    return expanded


def _expand_layers(layers, path: str) -> list:
    expanded = []
    seen: dict[str, int] = {}
    for index, layer in enumerate(layers):
        name = layer.name or f"{layer.type}_{index}"
        if name in seen:
            raise SpecError(
                f"layer name {name!r} is used twice in the same list (also at [{seen[name]}])",
                where=f"{path}[{index}]",
                hint="give each layer a unique name among its siblings",
            )
        seen[name] = index
        where = f"{path}[{index}].{layer.type}"
        if isinstance(layer, Inception):
            expanded.append(_inception(layer, name))
        elif isinstance(layer, VGGStage):
            expanded.append(_vgg_stage(layer, name))
        elif isinstance(layer, Parallel):
            branches = []
            branch_names: set[str] = set()
            for b_index, branch in enumerate(layer.branches):
                if branch.name in branch_names:
                    raise SpecError(
                        f"branch name {branch.name!r} is used twice", where=f"{where}.branches[{b_index}]",
                        hint="give each branch a unique name",
                    )
                branch_names.add(branch.name)
                layers_path = f"{where}.branches[{b_index}].layers"
                branches.append(branch.model_copy(update={"layers": _expand_layers(branch.layers, layers_path)}))
            expanded.append(layer.model_copy(update={"name": name, "branches": branches}))
        elif isinstance(layer, Aux) and path != "layers":
            raise SpecError(
                "an aux head must sit in the network's top-level layers", where=where,
                hint="move it out of the parallel/sequence it is in",
            )
        elif isinstance(layer, (Sequence, Aux)):
            inner = _expand_layers(layer.layers, f"{where}.layers")
            expanded.append(layer.model_copy(update={"name": name, "layers": inner}))
        else:
            expanded.append(layer if layer.name == name else layer.model_copy(update={"name": name}))
    return expanded


# Macro expansion builds models from values that were validated already, and runs on every profile
# (the hot path of ``archlens fit``). pydantic's validation and even ``model_construct`` cost several
# microseconds a model; ``_construct`` does what ``model_construct`` does for these simple models
# (defaults filled in, fields-set recorded) in a fraction of that.
_DEFAULTS: dict[type, dict] = {}


def _construct(model: type, **values):
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = {name: field.get_default(call_default_factory=True) for name, field in model.model_fields.items()}
        _DEFAULTS[model] = defaults
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", {**defaults, **values})
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance



def _conv(name: str, out: int, kernel: int, macro, padding: int = 0) -> Conv:
    return _construct(Conv, name=name, out=out, kernel=kernel, padding=padding, bias=macro.bias,
                                batch_norm=macro.batch_norm)


def _inception(m: Inception, name: str) -> Parallel:
    """The paper's figure 2: (b) reduced, or (a) naive."""
    k5 = m.kernel_5x5
    pool = _construct(MaxPool, name="pool", kernel=3, stride=1, padding=1, ceil_mode=m.pool_ceil_mode)
    if m.variant == "naive":
        branches = [
            _construct(Branch, name="branch_1x1", layers=[_conv("conv", m.ch1x1, 1, m)]),
            _construct(Branch, name="branch_3x3", layers=[_conv("conv", m.ch3x3, 3, m, padding=1)]),
            _construct(Branch, name="branch_5x5", layers=[_conv("conv", m.ch5x5, k5, m, padding=k5 // 2)]),
            _construct(Branch, name="branch_pool", layers=[pool]),
        ]
    else:
        branches = [
            _construct(Branch, name="branch_1x1", layers=[_conv("conv", m.ch1x1, 1, m)]),
            _construct(Branch, name="branch_3x3", layers=[_conv("reduce", m.ch3x3_reduce, 1, m),
                                              _conv("conv", m.ch3x3, 3, m, padding=1)]),
            _construct(Branch, name="branch_5x5", layers=[_conv("reduce", m.ch5x5_reduce, 1, m),
                                              _conv("conv", m.ch5x5, k5, m, padding=k5 // 2)]),
            _construct(Branch, name="branch_pool", layers=[pool, _conv("proj", m.pool_proj, 1, m)]),
        ]
    return _construct(Parallel, name=name, branches=branches, block="inception")


def _vgg_stage(m: VGGStage, name: str) -> Sequence:
    convs = [
        _construct(Conv, name=f"conv{i + 1}", out=m.out, kernel=3, padding=1, batch_norm=m.batch_norm)
        for i in range(m.convs)
    ]
    pool = _construct(MaxPool, name="pool", kernel=2, stride=2)
    return _construct(Sequence, name=name, layers=[*convs, pool], block="vgg_stage")


def unit_parts(layer) -> list[str]:
    """The leaf modules a conv or linear layer becomes, in order: ``conv``/``linear``, then ``bn``, ``relu``.

    A layer with one part is a single module carrying the layer's name; with several, a group of
    that name whose children carry these names (``conv1.conv``, ``conv1.relu``). The builder and
    the analytic engine both follow this, so their layer names agree.
    """
    parts = [layer.type]
    if getattr(layer, "batch_norm", None) is not None:
        parts.append("bn")
    if layer.activation == "relu":
        parts.append("relu")
    return parts
