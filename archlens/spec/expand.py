"""Expansion: a spec's macros (``inception``, ``vgg_stage``, ``repeat``, its own blocks ...) become
primitives plus grouping, every layer gets a name, every shape is checked.

The work is the one walk of :mod:`archlens.layers.walk`, which knows each layer's input shape (a
block may depend on it). After :func:`expand` a spec holds only primitives and containers
(sequence, parallel, split, residual, gate, aux), every shortcut is resolved, and every layer has
a name. The result is itself a valid spec: ``archlens show`` prints it, and loading that output
profiles identically.
"""

from __future__ import annotations

from collections import OrderedDict

from archlens.layers.walk import Walker
from archlens.spec.schema import NetworkSpec

_RECENT: "OrderedDict[tuple, tuple[NetworkSpec, list]]" = OrderedDict()
_RECENT_SIZE = 32


def input_shape(spec: NetworkSpec, batch: int = 1) -> tuple[int, ...]:
    """The shape the network's first layer sees: ``(batch, channels, height, width)`` for an image,
    ``(batch, tokens)`` token ids, ``(batch, tokens, features)`` or ``(batch, features)``."""
    return spec.input.shape(batch)


def walk_spec(spec: NetworkSpec, *, batch: int = 1, train: bool = False, record_type=None, element_bytes: int = 4,
              keep_inputs: bool = True, cache: int = 0, repeats: bool | None = None, step=None) -> tuple[Walker, list]:
    """Walk ``spec`` from its input: the walker (records, groups, input shapes) and the expanded layers.

    Specs are immutable, so the expansions of the last few specs are remembered (by identity and
    input, the spec itself kept alive beside its expansion): walking the same spec again walks its
    expanded layers, skipping expansion. ``record_type`` makes each record, with the output's bytes at
    ``element_bytes`` an element; ``keep_inputs`` keeps every layer's input shape (for the builder).
    ``cache``: a decoding step, the input's tokens added to a key-value cache of that many tokens.
    ``repeats``: note a repeated block's records once (default: when the inputs are not kept).
    ``step``: a training step's walk state (:class:`archlens.layers.gradients.StepWalk`).
    """
    key = (id(spec), cache)
    recent = _RECENT.get(key)
    walker = Walker(train=train, params=spec.params, blocks=spec.blocks, record_type=record_type,
                    element_bytes=element_bytes, keep_inputs=keep_inputs, vocab=spec.input.vocab, cache=cache,
                    repeats=repeats, step=step)
    shape = input_shape(spec, batch)
    if recent is not None and recent[0] is spec:
        walker.trusted = True
        layers, _, depth = walker.walk(recent[1], "", shape, (0, 0), "layers")
        walker.final_depth = depth
        return walker, layers
    total = 0
    for index, layer in enumerate(spec.layers):  # the limit, checked before any work: name the culprit
        total += layer.size_hint()
        if total > walker.limit:
            walker.reserve(total, f"layers[{index}].{layer.key}")
    layers, _, depth = walker.walk(spec.layers, "", shape, (0, 0), "layers")
    walker.final_depth = depth
    _RECENT[key] = (spec, layers)
    if len(_RECENT) > _RECENT_SIZE:
        _RECENT.popitem(last=False)
    return walker, layers


def expand(spec: NetworkSpec) -> NetworkSpec:
    """Expand every macro of ``spec``, resolve every shortcut and fill in default layer names.

    >>> from archlens.spec import load_spec
    >>> expand(load_spec("googlenet")).layers[7].type   # inception_3a became a parallel
    'parallel'
    """
    _, layers = walk_spec(spec)
    return spec.model_copy(update={"layers": layers, "params": {}, "blocks": {}})
