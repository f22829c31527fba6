"""A training step: what it asks for beyond the forward pass, as both engines count it.

A training step is the forward pass, the backward pass (the gradients of every layer that needs
them), and the optimizer's update of every trainable parameter. Conventions (README, "What a
training step costs"):

* **Backward MACs** are the products of the backward pass, exactly as autograd runs them: a
  convolution, linear layer or matrix product costs its forward MACs once for the gradient of its
  input and once for the gradient of its weight, and only for those that are needed. The network's
  input needs no gradient, so the first layer computes no input gradient; a frozen layer
  (``freeze``) computes no weight gradient; a layer whose input needs no gradient and that has no
  trainable parameter (everything before the first trainable layer) takes no part in the backward
  pass at all. Attention's two products cost two products each (the gradients of both operands).
  The other operations of the backward pass go to the same columns as the forward's
  (:mod:`archlens.counting.formulas`, "backward").
* A tensor read by several layers (a residual block's input, an Inception module's) receives the
  sum of their gradients: ``readers - 1`` adds an element, counted in the innermost block holding
  every reader (a residual's add, a parallel's concatenation, a gate's multiply).
* **The optimizer** updates every trainable parameter (:data:`OPTIMIZERS`, PyTorch's single-tensor
  implementations with their defaults): elementwise operations a parameter, no MACs.
* **Memory** (bytes, :class:`StepFigures`): parameters, gradients (one a trainable parameter),
  optimizer state (as PyTorch's optimizers keep it), and the activations autograd keeps for the
  backward pass, each storage counted once (an in-place ReLU's output, views, a tensor saved by two
  ops); parameters and buffers that an op saves are not activations. The peak of a step is the sum
  at the end of the forward pass plus the largest transient of the backward pass.
* ``checkpoint``: a checkpointed block keeps only its input; its forward runs again in the backward
  pass (``recompute``), and what it saves is alive only while its own backward runs.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from archlens.counting.formulas import OpCount, ZERO
from archlens.errors import ArchlensError


class StepStats(NamedTuple):
    """What one layer adds to a training step (the forward is the layer's own ``ops``).

    ``backward``: the ops of its backward pass; ``recompute``: its forward again, in the backward pass
    (a checkpointed block's layers); ``saved_bytes``: the activations it keeps for the backward pass
    (storages not kept before); ``recompute_bytes``: what it keeps while its checkpointed block runs
    again; ``transient_bytes``: the gradients its backward holds at once (of its output, and of its
    input when that needs one); ``trainable``: its parameters that get a gradient, in
    ``trainable_tensors`` tensors.
    """

    backward: OpCount = ZERO
    recompute: OpCount = ZERO
    saved_bytes: int = 0
    recompute_bytes: int = 0
    transient_bytes: int = 0
    trainable: int = 0
    trainable_tensors: int = 0

    def __add__(self, other: "StepStats") -> "StepStats":  # type: ignore[override]
        """Summed figures; the transient is the larger (the backward pass holds one layer's at a time)."""
        if not isinstance(other, StepStats):
            return NotImplemented
        mine, theirs = self[0], other[0]
        backward = mine if not any(theirs) else theirs if not any(mine) else mine + theirs
        mine, theirs = self[1], other[1]
        recompute = mine if not any(theirs) else theirs if not any(mine) else mine + theirs
        return StepStats(backward, recompute, self[2] + other[2], self[3] + other[3],
                         max(self[4], other[4]), self[5] + other[5], self[6] + other[6])

    def times(self, count: int) -> "StepStats":
        """The figures of ``count`` copies (the transient stays: copies run one after another)."""
        return StepStats(OpCount(*(value * count for value in self[0])), OpCount(*(value * count for value in self[1])),
                         self[2] * count, self[3] * count, self[4], self[5] * count, self[6] * count)


NO_STEP = StepStats()


class Optimizer(NamedTuple):
    """An optimizer as PyTorch implements it (``torch.optim``, single-tensor, defaults).

    ``ops``: elementwise operations a parameter and step (:func:`optimizer_ops`), with ``how`` they
    arise; ``state``: the tensors it keeps a parameter, each the size of the parameter (in fp32 with
    mixed precision, where an fp32 master copy of the weights joins them); ``step_counter``: a float32
    scalar a parameter tensor (Adam's ``state['step']``)."""

    name: str
    title: str
    ops: int
    how: str
    state: tuple[str, ...]
    step_counter: bool


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer("sgd", "SGD", 2, "p -= lr g: a multiply and an add", (), False),
    "momentum": Optimizer("momentum", "SGD with momentum", 4,
                          "b = 0.9 b + g (multiply, add); p -= lr b (multiply, add)", ("momentum_buffer",), False),
    "adam": Optimizer("adam", "Adam", 13,
                      "m = lerp(m, g, 1 - b1) (3); v = b2 v + (1 - b2) g g (4); d = sqrt(v) / c2 + eps (3); "
                      "p -= s m / d (3)", ("exp_avg", "exp_avg_sq"), True),
    "adamw": Optimizer("adamw", "AdamW", 14,
                       "Adam's 13 and the decoupled weight decay p *= 1 - lr wd (1)", ("exp_avg", "exp_avg_sq"), True),
}
"""The optimizers a training step can use, by ``--optimizer`` name."""

STEP_COUNTER_BYTES = 4
"""Adam's ``state['step']``: a float32 scalar tensor a parameter tensor (on the CPU unless ``capturable``)."""
MASTER_BYTES = 4
"""Mixed precision: the fp32 master copy of a weight, and every optimizer state at fp32."""


def optimizer_ops(name: str, parameters: int) -> OpCount:
    """The elementwise operations of one update of ``parameters`` trainable parameters (no MACs).

    >>> optimizer_ops("adamw", 1000).elementwise_ops
    14000
    """
    return OpCount(elementwise_ops=OPTIMIZERS[name].ops * parameters)


@dataclass(frozen=True)
class TrainingStep:
    """What a training step is made of: the optimizer, the precision, frozen and checkpointed layers.

    ``freeze`` and ``checkpoint`` are name patterns (shell-style, :func:`matches`): a pattern with k
    dot-separated parts names layers and blocks k levels down, with everything inside them.
    ``mixed_precision``: weights, gradients and activations at the profile's dtype, an fp32 master copy
    of the weights and fp32 optimizer states (DeepSpeed's and ZeRO's accounting: 2 + 2 + 12 bytes a
    parameter for Adam at bfloat16); without it, everything at the profile's dtype.
    """

    optimizer: str = "adamw"
    mixed_precision: bool = False
    freeze: tuple[str, ...] = ()
    checkpoint: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ArchlensError(f"unknown optimizer {self.optimizer!r}", hint=f"use one of: {', '.join(OPTIMIZERS)}")
        for option in ("freeze", "checkpoint"):
            patterns = getattr(self, option)
            if isinstance(patterns, str):
                patterns = (patterns,)
            patterns = tuple(patterns)
            for pattern in patterns:
                if not isinstance(pattern, str) or not pattern or any(not part for part in pattern.split(".")):
                    raise ArchlensError(f"--{option} {pattern!r} is not a layer name pattern",
                                        hint="write names as the table shows them, with * and ?: 'conv*', 'layer1.0'")
            object.__setattr__(self, option, patterns)

    def frozen(self, name: str) -> bool:
        """Whether the layer called ``name`` is frozen (its parameters get no gradient)."""
        return bool(self.freeze) and matches(name, self.freeze)

    def to_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "mixed_precision": self.mixed_precision, "freeze": list(self.freeze),
                "checkpoint": list(self.checkpoint)}

    def describe(self) -> str:
        """The options in words, as a comparison's title and a check's summary name them.

        >>> TrainingStep(optimizer="sgd", freeze=("conv1",), checkpoint=("layer1", "layer2")).describe()
        'SGD, frozen conv1, checkpointed layer1, layer2'
        """
        parts = [OPTIMIZERS[self.optimizer].title]
        if self.mixed_precision:
            parts.append("mixed precision")
        if self.freeze:
            parts.append("frozen " + ", ".join(self.freeze))
        if self.checkpoint:
            parts.append("checkpointed " + ", ".join(self.checkpoint))
        return ", ".join(parts)


TRAINING_DTYPES = ("float32", "bfloat16", "float16", "float64")
"""The dtypes a training step runs in (weights, gradients, activations; with mixed precision the compute dtype)."""

STEPS = ("inference", "train")
"""What ``--step`` profiles: the forward pass (``inference``), or a whole training step (``train``)."""


def training_step(step: "str | TrainingStep | None", *, optimizer: str | None = None, mixed_precision: bool = False,
                  freeze: "Iterable[str] | str" = (), checkpoint: "Iterable[str] | str" = ()) -> TrainingStep | None:
    """The training step ``step`` asks for (``"train"``, a :class:`TrainingStep`, or None / ``"inference"``),
    with the options given; options without a training step are an error.

    >>> training_step("train", optimizer="sgd").optimizer
    'sgd'
    """
    options = {"optimizer": optimizer, "mixed_precision": mixed_precision or None, "freeze": freeze or None,
               "checkpoint": checkpoint or None}
    given = [name for name, value in options.items() if value is not None]
    if step is None or step == "inference":
        if given:
            option = given[0].replace("_", "-")
            raise ArchlensError(f"--{option} applies to a training step", hint="add --step train")
        return None
    if isinstance(step, TrainingStep):
        if given:
            raise ArchlensError(f"{given[0]} is given twice: in the TrainingStep and as an argument")
        return step
    if step != "train":
        raise ArchlensError(f"unknown step {step!r}", hint=f"use one of: {', '.join(STEPS)}")
    return TrainingStep(optimizer=optimizer or "adamw", mixed_precision=mixed_precision,
                        freeze=tuple([freeze] if isinstance(freeze, str) else freeze),
                        checkpoint=tuple([checkpoint] if isinstance(checkpoint, str) else checkpoint))


def check_precision(step: "TrainingStep | None", dtype: str) -> None:
    """Mixed precision computes in a 16-bit dtype; at float32 its fp32 master weights would only copy the
    weights, so the combination is refused (one line, exit 2)."""
    if step is not None and step.mixed_precision and dtype not in ("bfloat16", "float16"):
        raise ArchlensError(f"mixed precision computes in a 16-bit dtype, not {dtype} (its fp32 master weights would "
                            "copy fp32 weights)", hint="add --dtype bfloat16 (or float16)")


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` lies in a layer or block one of ``patterns`` names: a pattern of k parts is matched
    against the first k parts of the name (shell-style, ``fnmatch``).

    >>> matches("layer1.0.conv1.conv", ["layer1"]), matches("conv2_reduce.bn", ["conv*"]), matches("fc", ["conv*"])
    (True, True, False)
    """
    parts = name.split(".")
    for pattern in patterns:
        levels = pattern.count(".") + 1
        if levels <= len(parts) and fnmatch.fnmatchcase(".".join(parts[:levels]), pattern):
            return True
    return False


def segment_of(name: str, patterns: Iterable[str]) -> str | None:
    """The checkpointed block ``name`` lies in: the shortest prefix of it that a pattern names, or None.

    >>> segment_of("layer1.0.conv1.conv", ["layer*"]), segment_of("fc", ["layer*"])
    ('layer1', None)
    """
    parts = name.split(".")
    best = None
    for pattern in patterns:
        levels = pattern.count(".") + 1
        if levels <= len(parts) and fnmatch.fnmatchcase(".".join(parts[:levels]), pattern):
            if best is None or levels < best:
                best = levels
    return None if best is None else ".".join(parts[:best])


def unmatched(patterns: Iterable[str], names: Iterable[str]) -> list[str]:
    """The patterns that name no layer among ``names`` (a typo must not pass silently)."""
    names = list(names)
    return [pattern for pattern in patterns if not any(matches(name, (pattern,)) for name in names)]


def check_patterns(step: TrainingStep, names: list[str]) -> None:
    """A freeze or checkpoint pattern that names none of the layers ``names`` is an error (a typo must not
    pass silently)."""
    for option, given in (("freeze", step.freeze), ("checkpoint", step.checkpoint)):
        missing = unmatched(given, names)
        if missing:
            sample = ", ".join(dict.fromkeys(name.split(".")[0] for name in names))
            raise ArchlensError(f"--{option} {missing[0]!r} names no layer", hint=f"top-level layers: {sample[:300]}")


def transient_bytes(input_shape: tuple[int, ...], output_shape: tuple[int, ...], input_grad: bool,
                    output_grad: bool, element_bytes: int) -> int:
    """The gradients a layer's backward holds at once: its output's, and its input's when the input needs
    one (0 for a layer the backward pass does not reach).

    >>> transient_bytes((1, 64, 56, 56), (1, 64, 56, 56), True, True, 4)
    1605632
    """
    if not output_grad:
        return 0
    elements = 1
    for size in output_shape:
        elements *= size
    if input_grad:
        inputs = 1
        for size in input_shape:
            inputs *= size
        elements += inputs
    return elements * element_bytes


@dataclass(frozen=True)
class StepFigures:
    """A training step's totals: operations (forward, backward, recompute, optimizer) and memory in bytes.

    Memory: ``params`` (the weights at the profile's dtype), ``grads`` (one a trainable parameter),
    ``optimizer_state`` (its tensors a trainable parameter, step counters, and with mixed precision the
    fp32 master weights), ``saved_activations`` (what autograd keeps for the backward pass),
    ``transient`` (the largest the backward pass holds beside them: a layer's gradients, or a
    checkpointed block's recomputed activations and its largest layer's gradients) and ``peak``: their
    sum (an upper bound of the device's; README "the peak model")."""

    optimizer: str
    forward: OpCount
    backward: OpCount
    recompute: OpCount
    optimizer_ops: OpCount
    trainable: int
    trainable_tensors: int
    params: int
    grads: int
    optimizer_state: int
    saved_activations: int
    transient: int
    transient_layer: str | None

    @property
    def peak(self) -> int:
        return self.params + self.grads + self.optimizer_state + self.saved_activations + self.transient

    @property
    def macs(self) -> int:
        """Every MAC of the step: forward, backward and recomputed forward (the optimizer has none)."""
        return self.forward.macs + self.backward.macs + self.recompute.macs

    @property
    def other_ops(self) -> int:
        return (self.forward.other_ops + self.backward.other_ops + self.recompute.other_ops
                + self.optimizer_ops.other_ops)

    def memory(self) -> dict[str, int]:
        return {"params": self.params, "grads": self.grads, "optimizer_state": self.optimizer_state,
                "saved_activations": self.saved_activations, "backward_transient": self.transient, "peak": self.peak}


def step_figures(options: TrainingStep, totals: Any, step: StepStats, transient: int, transient_layer: str | None,
                 element_bytes: int) -> StepFigures:
    """The step's totals from its layers' summed figures (``step``), the largest transient, and the options."""
    optimizer = OPTIMIZERS[options.optimizer]
    params = totals.params * element_bytes
    grads = step.trainable * element_bytes
    state_bytes = MASTER_BYTES if options.mixed_precision else element_bytes
    state = len(optimizer.state) * step.trainable * state_bytes
    if options.mixed_precision:
        state += step.trainable * MASTER_BYTES  # the fp32 master weights
    if optimizer.step_counter:
        state += step.trainable_tensors * STEP_COUNTER_BYTES
    forward = OpCount(totals.macs, totals.bias_ops, totals.norm_ops, totals.activation_ops, totals.pool_ops,
                      totals.elementwise_ops)
    return StepFigures(optimizer=options.optimizer, forward=forward, backward=step.backward, recompute=step.recompute,
                       optimizer_ops=optimizer_ops(options.optimizer, step.trainable), trainable=step.trainable,
                       trainable_tensors=step.trainable_tensors, params=params, grads=grads, optimizer_state=state,
                       saved_activations=step.saved_bytes, transient=transient, transient_layer=transient_layer)


__all__ = ["check_patterns", "MASTER_BYTES", "NO_STEP", "TRAINING_DTYPES", "OPTIMIZERS", "Optimizer", "STEPS", "STEP_COUNTER_BYTES", "StepFigures",
           "StepStats", "TrainingStep", "matches", "optimizer_ops", "segment_of", "step_figures", "training_step",
           "transient_bytes", "unmatched"]
