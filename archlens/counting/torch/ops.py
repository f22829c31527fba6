"""The torch engine's op table: what each op costs, as a formula of :mod:`archlens.counting.formulas`.

Two tables, both keyed by what the engine intercepts:

* :data:`ATEN_HANDLERS`: aten ops by qualified name (``aten::convolution``, ``aten::native_layer_norm``),
  seen by a ``TorchDispatchMode`` after autograd and composite decomposition;
* :data:`FUNCTION_HANDLERS`: the few torch functions counted whole, so that their decomposition does
  not hide what they are (``F.linear``, ``F.scaled_dot_product_attention``, ``F.local_response_norm``,
  ``F.instance_norm``, ``F.rms_norm``, ``F.bilinear``, dropout), seen by a ``TorchFunctionMode``.

A handler takes the op's ``(args, kwargs, out)`` and returns an :class:`~archlens.counting.formulas.OpCount`.
One formula an op: registering a second handler for an op is an error (:func:`register_op` says how to
replace one on purpose). :data:`VIEW_OPS` only reinterpret a tensor; :data:`WEIGHTED_OPS` are a layer
for depth when their weight operand is a parameter; :data:`POOL_OPS` add to the depth that counts
pooling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F

from archlens.counting import formulas as fm

aten = torch.ops.aten
OpHandler = Callable[[tuple, dict, Any], fm.OpCount]


# --- reading an op's arguments ------------------------------------------------------------------------


def shape_of(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def first_tensor(value: Any) -> torch.Tensor | None:
    for tensor in tensors_in(value):
        return tensor
    return None


def tensors_in(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def flat_tensors(values: Any) -> list[torch.Tensor]:
    """The tensors of an aten op's arguments or results (a tuple, with lists one level deep)."""
    found = []
    for value in values if isinstance(values, (tuple, list)) else (values,):
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(item for item in value if isinstance(item, torch.Tensor))
    return found


def arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    """Argument ``index`` of an op, or its keyword ``name``."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)



# --- what each op costs: aten ops, keyed by overload packet ---------------------------------------


def _spatial(kernel: Any, dims: int) -> tuple[int, ...]:
    kernel = tuple(kernel) if isinstance(kernel, (tuple, list)) else (kernel,)
    return kernel * dims if len(kernel) == 1 else kernel


def _convolution(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    x, weight, bias = args[0], args[1], args[2]
    transposed = args[6] if len(args) > 6 else False
    if transposed:
        return fm.conv_transpose(shape_of(x), shape_of(out), shape_of(weight), bias=bias is not None)
    return fm.conv(shape_of(out), shape_of(weight), bias=bias is not None)


def _addmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    mat1, mat2 = args[1], args[2]
    return fm.linear(shape_of(mat1), (mat2.shape[1], mat2.shape[0]), bias=True)


def _product(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.matmul(shape_of(args[0]), shape_of(args[1]))


def _baddbmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.matmul(shape_of(args[1]), shape_of(args[2])) + fm.elementwise(shape_of(out))


def _attention(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.attention(shape_of(args[0]), shape_of(args[1]), shape_of(args[2]))


def _batch_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.batch_norm(args[0].numel())


def _layer_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_layer_norm(input, normalized_shape, weight, bias, eps)
    elements = args[0].numel()
    weight, bias = arg(args, kwargs, 2, "weight"), arg(args, kwargs, 3, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _group_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_group_norm(input, weight, bias, N, C, HxW, group, eps)
    elements = args[0].numel()
    weight, bias = arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _fused_rms_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # _fused_rms_norm(input, normalized_shape, weight, eps)
    elements = args[0].numel()
    weight = arg(args, kwargs, 2, "weight")
    return fm.rms_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None, bias=False)


def _relu(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.relu(first_tensor(out).numel())


def _activation(kind: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.activation(kind, first_tensor(out).numel())

    handler.__name__ = f"_{kind}"
    return handler


def _hardtanh(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # ReLU6 is hardtanh(x, 0, 6): the same two compares, named for what it is
    bounds = (arg(args, kwargs, 1, "min_val", -1.0), arg(args, kwargs, 2, "max_val", 1.0))
    return fm.activation("relu6" if bounds == (0, 6) else "hardtanh", first_tensor(out).numel())


def _gelu(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    approximate = arg(args, kwargs, 1, "approximate", "none")
    return fm.activation("gelu_tanh" if approximate == "tanh" else "gelu", first_tensor(out).numel())


def _softmax(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.softmax(first_tensor(out).numel())


def _pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # a fixed window (dilation spreads it, it does not enlarge it): window elements per output element
    result = first_tensor(out)
    return fm.pool(shape_of(result), _spatial(args[1], result.dim() - 2))


def _adaptive_pool(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # the output size argument says how many trailing dimensions are pooled (2 or 3); max pooling
    # returns (values, indices)
    return fm.adaptive_pool(shape_of(args[0]), shape_of(first_tensor(out)), spatial=len(args[1]))


def _mean(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.mean(shape_of(args[0]), shape_of(first_tensor(out)))


def _reduction(kind: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.reduction_of(kind, shape_of(args[0]))

    handler.__name__ = f"_{kind}"
    return handler


def _max_or_min(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # torch.max(x), torch.max(x, dim) reduce; torch.max(x, y) is elementwise
    if len(args) > 1 and isinstance(args[1], torch.Tensor):
        return fm.elementwise(shape_of(out))
    return fm.reduction_of("max", shape_of(args[0]))


def _interpolation(mode: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.interpolate(shape_of(out), mode)

    handler.__name__ = f"_upsample_{mode}"
    return handler


GRID_SAMPLER_MODES = {2: ("bilinear", "nearest", "bicubic"), 3: ("trilinear", "nearest")}
"""grid_sampler's integer ``interpolation_mode`` argument, by spatial dimensions (3-D 'bilinear' reads
8 corners: trilinear)."""


def _grid_sampler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners)
    mode = GRID_SAMPLER_MODES[out.dim() - 2][arg(args, kwargs, 2, "interpolation_mode")]
    return fm.grid_sample(shape_of(out), mode)


def _affine_grid(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # every output coordinate is a row of theta times the homogeneous base coordinate: (N, H, W, 2) x 3
    theta = args[0]
    return fm.OpCount(macs=out.numel() * theta.shape[-1])


def _elementwise(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.elementwise(shape_of(first_tensor(out)))


def _add_or_subtract(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # add(self, other, *, alpha=1): with a scale (alpha != 1), a multiply too (an optimizer's p - lr g)
    alpha = kwargs.get("alpha", args[2] if len(args) > 2 else 1)
    return fm.pointwise(shape_of(first_tensor(out)), 1 if alpha == 1 else 2)


def _clamp(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    bounds = sum(arg(args, kwargs, index, name) is not None for index, name in ((1, "min"), (2, "max")))
    return fm.pointwise(shape_of(out), bounds)


def _addcmul(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # input + value * t1 * t2 (or / t2): the product and the add, and the scale unless it is 1
    value = arg(args, kwargs, 3, "value", 1)
    return fm.pointwise(shape_of(out), 2 if value == 1 else 3)


def _lerp(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.pointwise(shape_of(out), 3)  # start + weight * (end - start)


def _addmv(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # addmv(self, mat, vec): a matrix-vector product and the add of self
    return fm.linear(shape_of(args[2]), shape_of(args[1]), bias=True)


def _addbmm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # addbmm(self, batch1, batch2): the batch of products summed into one matrix, plus self
    return fm.matmul(shape_of(args[1]), shape_of(args[2])) + fm.OpCount(bias_ops=out.numel())


def _conv_tbc(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # conv_tbc(input (time, batch, in), weight (kernel, in, out), bias (out), pad)
    kernel, channels_in, channels_out = shape_of(args[1])
    return fm.conv(shape_of(out), (channels_out, channels_in, kernel), bias=True)


def _accumulate(source_index: int, name: str) -> OpHandler:
    """scatter_add, index_add, index_put with accumulate: one add per source element (F.fold's col2im:
    per input element); without accumulation, index_put is a copy."""
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        if name == "values" and not arg(args, kwargs, 3, "accumulate", False):
            return fm.ZERO
        return fm.pointwise(shape_of(arg(args, kwargs, source_index, name)), 1)

    handler.__name__ = f"_accumulate_{name}"
    return handler


def _weight_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # _weight_norm_interface(v, g, dim): w = v * (g / ||v||): the norm (2 per element), the scale (1)
    v = arg(args, kwargs, 0, "v")
    return fm.reduction_of("norm", shape_of(v)) + fm.pointwise(shape_of(v), 1)


def _embedding_bag(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # _embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse, per_sample_weights, ...):
    # every looked-up row is summed (or averaged, or maxed) into its bag; per-sample weights multiply it
    weight, indices = arg(args, kwargs, 0, "weight"), arg(args, kwargs, 1, "indices")
    gathered = (indices.numel(), weight.shape[-1])
    count = fm.reduction(gathered)
    if arg(args, kwargs, 6, "per_sample_weights") is not None:
        count = count + fm.pointwise(gathered, 1)
    return count


def _free(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.ZERO


def _keys(*names: str) -> list[str]:
    """Table keys of aten ops: their qualified names (``aten::add``). Names, not packet objects: making
    ~400 packets costs more than a first profile (ops this torch lacks are never looked up)."""
    return [f"aten::{name}" for name in names]


def op_key(packet: Any) -> str:
    """The table key of an operator packet (``torch.ops.aten.add`` -> ``aten::add``)."""
    return packet._qualified_op_name


def op_label(key: Any) -> str:
    """How an op is named in a profile: ``aten.cummax``, ``mylib.fused_gate``."""
    return key.replace("::", ".") if isinstance(key, str) else getattr(key, "__qualname__", str(key))


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
    "rsub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "float_power", "maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "copysign", "xlogy",
    "neg", "abs", "sgn", "sign", "reciprocal", "sqrt", "rsqrt", "square", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
    "atanh", "erf", "erfc", "erfinv", "floor", "ceil", "round", "trunc", "frac", "nan_to_num",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "masked_fill", "where",
    "tril", "triu",
)
"""One operation per output element: arithmetic, unary math, compares and selects (in-place forms too);
``add`` and ``sub`` too, 2 with a scale (``alpha``)."""

FREE_NAMES = (
    # copies and new tensors
    "cat", "stack", "clone", "copy_", "_to_copy", "contiguous", "constant_pad_nd", "native_dropout",
    "empty", "empty_like", "empty_strided", "empty_permuted", "zeros", "zeros_like", "ones", "ones_like", "full",
    "full_like", "fill_", "fill", "zero_", "new_empty", "new_empty_strided", "new_zeros", "new_ones",
    "new_full", "lift_fresh", "lift_fresh_copy", "arange", "linspace", "logspace", "eye", "scalar_tensor",
    "tril_indices", "triu_indices", "resize_", "_local_scalar_dense",
    # data movement: lookups, gathers, scatters of values, rolls, flips, repeats, padding, shuffles
    "embedding", "index", "_unsafe_index", "index_select", "gather", "take", "take_along_dim", "scatter",
    "scatter_", "index_fill", "index_fill_", "masked_scatter",
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


ATEN_HANDLERS: dict[str, OpHandler] = {}
"""Formulas of aten (and registered custom) ops, by qualified name (``aten::convolution``)."""


def _register_aten(handler: OpHandler, names: "tuple[str, ...] | list[str]") -> None:
    for key in _keys(*names):
        if key in ATEN_HANDLERS:  # one formula an op: a second registration is a bug
            raise RuntimeError(f"two handlers for {key}")
        ATEN_HANDLERS[key] = handler


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
    (_add_or_subtract, _with_inplace("add", "sub")),
    (_accumulate(3, "src"), _with_inplace("scatter_add", "scatter_reduce")),
    (_accumulate(3, "source"), _with_inplace("index_add", "index_reduce")),
    (_accumulate(2, "values"), ("index_put", "index_put_", "_index_put_impl_")),
    (_accumulate(0, "input"), ("col2im",)),
    (_weight_norm, ("_weight_norm_interface",)),
    (_reduction("norm"), ("norm_except_dim",)),
    (_embedding_bag, ("_embedding_bag", "_embedding_bag_forward_only")),
    (_free, FREE_NAMES),
):
    _register_aten(_handler, _names)
for _name, _kind in ACTIVATION_PACKETS.items():
    _register_aten(_activation(_kind), _with_inplace(_name))
for _name, _kind in REDUCTION_PACKETS.items():
    _register_aten(_reduction(_kind), (_name,) if _name != "cumsum" else ("cumsum", "cumsum_"))
for _name, _mode in INTERPOLATION_PACKETS.items():
    _register_aten(_interpolation(_mode), (_name,))

# --- the ops only a backward pass runs -----------------------------------------------------------------


def _convolution_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
    # output_padding, groups, output_mask)
    grad, x, weight = args[0], args[1], args[2]
    transposed, mask = args[7], args[10]
    if transposed:
        forward = fm.conv_transpose(shape_of(x), shape_of(grad), shape_of(weight), bias=False)
    else:
        forward = fm.conv(shape_of(grad), shape_of(weight), bias=False)
    return fm.conv_backward(forward, grad.numel(), input_grad=mask[0], weight_grad=mask[1], bias_grad=mask[2])


def _batch_norm_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean,
    # save_invstd, train, eps, output_mask)
    return fm.batch_norm_backward(args[1].numel(), input_grad=args[9][0])


def _layer_norm_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask)
    mask = args[7]
    return fm.layer_norm_backward(args[1].numel(), input_grad=mask[0], weight=args[5] is not None,
                                  weight_grad=mask[1], bias_grad=mask[2])


def _group_norm_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_group_norm_backward(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask)
    mask = args[9]
    return fm.layer_norm_backward(args[1].numel(), input_grad=mask[0], weight=args[4] is not None,
                                  weight_grad=mask[1], bias_grad=mask[2])


def _activation_backward(kind: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.activation_backward(kind, first_tensor(out).numel())

    handler.__name__ = f"_{kind}_backward"
    return handler


def _hardtanh_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    bounds = (arg(args, kwargs, 2, "min_val"), arg(args, kwargs, 3, "max_val"))
    return fm.activation_backward("relu6" if bounds == (0, 6) else "hardtanh", out.numel())


def _gelu_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    approximate = kwargs.get("approximate", "none")
    return fm.activation_backward("gelu_tanh" if approximate == "tanh" else "gelu", out.numel())


def _max_pool_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.max_pool_backward(args[0].numel())


def _avg_pool_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # avg_pool2d_backward(grad_output, self, kernel_size, ...): each window shares its gradient (as forward)
    grad = args[0]
    return fm.pool(shape_of(grad), _spatial(args[2], grad.dim() - 2))


def _adaptive_avg_pool_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    grad, x = args[0], args[1]
    return fm.adaptive_pool(shape_of(x), shape_of(grad), spatial=grad.dim() - 2 if grad.dim() > 3 else 2)


def _interpolation_backward(mode: str) -> OpHandler:
    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return fm.interpolate_backward(shape_of(args[0]), mode)

    handler.__name__ = f"_upsample_{mode}_backward"
    return handler


def _embedding_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.embedding_backward(args[0].numel())


def _dropout_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # native_dropout_backward(grad, mask, scale): the gradient where kept, scaled (CUDA's fused dropout)
    return fm.pointwise(shape_of(out), 2)


def _fused_attention_backward(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # _scaled_dot_product_*_attention_backward(grad_out, query, key, value, out, logsumexp, ...)
    return fm.fused_attention_backward(shape_of(args[1]), shape_of(args[2]), shape_of(args[3]))


BACKWARD_HANDLERS: dict[str, OpHandler] = {}
"""Formulas of the ops only a backward pass runs (``convolution_backward``, ``native_batch_norm_backward``
...), by qualified name; the backward pass's other ops (``mm``, ``mul``, ``sum``) use :data:`ATEN_HANDLERS`."""


def _register_backward(handler: OpHandler, names: "tuple[str, ...] | list[str]") -> None:
    for key in _keys(*names):
        if key in BACKWARD_HANDLERS or key in ATEN_HANDLERS:
            raise RuntimeError(f"two handlers for {key}")
        BACKWARD_HANDLERS[key] = handler


for _handler, _names in (
    (_convolution_backward, ("convolution_backward",)),
    (_batch_norm_backward, ("native_batch_norm_backward",)),
    (_layer_norm_backward, ("native_layer_norm_backward",)),
    (_group_norm_backward, ("native_group_norm_backward",)),
    (_hardtanh_backward, ("hardtanh_backward",)),
    (_gelu_backward, ("gelu_backward",)),
    (_max_pool_backward, ("max_pool2d_with_indices_backward", "max_pool3d_with_indices_backward",
                          "adaptive_max_pool2d_backward", "adaptive_max_pool3d_backward")),
    (_avg_pool_backward, ("avg_pool2d_backward", "avg_pool3d_backward")),
    (_adaptive_avg_pool_backward, ("_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward")),
    (_embedding_backward, ("embedding_dense_backward",)),
    (_fused_attention_backward, ("_scaled_dot_product_flash_attention_for_cpu_backward",
                                 "_scaled_dot_product_flash_attention_backward",
                                 "_scaled_dot_product_efficient_attention_backward",
                                 "_scaled_dot_product_cudnn_attention_backward",
                                 "_scaled_dot_product_fused_attention_overrideable_backward")),
    (_dropout_backward, ("native_dropout_backward",)),
    (_free, ("slice_backward", "select_backward", "index_select_backward", "diagonal_backward",
             "unfold_backward", "as_strided_backward", "expand_copy")),
):
    _register_backward(_handler, _names)
for _name, _kind in {"threshold_backward": "relu", "leaky_relu_backward": "leaky_relu", "elu_backward": "elu",
                     "sigmoid_backward": "sigmoid", "tanh_backward": "tanh", "silu_backward": "silu",
                     "hardsigmoid_backward": "hardsigmoid", "hardswish_backward": "hardswish",
                     "softplus_backward": "softplus", "mish_backward": "mish", "log_sigmoid_backward": "log_sigmoid",
                     "_softmax_backward_data": "softmax", "_log_softmax_backward_data": "log_softmax",
                     "glu_backward": "glu", "_prelu_kernel_backward": "prelu"}.items():
    _register_backward(_activation_backward(_kind), (_name,))
for _name, _mode in INTERPOLATION_PACKETS.items():
    _register_backward(_interpolation_backward(_mode), (f"{_name}_backward",))

VIEW_OPS = frozenset(_keys(
    "view", "_unsafe_view", "_reshape_alias", "reshape", "t", "transpose", "permute", "expand", "unsqueeze",
    "squeeze", "slice", "select", "alias", "detach", "as_strided", "split", "split_with_sizes", "unbind",
    "unsafe_split", "unsafe_split_with_sizes", "narrow", "flatten", "unflatten", "view_as_real", "view_as_complex",
    "expand_as", "view_as", "unfold", "diagonal", "movedim", "swapdims", "swapaxes", "_conj", "conj", "real",
    "imag", "chunk", "tensor_split", "_neg_view",
    # in place: the same tensor, reinterpreted
    "as_strided_", "transpose_", "unsqueeze_", "squeeze_", "t_", "swapdims_", "swapaxes_", "detach_",
))
"""Ops that only reinterpret a tensor: free, carry depth through, and never make a container a record."""

WEIGHTED_OPS = {key: index for names, index in ((("convolution", "_convolution", "conv_tbc", "mm", "bmm", "mv",
                                                  "addmv"), 1),
                                                (("addmm", "baddbmm", "addbmm"), 2))
                for key in _keys(*names)}
"""Products that are a layer when their weight operand (argument index) is a parameter."""

POOL_OPS = frozenset(_keys("max_pool1d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool2d",
                           "max_pool3d_with_indices", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                           "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d",
                           "adaptive_max_pool3d", "mean"))

CONCAT_OPS = frozenset(_keys("cat", "stack"))
"""A container running only these is a record of kind ``concat``."""

DISPATCH_CACHE: dict[Any, tuple] = {}
"""What the tracker needs of each aten overload, looked up once (emptied when a formula is registered)."""


# --- functions counted whole, so their decomposition does not hide what they are ---------------------


def _f_linear(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    x, weight, bias = (arg(args, kwargs, i, n) for i, n in enumerate(("input", "weight", "bias")))
    return fm.linear(shape_of(x), shape_of(weight), bias=bias is not None)


def _f_bilinear(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # F.bilinear(input1 (..., in1), input2 (..., in2), weight (out, in1, in2), bias)
    x1, weight, bias = arg(args, kwargs, 0, "input1"), arg(args, kwargs, 2, "weight"), arg(args, kwargs, 3, "bias")
    out_features, in1, in2 = shape_of(weight)
    return fm.bilinear(fm.numel(shape_of(x1)[:-1]), in1, in2, out_features, bias=bias is not None)


def _f_attention(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    query, key, value = (arg(args, kwargs, i, n) for i, n in enumerate(("query", "key", "value")))
    return fm.attention(shape_of(query), shape_of(key), shape_of(value))


def _f_local_response_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    return fm.local_response_norm(arg(args, kwargs, 0, "input").numel(), arg(args, kwargs, 1, "size"))


def _f_instance_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # PyTorch runs it as a batch norm over (1, N * C, ...): counted as the normalization it is
    elements = arg(args, kwargs, 0, "input").numel()
    weight, bias = arg(args, kwargs, 3, "weight"), arg(args, kwargs, 4, "bias")
    return fm.layer_norm(elements, affine=False) + fm.affine(elements, weight=weight is not None,
                                                           bias=bias is not None)


def _f_rms_norm(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
    # F.rms_norm(input, normalized_shape, weight, eps): on the meta device a pow/mean/rsqrt/mul decomposition
    elements = arg(args, kwargs, 0, "input").numel()
    weight = arg(args, kwargs, 2, "weight")
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
    x, weight = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "weight")
    bias = arg(args, kwargs, 2, "bias")
    if not (isinstance(x, torch.Tensor) and isinstance(weight, torch.Tensor) and x.is_meta and weight.is_meta
            and weight.dim() == 2 and x.dim() >= 1 and x.shape[-1] == weight.shape[1]):
        return None
    if bias is not None and (not bias.is_meta or tuple(bias.shape) not in ((weight.shape[0],), (), (1,))):
        return None
    return torch.empty((*x.shape[:-1], weight.shape[0]), device="meta", dtype=torch.result_type(x, weight))


def _same_shape_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Local response norm's result: the input's shape (its meta ops are Python decompositions too)."""
    x = arg(args, kwargs, 0, "input")
    return torch.empty_like(x) if isinstance(x, torch.Tensor) and x.is_meta else None


def _dropout_output(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Dropout's result without its mask: the input itself at inference, a tensor like it in training."""
    x = arg(args, kwargs, 0, "input")
    if not (isinstance(x, torch.Tensor) and x.is_meta):
        return None
    if not arg(args, kwargs, 2, "training", True) or arg(args, kwargs, 3, "inplace", False):
        return x
    return torch.empty_like(x)


FUNCTION_OUTPUTS = {
    F.linear: _linear_output,
    F.local_response_norm: _same_shape_output,
    **{function: _dropout_output for function in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout)},
}
"""Results made directly on the meta device for these functions (None: run the function)."""


# --- aten results made directly on the meta device: their meta kernels are Python decompositions that
# cost more than the rest of a forward (LayerNorm: 45% of swin_t's time; BatchNorm: most of a ResNet's)


def _statistics_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _batch_norm_output(args: tuple, kwargs: dict) -> Any:
    # native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps) ->
    # (output like the input, memory format kept; saved mean and inverse deviation per channel)
    x = args[0]
    if x.dim() < 2 or not all(t is None or tuple(t.shape) == (x.shape[1],) for t in args[1:5]):
        return None
    statistics = torch.empty((x.shape[1],), dtype=_statistics_dtype(x.dtype), device="meta")
    return torch.empty_like(x), statistics, torch.empty_like(statistics)


def _layer_norm_output(args: tuple, kwargs: dict) -> Any:
    # native_layer_norm(input, normalized_shape, weight, bias, eps) -> (output, mean, rstd)
    x, normalized = args[0], tuple(args[1])
    axis = x.dim() - len(normalized)
    if axis < 0 or tuple(x.shape[axis:]) != normalized or not all(
            t is None or tuple(t.shape) == normalized for t in (arg(args, kwargs, 2, "weight"),
                                                                arg(args, kwargs, 3, "bias"))):
        return None
    statistics_shape = (*x.shape[:axis], *([1] * len(normalized)))
    statistics = torch.empty(statistics_shape, dtype=_statistics_dtype(x.dtype), device="meta")
    return torch.empty(x.shape, dtype=x.dtype, device="meta"), statistics, torch.empty_like(statistics)


ATEN_OUTPUTS = {"aten::native_batch_norm": _batch_norm_output, "aten::native_layer_norm": _layer_norm_output}
"""Results made directly when every tensor argument is on the meta device (None: run the op)."""


# --- teaching the engine an op ------------------------------------------------------------------------


class OpRegistration:
    """A formula registered with :func:`register_op`: active until :meth:`remove`, or to the end of a
    ``with`` block. Removing it restores what was there before (the built-in formula it replaced)."""

    def __init__(self, op: Any, key: Any, tables: list[tuple[dict, Any]]):
        self.op = op
        self._key = key
        self._restore = tables  # (table, what the key mapped to before: None for nothing)
        self._active = True

    def remove(self) -> None:
        if not self._active:
            return
        self._active = False
        for table, previous in self._restore:
            if previous is None:
                table.pop(self._key, None)
            else:
                table[self._key] = previous
        DISPATCH_CACHE.clear()

    def __enter__(self) -> "OpRegistration":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"OpRegistration({self.op}, active={self._active})"


def register_op(op: Any, formula: Callable[[tuple, dict, Any], Any], *, weight_arg: int | None = None,
                replace: bool = False) -> OpRegistration:
    """Teach the torch engine what ``op`` costs.

    ``op`` is an operator (``torch.ops.mylib.fused_gate``, an overload such as
    ``torch.ops.aten.cummax.default``, or its name, ``"mylib::fused_gate"``), or a torch function that
    dispatches through ``__torch_function__`` (``torch.nn.functional`` ones): a function is counted
    whole, and the ops inside it are not counted again.

    ``formula(args, kwargs, out)`` gets the op's arguments and result (tensors on the meta device:
    their ``.shape`` and ``.dtype`` are real) and returns an
    :class:`~archlens.counting.formulas.OpCount`, a mapping of its columns (``{"macs": ...,
    "elementwise_ops": ...}``), or an int (MACs). ``weight_arg``: the position of a weight operand
    that makes the op a layer for depth when it is a parameter. A second formula for the same op is
    refused unless ``replace=True``.

    The registration lasts until ``.remove()``; as a context manager, to the end of the block:

    >>> import torch
    >>> from torch import nn
    >>> from archlens.counting.torch import profile_module
    >>> class Scan(nn.Module):
    ...     def forward(self, x):
    ...         return torch.cummax(x, dim=1).values
    >>> profile_module(Scan(), (2, 8)).unsupported[0].op
    'aten.cummax'
    >>> with register_op(torch.ops.aten.cummax, lambda args, kwargs, out: {"pool_ops": args[0].numel()}):
    ...     profile_module(Scan(), (2, 8)).totals.pool_ops
    16
    """
    from archlens.errors import ArchlensError

    if not callable(formula):
        raise ArchlensError(f"the formula for {op} is a {type(formula).__name__}, not a function",
                            hint="pass a function (args, kwargs, out) -> OpCount, dict of columns, or int")
    op, key, handlers, weighted = _resolve(op)
    previous = handlers.get(key)
    if previous is not None and not replace:
        raise ArchlensError(f"{op_label(key)} already has a formula ({getattr(previous, '__name__', previous)})",
                            hint="pass replace=True to override it (removing the registration restores it)")
    name = op_label(key)

    def handler(args: tuple, kwargs: dict, out: Any) -> fm.OpCount:
        return _as_count(formula(args, kwargs, out), name)

    handler.__name__ = getattr(formula, "__name__", "formula")
    restore = [(handlers, previous)]
    handlers[key] = handler
    if weight_arg is not None:
        restore.append((weighted, weighted.get(key)))
        weighted[key] = weight_arg
    DISPATCH_CACHE.clear()
    return OpRegistration(op, key, restore)


def _resolve(op: Any) -> tuple[Any, Any, dict, dict]:
    """``op`` resolved, its table key (an operator's qualified name, or the torch function itself), and
    its tables."""
    from archlens.errors import ArchlensError

    if isinstance(op, str):
        namespace, _, name = op.replace("::", ".").partition(".")
        try:
            op = getattr(getattr(torch.ops, namespace), name)
        except (AttributeError, RuntimeError):
            raise ArchlensError(f"no operator named {op!r}",
                                hint="define it first (torch.library), or pass the operator object") from None
    if isinstance(op, torch._ops.OpOverload):
        op = op.overloadpacket
    if isinstance(op, torch._ops.OpOverloadPacket):
        return op, op_key(op), ATEN_HANDLERS, WEIGHTED_OPS
    if callable(op):
        return op, op, FUNCTION_HANDLERS, WEIGHTED_FUNCTIONS
    raise ArchlensError(f"cannot register a formula for a {type(op).__name__}",
                        hint="pass an operator (torch.ops.mylib.op), its name ('mylib::op'), or a torch function")


def _as_count(value: Any, name: str) -> fm.OpCount:
    if isinstance(value, fm.OpCount):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, dict)):
        from archlens.errors import ArchlensError

        raise ArchlensError(f"the formula for {name} returned {type(value).__name__}",
                            hint="return an OpCount, a dict of its columns, or an int (MACs)")
    if isinstance(value, int):
        return fm.OpCount(macs=value)
    unknown = set(value) - set(fm.OP_COLUMNS)
    if unknown:
        from archlens.errors import ArchlensError

        raise ArchlensError(f"the formula for {name} returned unknown columns {sorted(unknown)}",
                            hint=f"use {', '.join(fm.OP_COLUMNS)}")
    return fm.OpCount(**{column: int(count) for column, count in value.items()})

