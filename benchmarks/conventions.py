"""Each peer's counting convention, applied to archlens's op terms: its figure predicted from ours.

One function per peer maps a :class:`~networks.Term` to what that peer counts for it and, where it
differs from archlens's headline MACs, a short reason. Summing the terms predicts the peer's total;
the reasons, summed by label, explain the difference. The rules are those of the README's
"What the peers count" table (each peer's source read and checked on small modules):
fvcore 0.1.5, torch 2.13 FlopCounterMode, ptflops 0.7.5 (both backends), thop 0.1.1, torchinfo 1.8.
Batch is 1 throughout (ptflops's ``pytorch`` backend divides module hooks by the batch).

The rules are for the device each tool runs on here (``tools.TOOLS``). On the meta device
``F.scaled_dot_product_attention`` falls back to its math path (two ``bmm``), which FlopCounterMode
and ptflops's ``aten`` backend count; on CPU it dispatches to
``_scaled_dot_product_flash_attention_for_cpu``, which neither registers, so there it counts 0.
"""

from __future__ import annotations

from collections import defaultdict
from math import prod

from networks import Term

MATMULS = ("matmul_op", "matmul_fn")


def fvcore(t: Term) -> tuple[int, str]:
    if t.kind in ("conv", "linear", *MATMULS):
        return t.ops.macs, ""
    if t.kind == "batchnorm":
        return t.ops.norm_ops, "BatchNorm: 2 per element"
    if t.kind == "adaptive_avgpool":
        return t.e_in, "adaptive avg pool: 1 per input element"
    return 0, _not_counted(t)


def flop_counter(t: Term) -> tuple[int, str]:
    """In FLOPs (2 x MAC), on meta (SDPA counted through its math path)."""
    if t.kind in ("conv", "linear", "sdpa", *MATMULS):
        return 2 * t.ops.macs, ""
    return 0, _not_counted(t)


def ptflops_pytorch(t: Term) -> tuple[int, str]:
    if t.kind in ("conv", "linear"):
        return t.ops.macs + t.ops.bias_ops, "bias adds"
    if t.kind == "batchnorm":
        return t.ops.norm_ops, "BatchNorm: 2 per element"
    if t.kind == "relu":
        return 2 * t.e_out, "nn.ReLU counted twice (module hook + patched F.relu)"
    if t.kind == "relu_fn":
        return t.e_out, "F.relu: 1 per element"
    if t.kind in ("maxpool", "avgpool", "adaptive_avgpool"):
        return 2 * t.e_in, "pooling: 2 per input element (module hook + patched F.*pool)"
    if t.kind == "lrn":
        batch, channels, height, width = t.input_shape
        padded = batch * (channels + t.lrn_size - 1) * height * width
        return 3 * t.e_in + padded, "LRN: its Tensor.mul/add calls + the avg_pool3d input"
    if t.kind == "softmax":
        return t.e_in, "nn.Softmax: 1 per element (patched F.softmax)"
    if t.kind == "matmul_fn":
        return t.ops.macs, ""
    return 0, _not_counted(t)


def ptflops_aten(t: Term) -> tuple[int, str]:
    """On meta (SDPA counted through its math path)."""
    if t.kind == "linear" and not t.contiguous:
        return t.ops.macs, ""   # a strided N-D input runs as matmul + aten.add: the bias add is not counted
    if t.kind in ("conv", "linear"):
        return t.ops.macs + t.ops.bias_ops, "bias adds"
    if t.kind in ("sdpa", *MATMULS):
        return t.ops.macs, ""
    return 0, _not_counted(t)


def thop(t: Term) -> tuple[float, str]:
    if t.kind in ("conv", "linear"):
        return t.ops.macs, ""
    if t.kind == "batchnorm":
        return 2 * t.ops.norm_ops, "BatchNorm: 4 per element"
    if t.kind == "avgpool":
        return t.e_out, "avg pool: 1 per output element"
    if t.kind == "adaptive_avgpool":
        ratio = prod(i / o for i, o in zip(t.input_shape[2:], t.output_shape[2:]))
        return int((ratio + 1) * t.e_out), "adaptive avg pool: (E_in/E_out + 1) per output"
    if t.kind == "softmax":
        width = t.input_shape[1]
        return t.e_in // width * (3 * width - 1), "nn.Softmax: rows x (3n - 1)"
    return 0, _not_counted(t)


def torchinfo(t: Term) -> tuple[int, str]:
    if t.kind == "conv":
        return t.ops.macs + t.ops.bias_ops, "bias adds"
    if t.kind == "linear":
        # output_size[0] x parameters: exact for 2-D input, low by the middle dimensions otherwise
        figure = t.output_shape[0] * t.params
        if len(t.output_shape) > 2:
            return figure, "N-D nn.Linear: batch x params only"
        return figure, "bias adds"
    if t.kind == "batchnorm":
        return t.input_shape[0] * t.params, "BatchNorm: batch x params"
    return 0, _not_counted(t)


def _not_counted(t: Term) -> str:
    if t.ops.macs:
        return f"{t.kind} not counted"
    return "" if not t.ops.other_ops else f"{t.kind} (other ops) not counted"


RULES = {
    "fvcore": fvcore,
    "flop_counter": flop_counter,
    "ptflops_pytorch": ptflops_pytorch,
    "ptflops_aten": ptflops_aten,
    "thop": thop,
    "torchinfo": torchinfo,
}
FLOP_UNITS = {"flop_counter"}


def predict(tool: str, terms: list[Term]) -> dict:
    """The tool's predicted total, and its difference from archlens's MACs split by reason.

    Returns ``{"predicted", "ours", "reasons": {label: amount}}``, all in the tool's unit
    (``ours`` is archlens's headline MACs, doubled for a tool that reports FLOPs).
    """
    rule = RULES[tool]
    factor = 2 if tool in FLOP_UNITS else 1
    reasons: dict[str, int] = defaultdict(int)
    predicted = 0
    for term in terms:
        figure, label = rule(term)
        predicted += figure
        delta = figure - factor * term.ops.macs
        if delta:
            reasons[label or f"{term.kind}"] += delta
    ours = factor * sum(term.ops.macs for term in terms)
    return {"predicted": int(predicted), "ours": ours,
            "reasons": {label: int(amount) for label, amount in sorted(reasons.items())}}
