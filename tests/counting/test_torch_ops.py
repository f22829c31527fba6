"""The torch engine's op vocabulary, op by op, against counts done by hand (each figure is written out
as the product it is), and against PyTorch's FlopCounterMode for the MACs where it counts them."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archlens.counting import formulas as fm
from archlens.counting.torch import ROOT, profile_module


class Fn(nn.Module):
    """A module whose forward is one function of its input: the op's record is ``(top)``."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


def columns(profile):
    """The non-zero op columns of a profile's totals."""
    totals = profile.totals
    return {column: getattr(totals, column) for column in fm.OP_COLUMNS if getattr(totals, column)}


# (id, module factory, input shape, expected kind of the only record, expected non-zero columns)
CASES = [
    # norms: 5 per element (mean, centre, square and sum, scale), + 1 for a weight, + 1 for a bias
    ("layer_norm", lambda: nn.LayerNorm(8), (2, 3, 8), "layer_norm", {"norm_ops": 48 * 7}),
    ("layer_norm_no_bias", lambda: nn.LayerNorm(8, bias=False), (2, 3, 8), "layer_norm", {"norm_ops": 48 * 6}),
    ("layer_norm_plain", lambda: nn.LayerNorm(8, elementwise_affine=False), (2, 3, 8), "layer_norm",
     {"norm_ops": 48 * 5}),
    ("group_norm", lambda: nn.GroupNorm(2, 4), (2, 4, 5, 5), "group_norm", {"norm_ops": 200 * 7}),
    ("instance_norm", lambda: nn.InstanceNorm2d(4), (2, 4, 5, 5), "instance_norm", {"norm_ops": 200 * 5}),
    ("instance_norm_affine", lambda: nn.InstanceNorm2d(4, affine=True), (2, 4, 5, 5), "instance_norm",
     {"norm_ops": 200 * 7}),
    ("rms_norm", lambda: nn.RMSNorm(8), (2, 3, 8), "rms_norm", {"norm_ops": 48 * 4}),  # square, sum, scale, weight
    ("rms_norm_plain", lambda: nn.RMSNorm(8, elementwise_affine=False), (2, 3, 8), "rms_norm", {"norm_ops": 48 * 3}),
    ("batch_norm", lambda: nn.BatchNorm2d(4), (2, 4, 5, 5), "batchnorm", {"norm_ops": 200 * 2}),
    # activations, per element (48 elements)
    ("relu6", lambda: nn.ReLU6(), (2, 3, 8), "relu6", {"activation_ops": 48 * 2}),
    ("relu6_inplace", lambda: nn.ReLU6(inplace=True), (2, 3, 8), "relu6", {"activation_ops": 48 * 2}),
    ("hardtanh", lambda: nn.Hardtanh(), (2, 3, 8), "hardtanh", {"activation_ops": 48 * 2}),
    ("leaky_relu", lambda: nn.LeakyReLU(inplace=True), (2, 3, 8), "leaky_relu", {"activation_ops": 48 * 2}),
    ("gelu", lambda: nn.GELU(), (2, 3, 8), "gelu", {"activation_ops": 48 * 5}),
    ("gelu_tanh", lambda: nn.GELU(approximate="tanh"), (2, 3, 8), "gelu", {"activation_ops": 48 * 9}),
    ("silu", lambda: nn.SiLU(), (2, 3, 8), "silu", {"activation_ops": 48 * 4}),
    ("silu_inplace", lambda: nn.SiLU(inplace=True), (2, 3, 8), "silu", {"activation_ops": 48 * 4}),
    ("sigmoid", lambda: nn.Sigmoid(), (2, 3, 8), "sigmoid", {"activation_ops": 48 * 3}),
    ("tanh", lambda: nn.Tanh(), (2, 3, 8), "tanh", {"activation_ops": 48 * 1}),
    ("hardsigmoid", lambda: nn.Hardsigmoid(inplace=True), (2, 3, 8), "hardsigmoid", {"activation_ops": 48 * 4}),
    ("hardswish", lambda: nn.Hardswish(), (2, 3, 8), "hardswish", {"activation_ops": 48 * 5}),
    ("softplus", lambda: nn.Softplus(), (2, 3, 8), "softplus", {"activation_ops": 48 * 3}),
    ("elu", lambda: nn.ELU(), (2, 3, 8), "elu", {"activation_ops": 48 * 4}),
    ("selu", lambda: nn.SELU(), (2, 3, 8), "elu", {"activation_ops": 48 * 4}),
    ("mish", lambda: nn.Mish(), (2, 3, 8), "mish", {"activation_ops": 48 * 5}),
    ("prelu", lambda: nn.PReLU(), (2, 3, 8), "prelu", {"activation_ops": 48 * 2}),
    ("log_softmax", lambda: nn.LogSoftmax(-1), (2, 3, 8), "log_softmax", {"activation_ops": 48 * 3}),
    ("glu", lambda: nn.GLU(), (2, 3, 8), "glu", {"activation_ops": 24 * 4}),  # per output element (half)
    # resampling: nearest is a copy; bilinear 7, bicubic 31, linear 3, trilinear 15 per output element
    ("upsample_nearest", lambda: nn.Upsample(scale_factor=2), (1, 2, 4, 4), "upsample", {}),
    ("upsample_bilinear", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 4, 4), "upsample",
     {"pool_ops": 2 * 8 * 8 * 7}),
    ("upsample_bicubic", lambda: nn.Upsample(size=(6, 5), mode="bicubic"), (1, 2, 4, 4), "upsample",
     {"pool_ops": 2 * 6 * 5 * 31}),
    ("upsample_linear", lambda: nn.Upsample(scale_factor=3, mode="linear"), (1, 2, 4), "upsample",
     {"pool_ops": 2 * 12 * 3}),
    ("upsample_trilinear", lambda: nn.Upsample(scale_factor=2, mode="trilinear"), (1, 2, 2, 2, 2), "upsample",
     {"pool_ops": 2 * 4 * 4 * 4 * 15}),
    # pooling: adaptive max 9 -> 3 has windows of 3 (9 + 3 - gcd 3 = 9 per dimension); a dilated 3x3 max
    # pool on 9x9 reads 9 elements per output (out: (9 - 2 * 2 - 1) // 3 + 1 = 2)
    ("adaptive_max_pool", lambda: nn.AdaptiveMaxPool2d(3), (1, 2, 9, 9), "adaptive_maxpool",
     {"pool_ops": 2 * 9 * 9}),
    ("adaptive_max_pool_uneven", lambda: nn.AdaptiveMaxPool2d((3, 1)), (1, 2, 5, 4), "adaptive_maxpool",
     {"pool_ops": 2 * (2 + 3 + 2) * 4}),
    ("max_pool_dilated", lambda: nn.MaxPool2d(3, dilation=2), (1, 2, 9, 9), "maxpool", {"pool_ops": 2 * 2 * 2 * 9}),
    ("max_pool1d", lambda: nn.MaxPool1d(2), (1, 2, 9), "maxpool", {"pool_ops": 2 * 4 * 2}),
    # products: a transposed conv scatters each input element through Cout x k x k weights
    ("conv_transpose", lambda: nn.ConvTranspose2d(4, 6, 2, stride=2), (1, 4, 3, 3), "conv_transpose",
     {"macs": 4 * 3 * 3 * 6 * 2 * 2, "bias_ops": 6 * 6 * 6}),
    ("bilinear", lambda: nn.Bilinear(4, 5, 6), None, "bilinear",
     {"macs": 2 * 6 * (4 * 5 + 5), "bias_ops": 2 * 6, "elementwise_ops": 0}),
    # free: lookups, shuffles, unfold (im2col), identity
    ("embedding", lambda: nn.Embedding(10, 4), None, "embedding", {}),
    ("channel_shuffle", lambda: nn.ChannelShuffle(2), (1, 4, 3, 3), "channel_shuffle", {}),
    ("pixel_shuffle", lambda: nn.PixelShuffle(2), (1, 4, 3, 3), "pixel_shuffle", {}),
    ("unfold", lambda: nn.Unfold(2), (1, 2, 4, 4), "unfold", {}),
    ("identity", lambda: nn.Identity(), (1, 2, 4, 4), "identity", {}),
    ("zero_pad", lambda: nn.ZeroPad2d(1), (1, 2, 4, 4), "pad", {}),
    ("reflection_pad", lambda: nn.ReflectionPad2d(1), (1, 2, 4, 4), "pad", {}),
]


def _inputs(case_id, shape):
    if case_id == "embedding":
        return (torch.zeros(2, 3, dtype=torch.long, device="meta"),)
    if case_id == "bilinear":
        return (torch.empty(2, 4, device="meta"), torch.empty(2, 5, device="meta"))
    return (torch.empty(shape, device="meta"),)


class TwoInputs(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        if isinstance(self.inner, nn.Bilinear):
            return self.inner(x, x.new_empty(2, 5))
        return self.inner(x.new_zeros(2, 3, dtype=torch.long))


@pytest.mark.parametrize("case_id, make, shape, kind, expected", CASES, ids=[case[0] for case in CASES])
def test_module_ops_against_hand_counts(case_id, make, shape, kind, expected):
    if shape is None:  # modules taking other inputs: wrapped, the inputs made inside forward
        p = profile_module(lambda: TwoInputs(make()), (2, 4))
        record = next(layer for layer in p.layers if layer.name == "inner")
    else:
        p = profile_module(make, shape)
        (record,) = p.layers
    assert record.kind == kind
    assert columns(p) == {column: value for column, value in expected.items() if value}
    assert p.unsupported == ()


# (id, function of x, input shape, expected non-zero columns)
FUNCTION_CASES = [
    # elementwise math: 1 per output element (2 x 4 x 6 = 48)
    *[(name, function, (2, 4, 6), {"elementwise_ops": 48}) for name, function in (
        ("pow", lambda x: x.pow(2)), ("square", torch.square), ("rsqrt", torch.rsqrt), ("sqrt", torch.sqrt),
        ("exp", torch.exp), ("log", torch.log), ("sin", torch.sin), ("cos", torch.cos), ("neg", torch.neg),
        ("abs", torch.abs), ("reciprocal", torch.reciprocal), ("erf", torch.erf), ("maximum", lambda x: torch.maximum(x, x)),
        ("minimum", lambda x: torch.minimum(x, x)), ("max_binary", lambda x: torch.max(x, x)),
        ("compare", lambda x: x == 1), ("clamp_min", lambda x: x.clamp(min=0)), ("exp_inplace", lambda x: x.clone().exp_()),
        ("masked_fill", lambda x: x.masked_fill(x.new_zeros(x.shape, dtype=torch.bool), 1.0)),
    )],
    ("clamp_both", lambda x: x.clamp(0, 1), (2, 4, 6), {"elementwise_ops": 48 * 2}),  # two compares, as hardtanh
    ("where", lambda x: torch.where(x > 0, x, 0.0), (2, 4, 6), {"elementwise_ops": 48 + 48}),  # compare, select
    ("addcmul", lambda x: torch.addcmul(x, x, x), (2, 4, 6), {"elementwise_ops": 48 * 2}),
    ("addcmul_scaled", lambda x: torch.addcmul(x, x, x, value=0.5), (2, 4, 6), {"elementwise_ops": 48 * 3}),
    ("lerp", lambda x: torch.lerp(x, x, 0.5), (2, 4, 6), {"elementwise_ops": 48 * 3}),
    # reductions, per input element: sum, max 1; var 4 (mean, subtract, square, sum); norm 2; logsumexp 4
    ("sum", lambda x: x.sum(-1), (2, 4, 6), {"pool_ops": 48}),
    ("sum_all", lambda x: x.sum(), (2, 4, 6), {"pool_ops": 48}),
    ("amax", lambda x: x.amax(-1), (2, 4, 6), {"pool_ops": 48}),
    ("max_dim", lambda x: x.max(-1).values, (2, 4, 6), {"pool_ops": 48}),
    ("argmax", lambda x: x.argmax(-1), (2, 4, 6), {"pool_ops": 48}),
    ("mean", lambda x: x.mean(-1), (2, 4, 6), {"pool_ops": 48}),
    ("cumsum", lambda x: x.cumsum(-1), (2, 4, 6), {"pool_ops": 48}),
    ("var", lambda x: x.var(-1), (2, 4, 6), {"pool_ops": 48 * 4}),
    ("std", lambda x: x.std(-1), (2, 4, 6), {"pool_ops": 48 * 4}),
    ("norm", lambda x: x.norm(dim=-1), (2, 4, 6), {"pool_ops": 48 * 2}),
    ("logsumexp", lambda x: x.logsumexp(-1), (2, 4, 6), {"pool_ops": 48 * 4}),
    # F.normalize: the norm (2 per element), clamp_min on 8 norms, divide 48
    ("normalize", lambda x: F.normalize(x, dim=-1), (2, 4, 6), {"pool_ops": 48 * 2, "elementwise_ops": 8 + 48}),
    # interpolation and grid sampling by mode: grid (1, 3, 5, 2) samples 15 points in each of 2 channels
    ("interpolate_nearest_exact", lambda x: F.interpolate(x, scale_factor=2, mode="nearest-exact"), (1, 2, 4, 4), {}),
    ("grid_sample_bilinear", lambda x: F.grid_sample(x, x.new_zeros(1, 3, 5, 2), align_corners=False), (1, 2, 4, 4),
     {"pool_ops": 2 * 15 * 7}),
    ("grid_sample_nearest", lambda x: F.grid_sample(x, x.new_zeros(1, 3, 5, 2), mode="nearest", align_corners=False),
     (1, 2, 4, 4), {}),
    ("grid_sample_bicubic", lambda x: F.grid_sample(x, x.new_zeros(1, 3, 5, 2), mode="bicubic", align_corners=False),
     (1, 2, 4, 4), {"pool_ops": 2 * 15 * 31}),
    ("grid_sample_3d", lambda x: F.grid_sample(x, x.new_zeros(1, 2, 3, 3, 3), align_corners=False),
     (1, 2, 4, 4, 4), {"pool_ops": 2 * 18 * 15}),
    # affine_grid: each of the 4 x 4 x 2 coordinates is a row of theta (3 wide) times (x, y, 1)
    ("affine_grid", lambda x: F.affine_grid(x, [1, 2, 4, 4], align_corners=False), (1, 2, 3), {"macs": 32 * 3}),
    # products FlopCounterMode does not count (it has no formula for them)
    ("addmv", lambda x: torch.addmv(x[:3, 0], x[:3], x[0]), (4, 5), {"macs": 3 * 5, "bias_ops": 3}),
    ("mv", lambda x: x @ x[0], (4, 5), {"macs": 4 * 5}),
    ("addbmm", lambda x: torch.addbmm(x.new_zeros(3, 6), x, x.new_zeros(2, 5, 6)), (2, 3, 5),
     {"macs": 2 * 3 * 5 * 6, "bias_ops": 3 * 6}),
    # conv_tbc: input (time 7, batch 2, in 4), kernel 3, pad 1: 7 outputs x 2 x 6 channels x (4 x 3)
    ("conv_tbc", lambda x: torch.conv_tbc(x, x.new_zeros(3, 4, 6), x.new_zeros(6), 1), (7, 2, 4),
     {"macs": 7 * 2 * 6 * 4 * 3, "bias_ops": 7 * 2 * 6}),
    ("linear_keywords", lambda x: F.linear(input=x, weight=x.new_zeros(3, 6)), (2, 4, 6), {"macs": 8 * 6 * 3}),
    ("einsum", lambda x: torch.einsum("bij,bkj->bik", x, x), (2, 4, 6), {"macs": 2 * 4 * 4 * 6}),
    # accumulation: one add per source element; F.fold (col2im) per input element (1 x 8 x 9)
    ("fold", lambda x: F.fold(x, (4, 4), 2), (1, 8, 9), {"elementwise_ops": 72}),
    ("scatter_add", lambda x: x.scatter_add(1, x.new_zeros(2, 2, 6, dtype=torch.long), x[:, :2]), (2, 4, 6),
     {"elementwise_ops": 24}),
    ("index_add", lambda x: x.index_add(1, x.new_zeros(2, dtype=torch.long), x[:, :2]), (2, 4, 6),
     {"elementwise_ops": 24}),
    ("index_put_accumulate", lambda x: x.index_put((x.new_zeros(2, dtype=torch.long),), x[:2], accumulate=True),
     (2, 4, 6), {"elementwise_ops": 48}),
    ("index_put", lambda x: x.index_put((x.new_zeros(2, dtype=torch.long),), x[:2]), (2, 4, 6), {}),
    # free: data movement, in-place views, random fills
    *[(name, function, (2, 4, 6), {}) for name, function in (
        ("roll", lambda x: x.roll(1, 1)), ("index", lambda x: x[:, [0, 2]]), ("flip", lambda x: x.flip(1)),
        ("index_select", lambda x: x.index_select(1, x.new_zeros(2, dtype=torch.long))),
        ("gather", lambda x: x.gather(1, x.new_zeros(2, 2, 6, dtype=torch.long))),
        ("scatter", lambda x: x.scatter(1, x.new_zeros(2, 2, 6, dtype=torch.long), 1.0)),
        ("as_strided", lambda x: x.as_strided((2, 2), (1, 1))),
        ("as_strided_inplace", lambda x: x.clone().as_strided_((2, 2), (1, 1))),
        ("transpose_inplace", lambda x: x.clone().transpose_(0, 1)),
        ("unsqueeze_inplace", lambda x: x.clone().unsqueeze_(0)),
        ("squeeze_inplace", lambda x: x.clone().unsqueeze(0).squeeze_(0)),
        ("t_inplace", lambda x: x.clone()[0].t_()),
        ("bernoulli", lambda x: x.new_empty(2, 1, 1).bernoulli_(0.5)),
        ("repeat", lambda x: x.repeat(1, 2, 1)),
        ("channel_shuffle_by_hand", lambda x: x.view(2, 2, 2, 6).transpose(1, 2).contiguous().view(2, 4, 6)),
    )],
]


@pytest.mark.parametrize("case_id, function, shape, expected", FUNCTION_CASES, ids=[c[0] for c in FUNCTION_CASES])
def test_functional_ops_against_hand_counts(case_id, function, shape, expected):
    p = profile_module(Fn(function), shape)
    assert columns(p) == expected
    assert p.unsupported == ()


def stochastic_depth(x, p=0.2, training=True):
    """torchvision.ops.stochastic_depth, row mode, as torchvision writes it."""
    if not training:
        return x
    survival_rate = 1.0 - p
    noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device)
    noise = noise.bernoulli_(survival_rate)
    noise.div_(survival_rate)
    return x * noise


def test_stochastic_depth_in_training_counts_the_scale_and_the_multiply():
    # the (2, 1, 1, 1) Bernoulli mask is free (a random fill); dividing it by the survival rate is 2
    # ops, multiplying the input by it 2 x 4 x 5 x 5
    p = profile_module(Fn(stochastic_depth), (2, 4, 5, 5))
    assert columns(p) == {"elementwise_ops": 2 + 200}
    assert p.unsupported == ()
    assert columns(profile_module(Fn(lambda x: stochastic_depth(x, training=False)), (2, 4, 5, 5))) == {}


def test_gru_with_batch_first_transposes_in_place_for_free():
    # nn.GRU(batch_first=True) ends with transpose_ on its output: a view, not an unsupported op
    p = profile_module(lambda: nn.GRU(8, 8, batch_first=True), (2, 3, 8))
    assert p.unsupported == ()
    # 3 steps of two addmm (2 x 8 -> 24, with bias) each: 3 x 2 x (2 x 8 x 24)
    assert p.totals.macs == 3 * 2 * 2 * 8 * 24


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    (lambda: nn.ConvTranspose2d(4, 8, 3, stride=2, groups=2), (1, 4, 5, 5)),
    (lambda: nn.Conv2d(4, 8, 3, dilation=2, groups=4), (1, 4, 9, 9)),
    (lambda: nn.Conv1d(4, 8, 3), (2, 4, 9)),
    (lambda: nn.Conv3d(2, 4, 3), (1, 2, 5, 5, 5)),
    (lambda: nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 4)), (2, 5, 8)),
    (lambda: nn.GRU(8, 8, batch_first=True), (2, 3, 8)),
    (lambda: nn.LSTM(8, 8, num_layers=2), (3, 2, 8)),
    (lambda: Fn(lambda x: torch.einsum("bij,bkj->bik", x, x)), (2, 4, 6)),
    (lambda: Fn(lambda x: torch.baddbmm(x, x, x.transpose(1, 2)[..., :6])), (2, 6, 6)),
])
def test_macs_agree_with_flop_counter_mode(make, shape):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        module = make()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.empty(shape, device="meta"))
    assert 2 * profile_module(module, shape).totals.macs == counter.get_total_flops()


def test_a_record_takes_its_kind_from_the_class_for_containers_too():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]

    p = profile_module(Block(), (2, 3, 8))
    assert {layer.name: layer.kind for layer in p.layers}["attn"] == "attention"
    assert ROOT not in {layer.name for layer in p.layers}


def test_weight_norm_runs_on_every_forward():
    # w = g * v / ||v|| on the (4, 4) weight: the norm 2 per element, the scale 1; then the linear layer
    p = profile_module(lambda: nn.utils.parametrizations.weight_norm(nn.Linear(4, 4)), (2, 4))
    assert columns(p) == {"macs": 2 * 4 * 4, "bias_ops": 2 * 4, "pool_ops": 16 * 2, "elementwise_ops": 16}
    assert p.totals.params == 4 + 16 + 4 and p.unsupported == ()


def test_embedding_bag_sums_the_rows_it_looks_up():
    # 3 bags of 5 indices, rows 4 wide: 60 elements summed; with per-sample weights, 60 multiplies too
    p = profile_module(lambda: nn.EmbeddingBag(10, 4), inputs=torch.zeros(3, 5, dtype=torch.long))
    assert (p.layers[0].kind, columns(p)) == ("embedding_bag", {"pool_ops": 60})

    class Weighted(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(10, 4, mode="sum")

        def forward(self, ids):
            return self.bag(ids, per_sample_weights=ids.new_ones(ids.shape, dtype=torch.float32))

    assert columns(profile_module(Weighted, inputs=torch.zeros(3, 5, dtype=torch.long))) == {
        "pool_ops": 60, "elementwise_ops": 60}


def test_every_op_in_the_tables_exists_in_this_torch():
    """The tables are keyed by name (``aten::add``): a misspelt name would never match. In-place forms
    are added for every elementwise op and activation; those torch lacks (``where_``) are harmless."""
    from archlens.counting.torch import ops

    keys = {*ops.ATEN_HANDLERS, *ops.VIEW_OPS, *ops.WEIGHTED_OPS, *ops.POOL_OPS, *ops.CONCAT_OPS}
    missing = sorted(key for key in keys if not hasattr(torch.ops.aten, key.split("::")[1]))
    assert all(key.endswith("_") and not key.endswith("__") for key in missing), missing
    assert not [key for key in missing if hasattr(torch.ops.aten, key.split("::")[1][:-1]) is False]
    assert len(ops.ATEN_HANDLERS) > 350


# --- the containers and leaves archlens's builder makes for the modern vocabulary (as the lead
# describes them: archlens_kind on leaves, archlens_op_kind on containers' own-op records) ----------


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.archlens_kind, self.archlens_op_kind = "residual", "add"
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class Gate(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.archlens_kind, self.archlens_op_kind = "gate", "mul"
        self.body = body

    def forward(self, x):
        return x * self.body(x)


class SplitConcat(nn.Module):
    """ShuffleNet-V2's unit: half the channels pass, the other half through a branch."""

    def __init__(self, branch):
        super().__init__()
        self.archlens_kind, self.archlens_op_kind = "split", "concat"
        self.branch = branch

    def forward(self, x):
        kept, processed = x.chunk(2, dim=1)
        return torch.cat([kept, self.branch(processed)], dim=1)


class Shuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.archlens_kind = "channel_shuffle"
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class LayerScale(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.archlens_kind = "layer_scale"
        self.gamma = nn.Parameter(torch.ones(channels, 1, 1))

    def forward(self, x):
        return x * self.gamma


class ChannelsLastLayerNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.archlens_kind = "layer_norm"
        self.weight, self.bias = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias).permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    def __init__(self):
        super().__init__()
        self.archlens_kind = "stochastic_depth"

    def forward(self, x):
        return stochastic_depth(x, training=self.training)


def test_the_builders_vocabulary():
    model = nn.Sequential()
    model.add_module("res", Residual(nn.Sequential(nn.Conv2d(8, 8, 1), LayerScale(8), StochasticDepth())))
    model.add_module("gate", Gate(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Hardsigmoid())))
    model.add_module("split", SplitConcat(nn.Conv2d(4, 4, 1)))
    model.add_module("shuffle", Shuffle(2))
    model.add_module("norm", ChannelsLastLayerNorm(8))
    p = profile_module(model, (1, 8, 5, 5))  # eval: stochastic depth is the identity
    rows = {layer.name: (layer.kind, columns_of(layer)) for layer in p.layers}
    elements = 8 * 5 * 5
    assert rows == {
        "res.body.0": ("conv", {"macs": elements * 8, "bias_ops": elements}),
        "res.body.1": ("layer_scale", {"elementwise_ops": elements}),
        "res.body.2": ("stochastic_depth", {}),
        "res": ("add", {"elementwise_ops": elements}),
        "gate.body.0": ("adaptive_avgpool", {"pool_ops": elements}),
        "gate.body.1": ("hardsigmoid", {"activation_ops": 8 * 4}),
        "gate": ("mul", {"elementwise_ops": elements}),
        "split.branch": ("conv", {"macs": 4 * 25 * 4, "bias_ops": 4 * 25}),
        "split": ("concat", {}),
        "shuffle": ("channel_shuffle", {}),
        "norm": ("layer_norm", {"norm_ops": elements * 7}),
    }
    assert {group.name: (group.kind, group.output_shape) for group in p.groups} == {
        "res": ("residual", (1, 8, 5, 5)), "res.body": ("sequential", (1, 8, 5, 5)),
        "gate": ("gate", (1, 8, 5, 5)), "gate.body": ("sequential", (1, 8, 1, 1)),
        "split": ("split", (1, 8, 5, 5))}
    assert p.totals.params == 8 * 8 + 8 + 8 + 4 * 4 + 4 + 16 and p.unsupported == ()


def columns_of(layer):
    return {column: getattr(layer.ops, column) for column in fm.OP_COLUMNS if getattr(layer.ops, column)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_meta_shortcuts_make_what_the_meta_kernels_make(dtype, channels_last):
    """BatchNorm and LayerNorm results are made directly on meta (their meta kernels are slow Python
    decompositions): the same shapes, dtypes and strides as the kernels', or the kernel runs."""
    from archlens.counting.torch.ops import ATEN_OUTPUTS

    aten = torch.ops.aten
    x = torch.empty(2, 4, 5, 6, device="meta", dtype=dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    c, w = torch.empty(4, device="meta", dtype=dtype), torch.empty(6, device="meta", dtype=dtype)
    calls = [
        ("aten::native_batch_norm", aten.native_batch_norm, (x, c, c, c, c, False, 0.1, 1e-5)),
        ("aten::native_batch_norm", aten.native_batch_norm, (x, None, None, None, None, True, 0.1, 1e-5)),
        ("aten::native_layer_norm", aten.native_layer_norm, (x, [6], w, w, 1e-5)),
        ("aten::native_layer_norm", aten.native_layer_norm, (x, [5, 6], None, None, 1e-5)),
        ("aten::native_layer_norm", aten.native_layer_norm, (x.permute(0, 2, 3, 1), [4], c, None, 1e-5)),
    ]
    for key, op, args in calls:
        made, real = ATEN_OUTPUTS[key](args, {}), op(*args)
        assert [(t.shape, t.dtype, t.stride()) for t in made] == [(t.shape, t.dtype, t.stride()) for t in real], key
    # shapes that do not fit: the shortcut declines, the kernel raises its own error
    assert ATEN_OUTPUTS["aten::native_layer_norm"]((x, [5], None, None, 1e-5), {}) is None
    assert ATEN_OUTPUTS["aten::native_batch_norm"]((x, w, None, None, None, True, 0.1, 1e-5), {}) is None
