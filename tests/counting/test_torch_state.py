"""Parameters and buffers in the torch engine: products over them are work, a shared parameter counts
once, a weight used through its parent is not "not called", and blocks carry their own output."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archlens
from archlens.counting.torch import ROOT, profile_module


class BufferMLP(nn.Module):
    """x + mlp(table).sum(): the MLP runs on a (225, 2) buffer on every forward, as Swin-V2's
    relative-position MLP does."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.zeros(225, 2))
        self.mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, 3, bias=False))

    def forward(self, x):
        return x + self.mlp(self.table).sum()


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_products_over_a_buffer_are_counted(device):
    with torch.device(device):
        module = BufferMLP()
    p = profile_module(module, (1, 8))
    rows = {layer.name: layer for layer in p.layers}
    assert rows["mlp.0"].macs == 225 * 2 * 512 and rows["mlp.0"].ops.bias_ops == 225 * 512
    assert rows["mlp.1"].ops.activation_ops == 225 * 512
    assert rows["mlp.2"].macs == 225 * 512 * 3
    assert p.totals.macs == 225 * 2 * 512 + 225 * 512 * 3 == 576_000
    # the sum reads 225 x 3 elements; the add, 8
    assert rows[ROOT].ops.pool_ops == 225 * 3 and rows[ROOT].ops.elementwise_ops == 8
    assert p.unsupported == ()
    assert p.depth.weighted == 0  # the MLP is off the input's path


def test_products_over_a_buffer_agree_with_flop_counter_mode():
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        module = BufferMLP()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.empty(1, 8, device="meta"))
    assert counter.get_total_flops() == 2 * profile_module(module, (1, 8)).totals.macs == 2 * 576_000


class LearnedQueryPool(nn.Module):
    """Attention pooling with a learned query (timm's global_pool='map', SigLIP's head): the query's
    projection reads only a parameter."""

    def __init__(self, dim=16):
        super().__init__()
        self.latent = nn.Parameter(torch.zeros(1, 1, dim))
        self.q, self.kv = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim)

    def forward(self, x):
        q = self.q(self.latent.expand(x.shape[0], -1, -1))
        k, v = self.kv(x).chunk(2, dim=-1)
        return F.scaled_dot_product_attention(q, k, v)


def test_a_learned_query_projection_is_counted():
    p = profile_module(LearnedQueryPool(), (2, 10, 16))
    rows = {layer.name: layer for layer in p.layers}
    assert rows["q"].macs == 2 * 16 * 16  # two (expanded) queries
    assert rows["kv"].macs == 2 * 10 * 16 * 32
    # QK^T and AV: 2 batches x 1 query x 10 keys x 16 each; the latent (16) belongs to the top module
    assert rows[ROOT].macs == 2 * (2 * 1 * 10 * 16) and rows[ROOT].params == 16
    assert p.unsupported == ()


def test_in_place_updates_of_buffers_are_bookkeeping():
    class RunningMean(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(4))
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))

        def forward(self, x):
            self.steps.add_(1)  # free: bookkeeping
            self.mean.mul_(0.9).add_(x.mean(0), alpha=0.1)  # free: an in-place update of a buffer
            return x - self.mean

    p = profile_module(RunningMean(), (3, 4))
    # only the mean over 3 rows (12 reads) and the subtraction (12) are work
    assert (p.totals.pool_ops, p.totals.elementwise_ops) == (12, 12)
    assert p.unsupported == ()


class Tied(nn.Module):
    """A shared embedding table used through a second module, the first never called (Hugging Face T5)."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Embedding(100, 8)
        self.encoder = nn.Embedding(100, 8)
        self.encoder.weight = self.shared.weight
        self.head = nn.Linear(8, 100, bias=False)
        self.head.weight = self.shared.weight

    def forward(self, x):
        return self.head(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_shared_parameter_is_counted_once(device):
    with torch.device(device):
        module = Tied()
    p = profile_module(module, (2, 8))
    assert p.totals.params == 100 * 8 == sum(param.numel() for param in module.parameters())
    assert [(layer.name, layer.kind, layer.params) for layer in p.layers] == [("head", "linear", 800)]


class SelfAttention(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


def test_out_proj_used_through_multihead_attention_is_not_listed_as_not_called():
    p = profile_module(SelfAttention(), (2, 3, 8))
    assert [(layer.name, layer.kind) for layer in p.layers] == [("attn", "attention")]
    # in_proj 3 x (8 x 8 + 8), out_proj 8 x 8 + 8: all in the attention record
    assert p.layers[0].params == 3 * 72 + 72 == sum(param.numel() for param in SelfAttention().parameters())
    assert (p.layers[0].weights, p.layers[0].biases) == (4 * 64, 4 * 8)


def test_linear_with_keyword_arguments():
    class Keywords(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(3, 6))

        def forward(self, x):
            return F.linear(input=x, weight=self.weight, bias=None)

    p = profile_module(Keywords(), (2, 6))
    assert p.totals.macs == 2 * 6 * 3 and p.totals.params == 18 and p.depth.weighted == 1


class Branches(nn.Module):
    """Two branches concatenated by a plain function call: the last child's output is one branch's."""

    def __init__(self):
        super().__init__()
        self.left = nn.Conv2d(4, 8, 1)
        self.right = nn.Conv2d(4, 24, 1)

    def forward(self, x):
        return torch.cat([self.left(x), self.right(x)], 1)


class SqueezeExcite(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(32, 32, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc(self.pool(x)))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        return self.attn(tokens, tokens, tokens)[0].transpose(1, 2).reshape(b, c, h, w)


def test_blocks_carry_their_own_output_shape():
    model = nn.Sequential()
    model.add_module("mixed", Branches())
    model.add_module("se", SqueezeExcite())
    model.add_module("attn", Attention())
    p = profile_module(model, (1, 4, 5, 5))
    assert {group.name: group.output_shape for group in p.groups} == {
        "mixed": (1, 32, 5, 5), "se": (1, 32, 5, 5), "attn": (1, 32, 5, 5),
        "attn.attn": (1, 25, 32)}  # MultiheadAttention returns (output, weights): its first tensor
    rows = {row.name: row for row in p.rollup(1)}
    assert rows["mixed"].output_shape == (1, 32, 5, 5)  # not the right branch's 1x24x5x5
    assert rows["se"].output_shape == (1, 32, 5, 5)  # not the gate's 1x32x1x1
    assert rows["attn"].output_shape == (1, 32, 5, 5)  # not an empty shape
    assert p.to_dict(depth=1)["layers"][0]["output_shape"] == [1, 32, 5, 5]


def test_group_output_shape_defaults_to_empty():
    group = archlens.counting.records.Group("stage1", "vgg_stage")
    assert group.output_shape == ()


def test_a_batch_norm_updating_running_statistics_is_work_not_bookkeeping():
    # _native_batch_norm_legit writes the running statistics (buffers) on the side: its result is new
    class LegitBatchNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running_mean", torch.zeros(4))
            self.register_buffer("running_var", torch.ones(4))

        def forward(self, x):
            return torch.ops.aten._native_batch_norm_legit(x, None, None, self.running_mean, self.running_var,
                                                           True, 0.1, 1e-5)[0]

    p = profile_module(LegitBatchNorm(), (2, 4, 3, 3))
    assert p.totals.norm_ops == 2 * 72 and p.unsupported == ()
