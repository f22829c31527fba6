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


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    """Argument ``index`` of an op, or its keyword ``name``."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


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


def _layer_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_layer_norm(input, normalized_shape, weight, bias, eps)
    elements = args[0].numel()
    weight, bias = _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _group_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_group_norm(input, weight, bias, N, C, HxW, group, eps)
    elements = args[0].numel()
    weight, bias = _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _fused_rms_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # _fused_rms_norm(input, normalized_shape, weight, eps)
    elements = args[0].numel()
    weight = _arg(args, kwargs, 2, "weight")
    return fm.rms_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None, bias=False)


def _relu(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.relu(_first_tensor(out).numel())


def _activation(kind: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.activation(kind, _first_tensor(out).numel())

    handler.__name__ = f"_{kind}"
    return handler


def _hardtanh(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # ReLU6 is hardtanh(x, 0, 6): the same two compares, named for what it is
    bounds = (_arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0))
    return fm.activation("relu6" if bounds == (0, 6) else "hardtanh", _first_tensor(out).numel())


def _gelu(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    approximate = _arg(args, kwargs, 1, "approximate", "none")
    return fm.activation("gelu_tanh" if approximate == "tanh" else "gelu", _first_tensor(out).numel())


def _softmax(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.softmax(_first_tensor(out).numel())


def _pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # a fixed window (dilation spreads it, it does not enlarge it): window elements per output element
    result = _first_tensor(out)
    return fm.pool(_shape(result), _spatial(args[1], result.dim() - 2))


def _adaptive_pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # the output size argument says how many trailing dimensions are pooled (2 or 3); max pooling
    # returns (values, indices)
    return fm.adaptive_pool(_shape(args[0]), _shape(_first_tensor(out)), spatial=len(args[1]))


def _mean(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.mean(_shape(args[0]), _shape(_first_tensor(out)))


def _reduction(kind: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.reduction_of(kind, _shape(args[0]))

    handler.__name__ = f"_{kind}"
    return handler


def _max_or_min(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # torch.max(x), torch.max(x, dim) reduce; torch.max(x, y) is elementwise
    if len(args) > 1 and isinstance(args[1], torch.Tensor):
        return fm.elementwise(_shape(out))
    return fm.reduction_of("max", _shape(args[0]))


def _interpolation(mode: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.interpolate(_shape(out), mode)

    handler.__name__ = f"_upsample_{mode}"
    return handler


GRID_SAMPLER_MODES = {2: ("bilinear", "nearest", "bicubic"), 3: ("trilinear", "nearest")}
"""grid_sampler's integer ``interpolation_mode`` argument, by spatial dimensions (3-D 'bilinear' reads
8 corners: trilinear)."""


def _grid_sampler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners)
    mode = GRID_SAMPLER_MODES[out.dim() - 2][_arg(args, kwargs, 2, "interpolation_mode")]
    return fm.grid_sample(_shape(out), mode)


def _affine_grid(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # every output coordinate is a row of theta times the homogeneous base coordinate: (N, H, W, 2) x 3
    theta = args[0]
    return fm.OpCount(macs=out.numel() * theta.shape[-1])


def _elementwise(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.elementwise(_shape(_first_tensor(out)))


def _clamp(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    bounds = sum(_arg(args, kwargs, index, name) is not None for index, name in ((1, "min"), (2, "max")))
    return fm.pointwise(_shape(out), bounds)


def _addcmul(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # input + value * t1 * t2 (or / t2): the product and the add, and the scale unless it is 1
    value = _arg(args, kwargs, 3, "value", 1)
    return fm.pointwise(_shape(out), 2 if value == 1 else 3)


def _lerp(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.pointwise(_shape(out), 3)  # start + weight * (end - start)


def _addmv(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # addmv(self, mat, vec): a matrix-vector product and the add of self
    return fm.linear(_shape(args[2]), _shape(args[1]), bias=True)


def _addbmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # addbmm(self, batch1, batch2): the batch of products summed into one matrix, plus self
    return fm.matmul(_shape(args[1]), _shape(args[2])) + fm.OpCount(bias_ops=out.numel())


def _conv_tbc(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # conv_tbc(input (time, batch, in), weight (kernel, in, out), bias (out), pad)
    kernel, channels_in, channels_out = _shape(args[1])
    return fm.conv(_shape(out), (channels_out, channels_in, kernel), bias=True)


def _free(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.ZERO


def _packets(*names: str) -> list:
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


def _with_inplace(*names: str) -> tuple[str, ...]:
    return tuple(variant for name in names for variant in (name, f"{name}_"))


ACTIVATION_PACKETS = {
    "leaky_relu": "leaky_relu", "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh",
    "hardsigmoid": "hardsigmoid", "hardswish": "hardswish", "softplus": "softplus", "elu": "elu",
    "celu": "celu", "mish": "mish", "_prelu_kernel": "prelu", "_log_softmax": "log_softmax", "glu": "glu",
    "log_sigmoid_forward": "log_sigmoid", "threshold": "threshold",
}
"""aten op -> kind in :data:`formulas.ACTIVATION_OPS` (in-place forms too); ``hardtanh`` and ``gelu``
read their arguments (ReLU6; GELU's tanh approximation)."""

REDUCTION_PACKETS = {
    "sum": "sum", "nansum": "sum", "amax": "max", "amin": "min", "aminmax": "max", "prod": "prod",
    "argmax": "argmax", "argmin": "argmax", "any": "any", "all": "all", "count_nonzero": "sum",
    "cumsum": "cumsum", "cumprod": "cumsum", "var": "var", "var_mean": "var", "std": "var", "std_mean": "var",
    "linalg_vector_norm": "norm", "norm": "norm", "logsumexp": "logsumexp",
}
"""aten reduction -> kind in :data:`formulas.REDUCTION_OPS` (``mean``, ``max`` and ``min`` apart)."""

INTERPOLATION_PACKETS = {
    "upsample_nearest1d": "nearest", "upsample_nearest2d": "nearest", "upsample_nearest3d": "nearest",
    "_upsample_nearest_exact1d": "nearest-exact", "_upsample_nearest_exact2d": "nearest-exact",
    "_upsample_nearest_exact3d": "nearest-exact", "upsample_linear1d": "linear",
    "upsample_bilinear2d": "bilinear", "upsample_bicubic2d": "bicubic", "upsample_trilinear3d": "trilinear",
}

ELEMENTWISE_NAMES = (
    "add", "sub", "rsub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "float_power", "maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "copysign", "xlogy",
    "neg", "abs", "sgn", "sign", "reciprocal", "sqrt", "rsqrt", "square", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
    "atanh", "erf", "erfc", "erfinv", "floor", "ceil", "round", "trunc", "frac", "nan_to_num",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "masked_fill", "where",
    "tril", "triu",
)
"""One operation per output element: arithmetic, unary math, compares and selects (in-place forms too)."""

FREE_NAMES = (
    # copies and new tensors
    "cat", "stack", "clone", "copy_", "_to_copy", "contiguous", "constant_pad_nd", "native_dropout",
    "empty", "empty_like", "empty_strided", "empty_permuted", "zeros", "zeros_like", "ones", "ones_like", "full",
    "full_like", "fill_", "fill", "zero_", "new_empty", "new_empty_strided", "new_zeros", "new_ones",
    "new_full", "lift_fresh", "lift_fresh_copy", "arange", "linspace", "logspace", "eye", "scalar_tensor",
    "tril_indices", "triu_indices", "resize_", "_local_scalar_dense",
    # data movement: lookups, gathers, scatters of values, rolls, flips, repeats, padding, shuffles
    "embedding", "index", "_unsafe_index", "index_select", "gather", "take", "take_along_dim", "scatter",
    "scatter_", "index_put", "index_put_", "_index_put_impl_", "index_fill", "index_fill_", "masked_scatter",
    "masked_select", "slice_scatter", "select_scatter", "diagonal_scatter", "as_strided_scatter", "roll",
    "flip", "repeat", "repeat_interleave", "im2col", "reflection_pad1d", "reflection_pad2d",
    "reflection_pad3d", "replication_pad1d", "replication_pad2d", "replication_pad3d", "channel_shuffle",
    "native_channel_shuffle", "pixel_shuffle", "pixel_unshuffle", "nonzero", "nonzero_static", "_unique2",
    "unique_dim", "unique_consecutive", "unique_dim_consecutive",
    # random fills make data (dropout masks, stochastic depth)
    "bernoulli", "bernoulli_", "uniform_", "normal_", "exponential_", "random_", "rand", "randn", "randint",
    "rand_like", "randn_like", "randint_like", "randperm", "multinomial",
    # checks and metadata
    "_assert_async", "_assert_scalar", "_assert_tensor_metadata", "_functional_sym_constrain_range",
    "sym_constrain_range", "record_stream",
)
"""Free: copies, data movement and random fills (the README's convention table lists them)."""


ATEN_HANDLERS: dict[Any, OpHandler] = {}


def _register_aten(handler: OpHandler, names: "tuple[str, ...] | list[str]") -> None:
    for packet in _packets(*names):
        if packet in ATEN_HANDLERS:  # one formula an op: a second registration is a bug
            raise RuntimeError(f"two handlers for {packet}")
        ATEN_HANDLERS[packet] = handler


for _handler, _names in (
    (_convolution, ("convolution", "_convolution")),
    (_conv_tbc, ("conv_tbc",)),
    (_addmm, ("addmm",)),
    (_product, ("mm", "bmm", "mv", "dot", "vdot")),
    (_baddbmm, ("baddbmm",)),
    (_addmv, ("addmv",)),
    (_addbmm, ("addbmm",)),
    (_attention, ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
                  "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
                  "_scaled_dot_product_fused_attention_overrideable")),
    (_batch_norm, ("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
                   "_native_batch_norm_legit_functional", "_batch_norm_with_update", "_batch_norm_no_update",
                   "cudnn_batch_norm", "miopen_batch_norm")),
    (_layer_norm, ("native_layer_norm",)),
    (_group_norm, ("native_group_norm",)),
    (_fused_rms_norm, ("_fused_rms_norm",)),
    (_relu, ("relu", "relu_")),
    (_hardtanh, _with_inplace("hardtanh")),
    (_gelu, _with_inplace("gelu")),
    (_softmax, ("_softmax", "_safe_softmax")),
    (_pool, ("max_pool1d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool2d",
             "max_pool3d_with_indices", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d")),
    (_adaptive_pool, ("_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool3d")),
    (_mean, ("mean", "nanmean")),
    (_max_or_min, ("max", "min")),
    (_grid_sampler, ("grid_sampler_2d", "grid_sampler_3d")),
    (_affine_grid, ("affine_grid_generator",)),
    (_clamp, _with_inplace("clamp")),
    (_elementwise, _with_inplace("clamp_min", "clamp_max")),
    (_addcmul, _with_inplace("addcmul", "addcdiv")),
    (_lerp, _with_inplace("lerp")),
    (_elementwise, _with_inplace(*ELEMENTWISE_NAMES)),
    (_free, FREE_NAMES),
):
    _register_aten(_handler, _names)
for _name, _kind in ACTIVATION_PACKETS.items():
    _register_aten(_activation(_kind), _with_inplace(_name))
for _name, _kind in REDUCTION_PACKETS.items():
    _register_aten(_reduction(_kind), (_name,) if _name != "cumsum" else ("cumsum", "cumsum_"))
for _name, _mode in INTERPOLATION_PACKETS.items():
    _register_aten(_interpolation(_mode), (_name,))

VIEW_OPS = frozenset(_packets(
    "view", "_unsafe_view", "_reshape_alias", "reshape", "t", "transpose", "permute", "expand", "unsqueeze",
    "squeeze", "slice", "select", "alias", "detach", "as_strided", "split", "split_with_sizes", "unbind",
    "unsafe_split", "unsafe_split_with_sizes", "narrow", "flatten", "unflatten", "view_as_real", "view_as_complex",
    "expand_as", "view_as", "unfold", "diagonal", "movedim", "swapdims", "swapaxes", "_conj", "conj", "real",
    "imag", "chunk", "tensor_split", "_neg_view",
    # in place: the same tensor, reinterpreted
    "as_strided_", "transpose_", "unsqueeze_", "squeeze_", "t_", "swapdims_", "swapaxes_", "detach_",
))
"""Ops that only reinterpret a tensor: free, carry depth through, and never make a container a record."""

WEIGHTED_OPS = {packet: index for names, index in ((("convolution", "_convolution", "conv_tbc", "mm", "bmm", "mv",
                                                     "addmv"), 1),
                                                   (("addmm", "baddbmm", "addbmm"), 2))
                for packet in _packets(*names)}
"""Products that are a layer when their weight operand (argument index) is a parameter."""

POOL_OPS = frozenset(_packets("max_pool1d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool2d",
                              "max_pool3d_with_indices", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                              "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d",
                              "adaptive_max_pool3d", "mean"))


# --- functions counted whole, so their decomposition does not hide what they are ---------------------


def _f_linear(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    x, weight, bias = (_arg(args, kwargs, i, n) for i, n in enumerate(("input", "weight", "bias")))
    return fm.linear(_shape(x), _shape(weight), bias=bias is not None)


def _f_bilinear(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # F.bilinear(input1 (..., in1), input2 (..., in2), weight (out, in1, in2), bias)
    x1, weight, bias = _arg(args, kwargs, 0, "input1"), _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    out_features, in1, in2 = _shape(weight)
    return fm.bilinear(fm.numel(_shape(x1)[:-1]), in1, in2, out_features, bias=bias is not None)


def _f_attention(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    query, key, value = (_arg(args, kwargs, i, n) for i, n in enumerate(("query", "key", "value")))
    return fm.attention(_shape(query), _shape(key), _shape(value))


def _f_local_response_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.local_response_norm(_arg(args, kwargs, 0, "input").numel(), _arg(args, kwargs, 1, "size"))


def _f_instance_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # PyTorch runs it as a batch norm over (1, N * C, ...): counted as the normalization it is
    elements = _arg(args, kwargs, 0, "input").numel()
    weight, bias = _arg(args, kwargs, 3, "weight"), _arg(args, kwargs, 4, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _f_rms_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # F.rms_norm(input, normalized_shape, weight, eps): on the meta device a pow/mean/rsqrt/mul decomposition
    elements = _arg(args, kwargs, 0, "input").numel()
    weight = _arg(args, kwargs, 2, "weight")
    return fm.rms_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None, bias=False)


FUNCTION_HANDLERS: dict[Any, OpHandler] = {
    F.linear: _f_linear,
    F.bilinear: _f_bilinear,
    F.scaled_dot_product_attention: _f_attention,
    F.local_response_norm: _f_local_response_norm,
    F.instance_norm: _f_instance_norm,
    **({F.rms_norm: _f_rms_norm} if hasattr(F, "rms_norm") else {}),
    **{function: _free for function in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                        F.feature_alpha_dropout)},
}
WEIGHTED_FUNCTIONS = {F.linear: 1, F.bilinear: 2}


def _linear_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """F.linear's result made directly: PyTorch's meta addmm is a Python decomposition whose first use
    imports torch._dynamo (seconds). None when the shapes do not fit: the real call raises the error."""
    x, weight = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    if not (isinstance(x, torch.Tensor) and isinstance(weight, torch.Tensor) and x.is_meta and weight.is_meta and weight.dim() == 2 and x.dim() >= 1 and x.shape[-1] == weight.shape[1]):
        return None
    if bias is not None and (not bias.is_meta or tuple(bias.shape) not in ((weight.shape[0],), (), (1,))):
        return None
    return torch.empty((*x.shape[:-1], weight.shape[0]), device="meta", dtype=torch.result_type(x, weight))


def _same_shape_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Local response norm's result: the input's shape (its meta ops are Python decompositions too)."""
    x = _arg(args, kwargs, 0, "input")
    return torch.empty_like(x) if isinstance(x, torch.Tensor) and x.is_meta else None


def _dropout_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Dropout's result without its mask: the input itself at inference, a tensor like it in training."""
    x = _arg(args, kwargs, 0, "input")
    if not (isinstance(x, torch.Tensor) and x.is_meta):
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
    nn.modules.conv._ConvTransposeNd: "conv_transpose",
    nn.modules.conv._ConvNd: "conv",
    nn.modules.batchnorm._BatchNorm: "batchnorm",
    nn.modules.instancenorm._InstanceNorm: "instance_norm",
    nn.LayerNorm: "layer_norm",
    nn.GroupNorm: "group_norm",
    nn.LocalResponseNorm: "lrn",
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.Hardtanh: "hardtanh",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "prelu",
    nn.ELU: "elu",
    nn.SELU: "elu",
    nn.CELU: "celu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Hardsigmoid: "hardsigmoid",
    nn.Hardswish: "hardswish",
    nn.Softplus: "softplus",
    nn.Mish: "mish",
    nn.GLU: "glu",
    nn.LogSigmoid: "log_sigmoid",
    nn.Threshold: "threshold",
    nn.Softmax: "softmax",
    nn.LogSoftmax: "log_softmax",
    nn.modules.pooling._MaxPoolNd: "maxpool",
    nn.modules.pooling._AvgPoolNd: "avgpool",
    nn.modules.pooling._AdaptiveAvgPoolNd: "adaptive_avgpool",
    nn.modules.pooling._AdaptiveMaxPoolNd: "adaptive_maxpool",
    nn.Upsample: "upsample",
    nn.modules.dropout._DropoutNd: "dropout",
    nn.Flatten: "flatten",
    nn.Unflatten: "unflatten",
    nn.Identity: "identity",
    nn.Linear: "linear",
    nn.Bilinear: "bilinear",
    nn.Embedding: "embedding",
    nn.EmbeddingBag: "embedding_bag",
    nn.MultiheadAttention: "attention",
    nn.RNNBase: "rnn",
    nn.LSTM: "lstm",
    nn.GRU: "gru",
    nn.modules.rnn.RNNCellBase: "rnn_cell",
    nn.LSTMCell: "lstm_cell",
    nn.GRUCell: "gru_cell",
    nn.ChannelShuffle: "channel_shuffle",
    nn.PixelShuffle: "pixel_shuffle",
    nn.PixelUnshuffle: "pixel_unshuffle",
    nn.Unfold: "unfold",
    nn.Fold: "fold",
    nn.modules.padding._ConstantPadNd: "pad",
    nn.modules.padding._ReflectionPadNd: "pad",
    nn.modules.padding._ReplicationPadNd: "pad",
    **({nn.RMSNorm: "rms_norm"} if hasattr(nn, "RMSNorm") else {}),
}
"""Record kinds of PyTorch's own modules (subclasses included): modules archlens builds name their
kind themselves (``archlens_kind``)."""


def leaf_kind(module: nn.Module) -> str:
    """The record kind of a leaf module: its ``archlens_kind`` (modules archlens builds name their
    layer type), else by class (subclasses included), else the lowercased class name."""
    own = getattr(module, "archlens_kind", None)
    return own if own is not None else class_kind(module)


def class_kind(module: nn.Module) -> str:
    """The kind :data:`LEAF_KINDS` gives the module's class (or a base class), else its lowercased name."""
    for cls in type(module).__mro__:
        kind = LEAF_KINDS.get(cls)
        if kind is not None:
            return kind
    return type(module).__name__.lower()


def group_kind(module: nn.Module) -> str:
    """A container's group kind: its ``archlens_kind`` if it has one, else as :func:`class_kind`."""
    return getattr(module, "archlens_kind", None) or class_kind(module)


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
    if stand_ins is not None:
        tree.add_stand_ins(stand_ins)
    x = torch.empty(shape, device="meta", dtype=_input_dtype(tree.tensors.values()))
    modes = [(m, m.training) for m in tree.modules]
    tracker = _Tracker(module, tree, DTYPE_BYTES[dtype])
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


def _is_bias(name: str) -> bool:
    """``bias``, and ``bias_ih``/``bias_hh`` of recurrent cells, ``in_proj_bias`` of attention."""
    return name == "bias" or name.startswith("bias_") or name.endswith("_bias")


class _Tree:
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
    dtype_bytes: int
    constants: set[int] = field(init=False)  # parameters, buffers and what is computed from them alone
    state: frozenset[int] = field(init=False)  # the parameters and buffers themselves (and stand-ins)
    parameter_ids: dict[int, str] = field(init=False)  # id -> key of parameters (and stand-ins)
    names: dict[int, str] = field(init=False)
    modules: dict[int, nn.Module] = field(init=False)
    leaves: set[int] = field(init=False)
    stack: list[int] = field(default_factory=list)
    records: dict[int, _Record] = field(default_factory=dict)
    inputs: dict[int, tuple[int, ...]] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    group_index: dict[int, int] = field(default_factory=dict)  # containers running for the first time
    counted_params: set[str] = field(default_factory=set)  # keys of parameters in some record
    used_params: dict[str, "_Record"] = field(default_factory=dict)  # parameters read by a module not theirs
    unsupported: dict[tuple[str, str], int] = field(default_factory=dict)
    depth: dict[int, tuple[int, int]] = field(default_factory=dict)
    alive: list[torch.Tensor] = field(default_factory=list)  # keeps ids in `depth` from being reused
    suppress: int = 0

    def __post_init__(self) -> None:
        tree = self.tree
        self.state = frozenset(tree.key_of)
        self.constants = set(self.state)
        self.parameter_ids = {ident: key for ident, key in tree.key_of.items() if key in tree.parameters}
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
                self.group_index[key] = len(self.groups)
                self.groups.append(Group(self.names[key], group_kind(module)))

    def leave(self, module: nn.Module, args: tuple, output: Any) -> None:
        key = id(module)
        if key not in self.names:
            return
        self.stack.pop()
        index = self.group_index.pop(key, None)
        if index is not None:  # a container's first call: what it returned is the block's output
            first = _first_tensor(output)
            if first is not None:
                group = self.groups[index]
                self.groups[index] = Group(group.name, group.kind, _shape(first))
        record = self.records.get(key)
        if record is None and self._own_parameters(module):
            record = self.record(key, class_kind(module))
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
        for param in module._parameters.values():
            if param is not None:
                self._count_parameter(record, self.tree.key_of.get(id(param)))
        self.records[key] = record
        return record

    def _count_parameter(self, record: _Record, key: str | None) -> None:
        if key is None or key in self.counted_params or key not in self.tree.parameters:
            return
        self.counted_params.add(key)
        elements, is_bias = self.tree.parameters[key]
        if is_bias:
            record.biases += elements
        else:
            record.weights += elements

    def _own_parameters(self, module: nn.Module) -> bool:
        key_of, counted = self.tree.key_of, self.counted_params
        return any(p is not None and key_of.get(id(p)) not in counted for p in module._parameters.values())

    def current(self, packet: Any) -> _Record:
        key = self.stack[-1] if self.stack else id(self.root)
        record = self.records.get(key)
        if record is None:
            # a container's own ops: an archlens-built container names them (``add`` of a residual
            # block, ``mul`` of a gate); otherwise a concatenation is ``concat``, anything else the class
            module = self.modules[key]
            kind = getattr(module, "archlens_op_kind", None) or (
                "concat" if packet in (aten.cat, aten.stack) else class_kind(module))
            record = self.record(key, kind)
        elif record.kind == "concat" and packet not in (aten.cat, aten.stack) and key not in self.leaves:
            record.kind = class_kind(self.modules[key])
        return record

    # -- one op --

    def op(self, packet: Any, handler: OpHandler | None, weight_index: int | None, pooling: bool,
           args: tuple, kwargs: dict, out: Any, writes_state: bool = False) -> None:
        """Count one op: ``writes_state`` says it writes into a parameter or buffer (bookkeeping: free)."""
        inputs = _flat_tensors(args)
        if kwargs:
            inputs.extend(_tensors(kwargs))
        outputs = [out] if isinstance(out, torch.Tensor) else _flat_tensors(out)
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
                    self._use_parameter(parameter_ids[ident], packet)
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
            if packet in VIEW_OPS:
                return
            if handler is None:
                self._unsupported(packet, self.current(packet).name)
                return
            count = handler(args, kwargs, out)
            if count != fm.ZERO:
                record = self.current(packet)
                record.ops = record.ops + count
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

    def _use_parameter(self, key: str, packet: Any) -> None:
        """A parameter read by an op: if no module of its own counts it (MultiheadAttention reads
        ``out_proj.weight`` without calling ``out_proj``), the module reading it first does."""
        if key not in self.counted_params and key not in self.used_params:
            self.used_params[key] = self.current(packet)

    def _unsupported(self, packet: Any, layer: str) -> None:
        key = (str(packet), layer)
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
            ))
        # Modules holding parameters that never ran and were never read (an unused head, an embedding
        # table): listed last, kind "not called", so the parameter total is the module's whole count.
        for key, module in self.modules.items():
            if key in self.records:
                continue
            leftover = _Record(self.names[key], "not called", 0, ())
            for param in module._parameters.values():
                if param is not None:
                    self._count_parameter(leftover, self.tree.key_of.get(id(param)))
            if leftover.weights or leftover.biases:
                rows.append(LayerStats(name=leftover.name, kind="not called", input_shape=(), output_shape=(),
                                       weights=leftover.weights, biases=leftover.biases, ops=fm.ZERO,
                                       activation_elements=0, activation_bytes=0))
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
            written = _WRITTEN.get(func)
            if written is None:
                written = _WRITTEN[func] = _written_arguments(func)
            writes_state = bool(written) and any(
                id(_arg(args, kwargs, index, name)) in tracker.state for index, name in written)
            tracker.op(packet, ATEN_HANDLERS.get(packet), WEIGHTED_OPS.get(packet),
                       packet in POOL_OPS, args, kwargs, out, writes_state)
        return out


_WRITTEN: dict[Any, tuple[tuple[int, str], ...]] = {}


def _written_arguments(func: Any) -> tuple[tuple[int, str], ...]:
    """The (position, name) of the arguments an aten op writes into (``self`` of ``add_``, ``out=``)."""
    return tuple((index, argument.name) for index, argument in enumerate(func._schema.arguments)
                 if argument.alias_info is not None and argument.alias_info.is_write)


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
