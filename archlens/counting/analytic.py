"""The analytic engine: a profile from a spec by shape inference, without importing torch.

It walks the spec (:func:`archlens.spec.expand.walk_spec`): each layer type infers its output shape
with PyTorch's own size rules and records what it computes with the formulas of
:mod:`archlens.counting.formulas`; the torch engine applies the same formulas to the ops it sees,
and for every built-in network both agree to the last multiply-add.
"""

from __future__ import annotations

from typing import Any

from archlens.counting.records import DTYPE_BYTES, DepthFigures, Group, LayerStats, Profile
from archlens.counting.repeats import GroupList, RecordList
from archlens.counting.training import TRAINING_DTYPES, TrainingStep, check_patterns
from archlens.layers.walk import Repeated
from archlens.errors import SpecError
from archlens.spec.expand import walk_spec
from archlens.spec.schema import NetworkSpec


def profile_spec(spec: NetworkSpec, *, batch: int = 1, dtype: str = "float32", train: bool = False,
                 decode: int | None = None, repeats: bool = True, step: TrainingStep | None = None) -> Profile:
    """Profile a spec analytically.

    >>> from archlens.spec import load_spec
    >>> profile_spec(load_spec("vgg16")).totals.params
    138357544

    ``decode=N``: a decoding step, the spec's input tokens (new ones) after a key-value cache of N tokens.
    ``repeats``: a block repeated on the same input is walked once and its records noted as repeated
    (:mod:`archlens.counting.repeats`: the same records, read on demand); False walks every copy.
    ``step``: a training step (in training mode): each record's backward ops, what it keeps for the
    backward pass and its trainable parameters (:mod:`archlens.layers.gradients`).
    """
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPE_BYTES)}")
    if batch < 1:
        raise SpecError(f"batch size must be at least 1, got {batch}")
    if decode is not None and spec.input.kind not in ("ids", "tokens"):
        raise SpecError(f"a decoding step needs a token input; {spec.name}'s input is {spec.input.kind}")
    walking = None
    if step is not None:
        if dtype not in TRAINING_DTYPES:
            raise SpecError(f"a training step runs in a floating-point dtype, not {dtype}",
                            hint=f"use one of {', '.join(TRAINING_DTYPES)}")
        if decode is not None:
            raise SpecError("a training step has no decoding step", hint="drop --decode (or --step train)")
        from archlens.layers.gradients import StepWalk
        from archlens.layers.base import TokenIds

        train = True
        shape = spec.input.shape(batch)
        walking = StepWalk(step, DTYPE_BYTES[dtype], tuple(shape), shape.__class__ is TokenIds)
    walker, _ = walk_spec(spec, batch=batch, train=train, record_type=LayerStats, element_bytes=DTYPE_BYTES[dtype],
                          keep_inputs=False, cache=decode or 0, repeats=repeats, step=walking)
    if walking is not None:
        walking.read("", walking.value)  # the loss reads the output (an aux head may have read it too)
        walking.finish(walker.records)
        check_patterns(step, [item.name for item in walker.records if item.__class__ is not Repeated])
    layers: Any
    groups: Any
    if any(item.__class__ is Repeated for item in walker.records):  # repeated blocks, counted once
        layers = RecordList(walker.records)
        groups = GroupList([item if item.__class__ is Repeated else Group(*item) for item in walker.groups], Group)
    else:
        layers = tuple(walker.records)
        groups = tuple(Group(*group) for group in walker.groups)
    depth = walker.final_depth
    weighted = max([depth[0], *(d[0] for d in walker.side_depths)])
    with_pooling = max([depth[1], *(d[1] for d in walker.side_depths)])
    return Profile(
        name=spec.name,
        engine="analytic",
        input_shape=tuple(spec.input.shape(batch)),
        dtype=dtype,
        train=train,
        layers=layers,
        groups=groups,
        depth=DepthFigures(weighted=weighted, with_pooling=with_pooling),
        metadata=spec.metadata.model_dump(mode="json", exclude_none=True) if spec.metadata else None,
        decode=decode,
        kv_per_token=walker.kv_per_token,
        training=step,
    )


