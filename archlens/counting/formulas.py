"""The counting formulas: one function per op family, written on shapes, shared by every engine.

Conventions (stated once here and in the README):

* ``macs``: multiply-accumulates of convolutions (transposed, grouped and ``conv_tbc`` included), linear
  layers and matrix products (matmul, bmm, einsum, ``addmv``, ``addbmm``, the two products inside
  attention, ``nn.Bilinear``'s ``x1 A x2``: ``in1 * in2 + in2`` a row and output, ``affine_grid``'s
  ``theta`` times each coordinate). 1 MAC = one multiply + one add; FLOPs = 2 x MACs
  (:func:`archlens.units.flops`). This is the GoogLeNet paper's "ops" and torchvision's "GFLOPS".
  Products over parameters and buffers alone (Swin-V2's relative-position MLP on a table, a learned
  query's projection) are work like any other: they run on every forward.
* Everything else is counted in its own column, in elementary operations (one add, multiply,
  compare, select, exp, log, tanh, erf, sqrt or divide = 1), so any peer's figure can be rebuilt
  from the columns:

  - ``bias_ops``: one add per output element of a convolution or linear layer with a bias (and of
    ``addmm``/``addmv``/``addbmm``'s added term);
  - ``norm_ops``: BatchNorm 2 per element (scale and shift, running statistics folded);
    LayerNorm, GroupNorm and InstanceNorm 5 per element (mean: 1, centre: 1, square and sum: 2,
    scale by the inverse deviation: 1) plus 1 for a weight and 1 for a bias (:func:`affine`);
    RMSNorm 3 per element (square, sum, scale) plus 1 with a weight; local response norm
    ``2 * size + 4`` per element (square and sum over the window, scale, add k, power, divide).
    Per-row scalars (a mean's division, an ``rsqrt``) are not counted;
  - ``activation_ops``: per element, as :data:`ACTIVATION_OPS` lists them (ReLU 1, ReLU6 and
    hardtanh 2, leaky ReLU and PReLU 2, ELU 4, CELU 5, sigmoid 3, tanh 1, SiLU 4, hardsigmoid 4,
    hardswish 5, GELU 5 or 9 with the tanh approximation, softplus 3, mish 5, log-sigmoid 4,
    threshold 1; GLU 4 per output element); softmax and log-softmax 3 (exp, sum, divide or subtract);
  - ``pool_ops``: pooling, resampling and reductions: max and average pooling ``kernel height *
    kernel width`` per output element (dilation spreads the window, it does not enlarge it);
    adaptive average and max pooling the exact window sizes (``input elements`` for a global pool);
    bilinear interpolation and grid sampling 7 per output element (4 multiplies, 3 adds), linear 3,
    trilinear 15, bicubic 31, nearest 0 (a copy); a reduction per input element as
    :data:`REDUCTION_OPS` lists them (sum, mean, max, min, prod, argmax, any, all, cumsum 1; a vector
    norm 2; var and std 4; logsumexp 4); ``nn.EmbeddingBag`` 1 per looked-up element (its sum, mean
    or max; per-sample weights add a multiply each, in ``elementwise_ops``);
  - ``elementwise_ops``: 1 per output element of add, subtract, multiply, divide, and of unary
    math (``pow``, ``sqrt``, ``rsqrt``, ``exp``, ``log``, ``sin``, ``cos``, ``erf``, ``abs``,
    ``neg``, ``reciprocal`` ...), compares, ``maximum``/``minimum``, selects (``where``,
    ``masked_fill``, ``tril``); ``clamp`` 1 per bound; ``addcmul``/``addcdiv`` 2 (3 with a scale);
    ``lerp`` 3 (:func:`pointwise`); accumulation, 1 per source element: ``scatter_add``,
    ``index_add``, ``index_put(accumulate=True)``, ``F.fold`` (``col2im``: per input element);
    weight norm (``w = g v / ||v||``, every forward): the norm in ``pool_ops`` (2 per weight
    element) and the scale here (1);

* Transformers: attention's two products (``Q K^T``, the weighted sum of ``V``) are MACs, ``heads x
  queries x keys x head_dim`` each, with one scale and a softmax (3) a score in the other columns
  (:func:`attention`), however the kernel computes them. A causal mask does not change the count:
  every score is computed and masked, unless the spec says the kernel skips the masked half
  (``causal: skip``, :func:`attention_skipping_masked`: only the visible scores). Grouped-query
  attention has the same products as its query heads; a decoding step's queries are its new tokens,
  its keys the cache's and theirs. Rotary embedding: its tables (:func:`rotary_tables`, every forward)
  and their application to queries and keys (:func:`rotary`) in ``elementwise_ops``. An embedding
  lookup is free, its table's entries parameters (:func:`embedding`).
* Free: concatenation, splitting, flatten, reshapes, views and permutes (channel shuffle), in-place
  views (``transpose_``, ``as_strided_``), copies and padding, data movement (embedding lookups,
  ``index``, ``index_select``, ``gather``, ``scatter`` of values, ``roll``, ``flip``, ``repeat``,
  ``im2col``/``unfold``, pixel shuffle), nearest-neighbour upsampling, random fills (dropout masks,
  stochastic depth's Bernoulli draw: what is computed from them counts), dropout and stochastic depth
  at inference (the identity), and bookkeeping: in-place updates of parameters and buffers
  (BatchNorm's ``num_batches_tracked += 1``).
"""

from __future__ import annotations

from math import gcd, prod
from typing import NamedTuple

Shape = tuple[int, ...]


class OpCount(NamedTuple):
    """The operations of one op or one layer, by column. Add them with ``+`` (column by column).

    An immutable named tuple (cheap to create: every op of every profile makes one).
    """

    macs: int = 0
    bias_ops: int = 0
    norm_ops: int = 0
    activation_ops: int = 0
    pool_ops: int = 0
    elementwise_ops: int = 0

    def __add__(self, other: "OpCount") -> "OpCount":  # type: ignore[override]
        if not isinstance(other, OpCount):
            return NotImplemented
        return OpCount(
            self[0] + other[0], self[1] + other[1], self[2] + other[2],
            self[3] + other[3], self[4] + other[4], self[5] + other[5],
        )

    @property
    def other_ops(self) -> int:
        """Everything but the headline MACs."""
        return self.bias_ops + self.norm_ops + self.activation_ops + self.pool_ops + self.elementwise_ops


OP_COLUMNS = OpCount._fields
ZERO = OpCount()


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of ``shape``."""
    return prod(shape)


def conv(output_shape: Shape, weight_shape: Shape, *, bias: bool) -> OpCount:
    """An N-d convolution (groups included): every output element takes ``Cin/groups * kernel`` MACs.

    ``weight_shape`` is PyTorch's ``(Cout, Cin/groups, kh, kw)``.

    >>> conv((1, 64, 112, 112), (64, 3, 7, 7), bias=True).macs   # GoogLeNet conv1: 118M
    118013952
    """
    out = numel(output_shape)
    return OpCount(macs=out * prod(weight_shape[1:]), bias_ops=out if bias else 0)


def conv_transpose(input_shape: Shape, output_shape: Shape, weight_shape: Shape, *, bias: bool) -> OpCount:
    """A transposed convolution: every input element is scattered through ``Cout/groups * kernel`` MACs.

    ``weight_shape`` is PyTorch's ``(Cin, Cout/groups, kh, kw)``.

    >>> conv_transpose((1, 8, 4, 4), (1, 4, 8, 8), (8, 4, 2, 2), bias=False).macs
    2048
    """
    return OpCount(macs=numel(input_shape) * prod(weight_shape[1:]), bias_ops=numel(output_shape) if bias else 0)


def linear(input_shape: Shape, weight_shape: Shape, *, bias: bool) -> OpCount:
    """A linear layer on the last dimension; ``weight_shape`` is ``(out_features, in_features)``.

    >>> linear((1, 1024), (1000, 1024), bias=True)
    OpCount(macs=1024000, bias_ops=1000, norm_ops=0, activation_ops=0, pool_ops=0, elementwise_ops=0)
    """
    rows = numel(input_shape[:-1])
    out_features, in_features = weight_shape
    return OpCount(macs=rows * in_features * out_features, bias_ops=rows * out_features if bias else 0)


def matmul(a_shape: Shape, b_shape: Shape) -> OpCount:
    """``torch.matmul`` semantics (1-D operands and broadcast batch dimensions included).

    >>> matmul((8, 4, 16, 32), (8, 4, 32, 16)).macs
    262144
    """
    a = (1, *a_shape) if len(a_shape) == 1 else a_shape
    b = (*b_shape, 1) if len(b_shape) == 1 else b_shape
    batch = _broadcast(a[:-2], b[:-2])
    return OpCount(macs=numel(batch) * a[-2] * a[-1] * b[-1])


def attention(q_shape: Shape, k_shape: Shape, v_shape: Shape) -> OpCount:
    """Scaled dot-product attention: ``Q K^T`` and ``softmax(.) V`` products, plus scale and softmax.

    Shapes are ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``.
    """
    batch = _broadcast(q_shape[:-2], _broadcast(k_shape[:-2], v_shape[:-2]))
    length, embed = q_shape[-2], q_shape[-1]
    source, value_embed = k_shape[-2], v_shape[-1]
    scores = numel(batch) * length * source
    return OpCount(
        macs=scores * embed + scores * value_embed,
        activation_ops=softmax(scores).activation_ops,
        elementwise_ops=scores,  # the 1/sqrt(E) scale
    )


def batch_norm(elements: int) -> OpCount:
    """BatchNorm at inference: a scale and a shift per element."""
    return OpCount(norm_ops=2 * elements)


def layer_norm(elements: int, *, affine: bool, bias: bool | None = None) -> OpCount:
    """LayerNorm, GroupNorm or InstanceNorm: 5 per element, plus 1 for a scale (``affine``) and 1 for
    a shift (``bias``, which follows ``affine`` unless given).

    >>> layer_norm(768, affine=True).norm_ops, layer_norm(768, affine=True, bias=False).norm_ops
    (5376, 4608)
    """
    shift = affine if bias is None else bias
    return OpCount(norm_ops=elements * (5 + int(affine) + int(shift)))


def rms_norm(elements: int, *, affine: bool) -> OpCount:
    """RMSNorm: square, sum and scale per element (3), plus 1 with a weight."""
    return OpCount(norm_ops=elements * (4 if affine else 3))


def local_response_norm(elements: int, size: int) -> OpCount:
    """Local response norm across channels: ``2 * size + 4`` per element."""
    return OpCount(norm_ops=elements * (2 * size + 4))


def relu(elements: int) -> OpCount:
    """ReLU: one compare per element."""
    return OpCount(activation_ops=elements)


ACTIVATION_OPS: dict[str, int] = {
    "relu": 1,          # max(0, x)
    "relu6": 2,         # min(max(0, x), 6); also any hardtanh (clamp)
    "hardtanh": 2,
    "leaky_relu": 2,    # compare, multiply
    "prelu": 2,
    "elu": 4,           # compare, exp, subtract, multiply
    "sigmoid": 3,       # exp, add, divide
    "tanh": 1,
    "silu": 4,          # x * sigmoid(x)
    "hardsigmoid": 4,   # relu6(x + 3) / 6: add, two compares, divide
    "hardswish": 5,     # x * hardsigmoid(x)
    "gelu": 5,          # 0.5 x (1 + erf(x / sqrt 2)): divide, erf, add, two multiplies
    "gelu_tanh": 9,     # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): x^3 is two multiplies
    "softplus": 3,      # log(1 + exp(x))
    "mish": 5,          # x * tanh(softplus(x))
    "softmax": 3,       # exp, sum, divide
    "log_softmax": 3,   # exp, sum, subtract (the row's log is a per-row scalar)
}
"""Elementary operations per element of each activation (``activation_ops``)."""


def activation(kind: str, elements: int) -> OpCount:
    """An activation function applied to ``elements`` values, at :data:`ACTIVATION_OPS` per element.

    >>> activation("gelu", 10).activation_ops, activation("relu6", 10).activation_ops
    (50, 20)
    """
    return OpCount(activation_ops=ACTIVATION_OPS[kind] * elements)


def softmax(elements: int) -> OpCount:
    """Softmax: exp, sum and divide per element."""
    return OpCount(activation_ops=3 * elements)


def pool(output_shape: Shape, kernel: tuple[int, ...]) -> OpCount:
    """Max or average pooling with a fixed window: window elements per output element."""
    return OpCount(pool_ops=numel(output_shape) * prod(kernel))


def adaptive_pool(input_shape: Shape, output_shape: Shape, spatial: int = 2) -> OpCount:
    """Adaptive average or max pooling over the ``spatial`` trailing dimensions, with PyTorch's exact
    windows. Leading dimensions (batch, channels; a batch may be absent) multiply.

    Along one dimension of input length ``I`` and output length ``O``, window ``i`` runs from
    ``floor(i I / O)`` to ``ceil((i + 1) I / O)``; the windows' lengths add up to
    ``I + O - gcd(I, O)`` (a closed form: no loop over the output, however large).

    >>> adaptive_pool((1, 1024, 7, 7), (1, 1024, 1, 1)).pool_ops   # a global pool reads every input
    50176
    >>> adaptive_pool((3, 8, 8), (3, 2, 2)).pool_ops               # unbatched: 3 channels x 4 x 16
    192
    >>> adaptive_pool((1, 1, 5), (1, 1, 3), spatial=1).pool_ops    # windows of 2, 3 and 2
    7
    """
    leading = numel(output_shape[:-spatial])
    window_sum = 1
    for size_in, size_out in zip(input_shape[-spatial:], output_shape[-spatial:]):
        window_sum *= adaptive_window_total(size_in, size_out)
    return OpCount(pool_ops=leading * window_sum)



def adaptive_window_total(size_in: int, size_out: int) -> int:
    """The summed lengths of the ``size_out`` adaptive windows over ``size_in`` elements.

    >>> adaptive_window_total(7, 1), adaptive_window_total(8, 2), adaptive_window_total(5, 3)
    (7, 8, 7)
    """
    return size_in + size_out - gcd(size_in, size_out)


def interpolate(output_shape: Shape, mode: str) -> OpCount:
    """Upsampling or resizing: ``nearest`` is a copy (free); ``bilinear`` (and ``linear``) 7 per output
    element (4 multiplies, 3 adds: ``trilinear`` 15), ``bicubic`` 31 (16 multiplies, 15 adds).

    >>> interpolate((1, 3, 4, 4), "bilinear").pool_ops
    336
    """
    per_element = INTERPOLATION_OPS[mode]
    return OpCount(pool_ops=numel(output_shape) * per_element)


INTERPOLATION_OPS = {"nearest": 0, "nearest-exact": 0, "linear": 3, "bilinear": 7, "bicubic": 31, "trilinear": 15}
"""Operations per output element of each interpolation mode (``linear``: 2 multiplies, 1 add)."""


def grid_sample(output_shape: Shape, mode: str) -> OpCount:
    """Grid sampling: as :func:`interpolate` for the mode, per output element."""
    return interpolate(output_shape, mode)


def reduction(input_shape: Shape) -> OpCount:
    """A sum, mean or max over some dimensions: one operation per input element."""
    return OpCount(pool_ops=numel(input_shape))


def mean(input_shape: Shape, output_shape: Shape) -> OpCount:
    """A mean over some dimensions: one add per input element (PyTorch lowers a global average pool to it)."""
    return reduction(input_shape)


def elementwise(output_shape: Shape) -> OpCount:
    """Add, subtract, multiply, divide, or one unary math op (``exp``, ``rsqrt``, ``pow``): one per output element."""
    return OpCount(elementwise_ops=numel(output_shape))


def _broadcast(a: Shape, b: Shape) -> Shape:
    length = max(len(a), len(b))
    a = (1,) * (length - len(a)) + tuple(a)
    b = (1,) * (length - len(b)) + tuple(b)
    return tuple(max(x, y) for x, y in zip(a, b))


# --- output sizes: PyTorch's rules, so the analytic engine's shapes match the real modules ---


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a convolution along one dimension (may be < 1: the caller reports it)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int, output_padding: int = 0,
                               dilation: int = 1) -> int:
    """Output length of a transposed convolution along one dimension, as ``nn.ConvTranspose2d`` computes it."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool, dilation: int = 1) -> int:
    """Output length of max/avg pooling, as ``torch.nn.functional.max_pool2d`` computes it."""
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# --- the torch engine's wider vocabulary (issue 11): affine parts, pointwise costs, reductions -------

ACTIVATION_OPS.update({
    "celu": 5,          # elu of x / alpha: divide, compare, exp, subtract, multiply
    "glu": 4,           # a * sigmoid(b), per output element: sigmoid 3, multiply 1
    "log_sigmoid": 4,   # -softplus(-x): negate, exp, add, log
    "threshold": 1,     # compare and select (nn.Threshold)
})


def affine(elements: int, *, weight: bool, bias: bool) -> OpCount:
    """A normalization's elementwise scale (with a weight) and shift (with a bias): 1 each per element.

    :func:`layer_norm` with ``affine=True`` is ``layer_norm(n, affine=False) + affine(n, weight=True,
    bias=True)``; ``nn.LayerNorm(bias=False)`` has the scale only.

    >>> affine(768, weight=True, bias=False).norm_ops
    768
    """
    return OpCount(norm_ops=elements * (int(weight) + int(bias)))


def pointwise(output_shape: Shape, per_element: int) -> OpCount:
    """An elementwise op costing ``per_element`` operations per output element (``clamp`` to both
    bounds 2, ``addcmul`` 2, ``lerp`` 3), in ``elementwise_ops``.

    >>> pointwise((2, 3), 2).elementwise_ops
    12
    """
    return OpCount(elementwise_ops=numel(output_shape) * per_element)


REDUCTION_OPS: dict[str, int] = {
    "sum": 1, "mean": 1, "max": 1, "min": 1, "prod": 1, "argmax": 1, "any": 1, "all": 1,
    "cumsum": 1,        # a running sum (scan): one add per element
    "var": 4,           # the mean (add), subtract it, square, sum: std too (its sqrt is per row)
    "norm": 2,          # a vector norm: square (|x| or compare) and accumulate, any p
    "logsumexp": 4,     # max, subtract it, exp, sum (the log is per row)
}
"""Operations per input element of each reduction (``pool_ops``); per-row scalars are not counted."""


def reduction_of(kind: str, input_shape: Shape) -> OpCount:
    """A reduction of kind ``kind`` (:data:`REDUCTION_OPS`) over a tensor of ``input_shape``.

    >>> reduction_of("var", (4, 10)).pool_ops, reduction_of("sum", (4, 10)) == reduction((4, 10))
    (160, True)
    """
    return OpCount(pool_ops=numel(input_shape) * REDUCTION_OPS[kind])


def bilinear(rows: int, in1: int, in2: int, out: int, *, bias: bool) -> OpCount:
    """``nn.Bilinear``: ``y_k = x1^T A_k x2 + b_k``. PyTorch contracts ``x1 A_k`` first (``in1 * in2``
    MACs a row and output), then takes the dot with ``x2`` (``in2`` more).

    >>> bilinear(2, 4, 5, 6, bias=True)   # 2 rows x 6 outputs x (4 x 5 + 5)
    OpCount(macs=300, bias_ops=12, norm_ops=0, activation_ops=0, pool_ops=0, elementwise_ops=0)
    """
    return OpCount(macs=rows * out * (in1 * in2 + in2), bias_ops=rows * out if bias else 0)


# --- transformers (issue 12): token lookups, rotary embeddings, attention variants -------------------


def embedding() -> OpCount:
    """An embedding lookup (token ids to rows of a table): data movement, free. The table's
    ``vocab x dim`` entries are parameters, counted as weights."""
    return ZERO


def attention_skipping_masked(q_shape: Shape, k_shape: Shape, v_shape: Shape) -> OpCount:
    """Causal attention by a kernel that skips the masked half (flash attention's causal blocks): only
    the visible scores are computed. The ``L`` queries are the last ``L`` of the ``S`` positions (a
    decoding step's new tokens after a cache of ``S - L``): query ``i`` sees ``S - L + i + 1`` keys,
    ``L (S - L) + L (L + 1) / 2`` scores in all. Each score costs what :func:`attention` counts.

    >>> attention_skipping_masked((1, 1, 4, 8), (1, 1, 4, 8), (1, 1, 4, 8)).macs   # 10 of 16 scores
    160
    """
    batch = _broadcast(q_shape[:-2], _broadcast(k_shape[:-2], v_shape[:-2]))
    length, embed = q_shape[-2], q_shape[-1]
    source, value_embed = k_shape[-2], v_shape[-1]
    visible = length * (source - length) + length * (length + 1) // 2
    scores = numel(batch) * visible
    return OpCount(macs=scores * embed + scores * value_embed, activation_ops=softmax(scores).activation_ops,
                   elementwise_ops=scores)


def rotary(elements: int) -> OpCount:
    """Rotary position embedding applied to ``elements`` query or key values (``x cos + rotate_half(x)
    sin``, as Hugging Face's LLaMA writes it): two multiplies and an add per element, and the negation
    of half of them (``rotate_half``).

    >>> rotary(128).elementwise_ops
    448
    """
    return OpCount(elementwise_ops=3 * elements + elements // 2)


def rotary_tables(tokens: int, dim: int) -> OpCount:
    """The cosine and sine tables of rotary embeddings for ``tokens`` positions, computed on every forward
    (as Hugging Face's ``LlamaRotaryEmbedding`` does): positions times ``dim / 2`` frequencies, then a
    cosine and a sine of each of the ``dim`` angles (the frequencies twice). Independent of the batch.

    >>> rotary_tables(128, 64).elementwise_ops   # 128 x 32 + 2 x 128 x 64
    20480
    """
    return OpCount(elementwise_ops=tokens * (dim // 2) + 2 * tokens * dim)


def normalize(shape: Shape) -> OpCount:
    """``x / max(||x||, eps)`` over the last dimension (``F.normalize``; Swin-V2's cosine attention): the
    vector norm (2 per element, in ``pool_ops``), a clamp per row and a divide per element.

    >>> normalize((2, 8)).pool_ops, normalize((2, 8)).elementwise_ops
    (32, 18)
    """
    elements = numel(shape)
    return reduction_of("norm", shape) + OpCount(elementwise_ops=elements // shape[-1] + elements)


def continuous_position_bias(window: tuple[int, int], heads: int, hidden: int) -> OpCount:
    """Swin-V2's continuous position bias, computed on every forward: an MLP (2 -> ``hidden`` with a bias,
    ReLU, ``hidden`` -> ``heads`` without) over the ``(2 wh - 1)(2 ww - 1)`` relative coordinates, its
    table looked up for every pair of a window's tokens (free) and squashed by ``16 sigmoid`` (sigmoid
    and a multiply a value). Independent of the batch and of the number of windows.

    >>> continuous_position_bias((8, 8), 3, 512).macs   # 15 x 15 x (2 x 512 + 512 x 3)
    576000
    """
    wh, ww = window
    table = (2 * wh - 1) * (2 * ww - 1)
    pairs = heads * (wh * ww) ** 2
    return (linear((table, 2), (hidden, 2), bias=True) + activation("relu", table * hidden)
            + linear((table, hidden), (heads, hidden), bias=False) + activation("sigmoid", pairs)
            + OpCount(elementwise_ops=pairs))


# --- the backward pass of a training step (issue 13) ---------------------------------------------------
#
# What each backward kernel costs, in the forward's columns (README, "What a training step costs"):
#
# * products (conv, linear, matmul, attention's two products): the forward's MACs once for each operand's
#   gradient that is needed (:func:`conv_backward`, :func:`linear_backward`); a bias gradient is a sum of
#   the output's gradient over batch and positions, 1 per output element in ``pool_ops``;
# * activations: :data:`ACTIVATION_BACKWARD_OPS` per element, the derivative as PyTorch's kernel computes
#   it from the saved input or output, times the incoming gradient;
# * normalization (:func:`batch_norm_backward`, :func:`layer_norm_backward`): normalize again, the sums the
#   gradients need, and the input's gradient;
# * pooling: max pooling adds each output's gradient at its maximum (1 per output element), average
#   pooling spreads it over its window (as its forward), interpolation as its forward (nearest: 1 per
#   output element, the gradient added to its source);
# * elementwise ops and copies: as the same ops in the forward (``mul`` 1, views and ``cat`` free);
#   a tensor read by several ops gets their gradients added (:func:`accumulation`);
# * an embedding adds each token's gradient into its row (1 per element, ``elementwise_ops``).

ACTIVATION_BACKWARD_OPS: dict[str, int] = {
    "relu": 1,          # the gradient where the output is positive (compare and select)
    "threshold": 1,
    "relu6": 2,         # where 0 < x < 6 (two compares)
    "hardtanh": 2,
    "leaky_relu": 2,    # compare, multiply
    "prelu": 2,
    "elu": 3,           # compare, add alpha to the output, multiply
    "celu": 3,
    "sigmoid": 3,       # g y (1 - y)
    "tanh": 3,          # g (1 - y^2)
    "silu": 8,          # s = sigmoid(x) (3); g s (1 + x (1 - s)) (5)
    "hardsigmoid": 3,   # two compares, a multiply (g / 6)
    "hardswish": 5,     # two compares, g (x / 3 + 1/2): divide, add, multiply
    "gelu": 11,         # Phi(x) (4) + x phi(x) (phi: square, scale, exp, scale: 4; times x: 1), add, times g
    "gelu_tanh": 18,    # PyTorch's kernel: x^2, x^3, the inner polynomial (3), tanh, 1 + tanh, halves (2),
                        # 1 - tanh^2 (2), the inner derivative (3), two products, a sum, times g
    "softplus": 5,      # g sigmoid(beta x): multiply, exp, add, divide, multiply
    "mish": 13,         # softplus (3), tanh, sigmoid (3), g (t + x s (1 - t^2)) (6)
    "log_sigmoid": 5,   # g (1 - sigmoid(x)): sigmoid (3), subtract, multiply
    "softmax": 4,       # y (g - sum(g y)): multiply, sum, subtract, multiply
    "log_softmax": 4,   # g - exp(y) sum(g): sum, exp, multiply, subtract
    "glu": 8,           # per output element: sigmoid (3), both halves' gradients (5)
}
"""Elementary operations per element of each activation's backward (``activation_ops``)."""


def activation_backward(kind: str, elements: int) -> OpCount:
    """The backward of an activation over ``elements`` values (:data:`ACTIVATION_BACKWARD_OPS` each).

    >>> activation_backward("relu", 10).activation_ops, activation_backward("gelu", 10).activation_ops
    (10, 110)
    """
    return OpCount(activation_ops=ACTIVATION_BACKWARD_OPS[kind] * elements)


def conv_backward(forward: OpCount, output_elements: int, *, input_grad: bool, weight_grad: bool,
                  bias_grad: bool) -> OpCount:
    """A convolution's backward (transposed, grouped and depthwise alike): its forward MACs for the input's
    gradient (a transposed convolution of the output's gradient) and again for the weight's (a
    convolution of the input with the output's gradient), each only if needed; the bias's gradient sums
    the output's gradient (1 per output element, ``pool_ops``).

    >>> conv_backward(conv((1, 64, 112, 112), (64, 3, 7, 7), bias=True), 64 * 112 * 112, input_grad=False,
    ...               weight_grad=True, bias_grad=True)   # GoogLeNet's conv1: the input needs no gradient
    OpCount(macs=118013952, bias_ops=0, norm_ops=0, activation_ops=0, pool_ops=802816, elementwise_ops=0)
    """
    return OpCount(macs=forward.macs * (int(input_grad) + int(weight_grad)),
                   pool_ops=output_elements if bias_grad else 0)


def linear_backward(input_shape: Shape, weight_shape: Shape, *, input_grad: bool, weight_grad: bool,
                    bias_grad: bool) -> OpCount:
    """A linear layer's backward: ``grad @ W`` for the input, ``grad^T @ x`` for the weight (its forward MACs
    each, when needed), and the bias's gradient, a sum over the rows (1 per output element, ``pool_ops``).

    >>> linear_backward((8, 1024), (1000, 1024), input_grad=True, weight_grad=True, bias_grad=True)
    OpCount(macs=16384000, bias_ops=0, norm_ops=0, activation_ops=0, pool_ops=8000, elementwise_ops=0)
    """
    forward = linear(input_shape, weight_shape, bias=False).macs
    outputs = numel(input_shape[:-1]) * weight_shape[0]
    return OpCount(macs=forward * (int(input_grad) + int(weight_grad)), pool_ops=outputs if bias_grad else 0)


def matmul_backward(a_shape: Shape, b_shape: Shape, *, a_grad: bool = True, b_grad: bool = True) -> OpCount:
    """A matrix product's backward: its forward MACs for each operand's gradient that is needed.

    >>> matmul_backward((8, 4, 16, 32), (8, 4, 32, 16)).macs
    524288
    """
    return OpCount(macs=matmul(a_shape, b_shape).macs * (int(a_grad) + int(b_grad)))


def batch_norm_backward(elements: int, *, input_grad: bool) -> OpCount:
    """BatchNorm's backward in training: the input normalized again (subtract, multiply: 2), the sums of
    the gradient and of the gradient times the normalized input per channel (3: they are the shift's and
    the scale's gradients, and the input's gradient needs them too), and the input's gradient when needed
    (``k (g - mean(g) - x^ mean(g x^))``: 4), per element (``norm_ops``).

    >>> batch_norm_backward(100, input_grad=True).norm_ops, batch_norm_backward(100, input_grad=False).norm_ops
    (900, 500)
    """
    return OpCount(norm_ops=elements * (5 + (4 if input_grad else 0)))


def layer_norm_backward(elements: int, *, input_grad: bool, weight: bool, weight_grad: bool,
                        bias_grad: bool) -> OpCount:
    """LayerNorm's (and GroupNorm's) backward: the input normalized again (2), the scale's gradient (the
    gradient times the normalized input, summed over the rows: 2) and the shift's (a sum: 1), and the
    input's gradient (the gradient times the scale: 1 with a weight; two sums per row: 3;
    ``rstd (g' - mean(g') - x^ mean(g' x^))``: 4), per element (``norm_ops``).

    >>> layer_norm_backward(768, input_grad=True, weight=True, weight_grad=True, bias_grad=True).norm_ops
    9984
    """
    per_element = 2 + (2 if weight_grad else 0) + (1 if bias_grad else 0)
    if input_grad:
        per_element += 7 + (1 if weight else 0)
    return OpCount(norm_ops=elements * per_element)


def max_pool_backward(output_elements: int) -> OpCount:
    """Max pooling's backward: each output's gradient added at its maximum (1 per output element)."""
    return OpCount(pool_ops=output_elements)


def interpolate_backward(output_shape: Shape, mode: str) -> OpCount:
    """Interpolation's backward: as its forward (every output's gradient spread over the inputs it read);
    nearest: 1 per output element (the gradient added to its source).

    >>> interpolate_backward((1, 3, 4, 4), "nearest").pool_ops, interpolate_backward((1, 3, 4, 4), "bilinear").pool_ops
    (48, 336)
    """
    per_element = INTERPOLATION_OPS[mode] or 1
    return OpCount(pool_ops=numel(output_shape) * per_element)


def embedding_backward(gradient_elements: int) -> OpCount:
    """An embedding's backward: every looked-up row's gradient added into the table's (1 per element)."""
    return OpCount(elementwise_ops=gradient_elements)


def accumulation(elements: int, readers: int) -> OpCount:
    """The gradient of a tensor read by ``readers`` ops: theirs added, ``readers - 1`` adds an element.

    >>> accumulation(100, 3).elementwise_ops
    200
    """
    return OpCount(elementwise_ops=elements * max(readers - 1, 0))


def local_response_norm_backward(elements: int, size: int) -> OpCount:
    """Local response norm's backward, as autograd runs PyTorch's decomposition ``x / (k + alpha
    avgpool(x^2))^beta``: the divide's (5: ``g / d`` and ``-g (x / d) / d``), the power's (3), the scale's
    (1), the square's (``2 g x``: 2), per element, and the window's average (``size`` per element,
    ``pool_ops``). The input is read three times (the square twice, the divide once): its gradients are
    added too (:func:`accumulation`, with the layer's input).

    >>> local_response_norm_backward(100, 5)
    OpCount(macs=0, bias_ops=0, norm_ops=0, activation_ops=0, pool_ops=500, elementwise_ops=1100)
    """
    return OpCount(pool_ops=size * elements, elementwise_ops=11 * elements)


def rms_norm_backward(elements: int, rows: int, *, input_grad: bool, weight: bool, weight_grad: bool) -> OpCount:
    """RMSNorm's backward as autograd runs PyTorch's composite ``x rsqrt(mean(x^2) + eps) w`` (what the
    meta device runs; CUDA's fused kernel differs): the weight's gradient (``g r`` summed over the rows: 1
    and 1 in ``pool_ops``); for the input's, ``g w`` (1, with a weight), the product's two gradients (2, one
    summed over the row: 1 in ``pool_ops``), the root's (3 a row), the mean's (1) and the square's (3), per
    element. The input is read twice (its gradients are added with the layer's input).

    >>> rms_norm_backward(4096, 1, input_grad=True, weight=True, weight_grad=True)
    OpCount(macs=0, bias_ops=0, norm_ops=0, activation_ops=0, pool_ops=8192, elementwise_ops=32771)
    """
    count = ZERO
    if weight_grad:
        count = count + OpCount(pool_ops=elements, elementwise_ops=elements)
    if input_grad:
        count = count + OpCount(pool_ops=elements, elementwise_ops=(6 + int(weight)) * elements + 3 * rows)
    return count


def attention_backward(q_shape: Shape, k_shape: Shape, v_shape: Shape, *, rotary: bool = False) -> OpCount:
    """Scaled dot-product attention's backward as autograd runs PyTorch's reference path (the meta device's
    and the CPU's without a fused kernel): both products' gradients for both operands (twice the forward
    MACs), softmax's (4 a score), the ``sqrt(scale)`` applied to queries and keys (1 an element each, keys
    as expanded to the query heads), with grouped-query attention the expanded keys' and values' gradients
    summed back (1 an element each, ``pool_ops``), and with rotary embedding its backward on queries and
    keys (4.5 an element: ``g cos``, ``g sin``, half a negation, and the two extra reads' gradients added).
    Shapes: queries ``(N, H, L, E)``, keys and values ``(N, H_kv, S, E)``.

    >>> attention_backward((1, 12, 128, 64), (1, 12, 128, 64), (1, 12, 128, 64)).macs
    50331648
    """
    batch, heads, length, embed = q_shape
    kv_heads, source = k_shape[1], k_shape[2]
    expanded = batch * heads * source * embed
    value_expanded = batch * heads * source * v_shape[-1]
    scores = batch * heads * length * source
    count = OpCount(macs=2 * (scores * embed + scores * v_shape[-1]), activation_ops=4 * scores,
                    elementwise_ops=numel(q_shape) + expanded)
    if kv_heads != heads:
        count = count + OpCount(pool_ops=expanded + value_expanded)
    if rotary:
        count = count + OpCount(elementwise_ops=(9 * (numel(q_shape) + numel(k_shape))) // 2)
    return count


def window_attention_backward(windows: int, heads: int, tokens: int, head_dim: int, *, table_grad: bool) -> OpCount:
    """Window attention's backward (Swin, MaxViT; PyTorch's reference path): both products' gradients for
    both operands (twice the forward MACs), softmax's (4 a score), the scale's (1 a score), and with a
    trainable relative-position table its gradient: the bias's summed over the windows (1 a score,
    ``pool_ops``) and scattered back into the table (1 a bias value). ``tokens``: a window's.

    >>> window_attention_backward(128, 3, 49, 32, table_grad=True).macs
    118013952
    """
    scores = windows * heads * tokens * tokens
    count = OpCount(macs=4 * scores * head_dim, activation_ops=4 * scores, elementwise_ops=scores)
    if table_grad:
        count = count + OpCount(pool_ops=scores, elementwise_ops=heads * tokens * tokens)
    return count


def cosine_window_attention_backward(windows: int, heads: int, tokens: int, head_dim: int,
                                     window: tuple[int, int], hidden: int) -> OpCount:
    """Swin-V2's window attention's backward: the products' and softmax's as :func:`window_attention_backward`;
    the logit scale's (the scores times it and its gradient: 1 a score each, summed: 1 a score in
    ``pool_ops``; its clamp and exponential: 3 a head); each of queries and keys normalized again (the
    divide's gradients: 5 an element and a sum over the row, none with one element a row; the clamp's: 2 a row; the norm's: 3 an element
    and 1 a row; the two reads' gradients added: 1 an element); the continuous position bias's (the scale
    and scatter: 2 a bias value; sigmoid's: 3; the MLP's products, ReLU's and its bias's sum), with every
    parameter trainable.

    >>> cosine_window_attention_backward(8, 2, 4, 4, (2, 2), 512).macs
    31744
    """
    scores = windows * heads * tokens * tokens
    queries = windows * heads * tokens * head_dim
    rows = windows * heads * tokens
    pairs = heads * tokens * tokens
    entries = (2 * window[0] - 1) * (2 * window[1] - 1)
    mlp = entries * hidden
    return OpCount(macs=4 * scores * head_dim + 2 * mlp * heads + 2 * mlp,
                   activation_ops=4 * scores + 3 * pairs + mlp,
                   pool_ops=2 * scores + (2 * queries if head_dim > 1 else 0) + mlp,  # a sum over 1: none
                   elementwise_ops=2 * scores + 3 * heads + 2 * (9 * queries + 3 * rows) + 2 * pairs)


def fused_attention_backward(q_shape: Shape, k_shape: Shape, v_shape: Shape) -> OpCount:
    """A fused attention kernel's backward (flash attention on the CPU and GPU, memory-efficient attention):
    it keeps no scores, so it computes ``Q K^T`` again (the forward's first product), then both products'
    gradients for both operands (as FlopCounterMode counts ``_scaled_dot_product_*_backward``: 2.5 times the
    forward MACs with equal head sizes); the probabilities again from the kept log-sum-exp (subtract, exp:
    2 a score), softmax's backward (4) and the scale (1) a score.

    >>> fused_attention_backward((1, 12, 128, 64), (1, 12, 128, 64), (1, 12, 128, 64)).macs
    62914560
    """
    batch = _broadcast(q_shape[:-2], _broadcast(k_shape[:-2], v_shape[:-2]))
    scores = numel(batch) * q_shape[-2] * k_shape[-2]
    return OpCount(macs=scores * (3 * q_shape[-1] + 2 * v_shape[-1]), activation_ops=6 * scores,
                   elementwise_ops=scores)
