"""The torch engine on plain modules: functional ops against hand formulas, state restored, unsupported
ops listed, designs too large to allocate, and module targets from the command line."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archlens
from archlens.cli import main
from archlens.counting.torch_engine import ROOT, profile_module
from archlens.errors import TargetError

B, L, D, H = 2, 8, 32, 4  # batch, tokens, width, heads (head width 8)


class AttentionBlock(nn.Module):
    """Linear projections, F.scaled_dot_product_attention, torch.matmul, x + y, F.relu and torch.cat."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.out = nn.Linear(2 * D, D)

    def forward(self, x):
        def heads(t):
            return t.view(B, L, H, D // H).transpose(1, 2)

        attended = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        attended = attended.transpose(1, 2).reshape(B, L, D)
        mixed = torch.matmul(torch.matmul(x, x.transpose(1, 2)), x)  # (B,L,D)@(B,D,L), then (B,L,L)@(B,L,D)
        y = F.relu(attended + mixed)
        return self.out(torch.cat([y, x], dim=-1))


def test_attention_block_against_hand_formulas():
    p = profile_module(AttentionBlock(), (B, L, D))
    rows = {layer.name: layer for layer in p.layers}
    assert [layer.name for layer in p.layers] == ["q", "k", "v", ROOT, "out"]
    for name in "qkv":
        assert rows[name].macs == B * L * D * D == 16_384
        assert rows[name].ops.bias_ops == B * L * D
        assert (rows[name].weights, rows[name].biases) == (D * D, D)
    scores = B * H * L * L  # 512 attention scores
    top = rows[ROOT]
    assert top.kind == "attentionblock"
    assert top.macs == 2 * scores * (D // H) + 2 * B * L * D * L  # QK^T and AV; two matmuls
    assert top.ops.activation_ops == 3 * scores + B * L * D  # softmax (exp, sum, divide) and F.relu
    assert top.ops.elementwise_ops == scores + B * L * D  # the 1/sqrt(E) scale and attended + mixed
    assert top.ops.bias_ops == top.ops.norm_ops == top.ops.pool_ops == 0  # torch.cat is free
    assert rows["out"].macs == B * L * 2 * D * D
    assert p.totals.macs == 3 * 16_384 + 16_384 + 32_768 == 98_304
    assert (p.depth.weighted, p.depth.with_pooling) == (2, 2)  # projection, then out
    assert p.unsupported == ()
    assert p.totals.params == 3 * (D * D + D) + 2 * D * D + D


def test_module_state_is_restored():
    block = AttentionBlock().train()
    block.k.eval()
    params = {name: (param, param.detach().clone()) for name, param in block.named_parameters()}
    calls = []
    handle = block.q.register_forward_hook(lambda *args: calls.append(1))
    pre_hooks, hooks = dict(block.q._forward_pre_hooks), dict(block.q._forward_hooks)
    global_hooks = dict(nn.modules.module._global_forward_hooks)
    profile_module(block, (B, L, D))
    assert calls == [1]  # the user's own hook still runs, once
    assert block.training and not block.k.training and block.q.training
    for name, param in block.named_parameters():
        original, values = params[name]
        assert param is original and param.device.type == "cpu" and torch.equal(param, values)
    assert dict(block.q._forward_pre_hooks) == pre_hooks and dict(block.q._forward_hooks) == hooks
    assert dict(nn.modules.module._global_forward_hooks) == global_hooks
    handle.remove()


def test_batch_norm_buffers_untouched_in_training_mode():
    bn = nn.BatchNorm2d(4).eval()
    before = {name: buffer.clone() for name, buffer in bn.named_buffers()}
    p = profile_module(bn, (2, 4, 5, 5), train=True)
    assert all(torch.equal(buffer, before[name]) for name, buffer in bn.named_buffers())
    assert not bn.training  # profiled in training mode, left in eval mode as found
    assert p.layers[0].ops.norm_ops == 2 * 2 * 4 * 5 * 5  # scale and shift; num_batches_tracked += 1 is free
    assert p.unsupported == ()


class Scan(nn.Module):
    def forward(self, x):
        return torch.cummax(x, dim=1).values


def test_an_op_without_a_formula_is_listed_with_its_layer():
    model = nn.Sequential(nn.Linear(4, 4), Scan())
    p = profile_module(model, (1, 4))
    assert [(u.op, u.layer, u.count) for u in p.unsupported] == [("aten.cummax", "1", 1)]
    text = archlens.cli.render_profile(p, archlens.cli.ProfileFormat.table, None)
    assert "NOT COUNTED (unsupported ops): aten.cummax x1 (1)" in text
    assert p.to_dict()["unsupported_ops"] == [{"op": "aten.cummax", "layer": "1", "count": 1}]


def test_a_100_billion_parameter_factory_on_meta():
    width = 100_000

    def factory():
        return nn.Sequential(*[nn.Linear(width, width) for _ in range(10)])

    p = profile_module(factory, (1, width))
    assert p.totals.params == 10 * (width * width + width) == 100_001_000_000
    assert p.totals.macs == 10 * width * width == 100_000_000_000
    assert p.totals.bias_ops == 10 * width
    assert p.depth.weighted == 10


def test_python_api_takes_a_module_or_a_factory():
    def factory():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

    by_factory = archlens.profile(factory, input_shape=(1, 3, 224, 224))
    by_module = archlens.profile(factory(), input_shape=(1, 3, 224, 224))
    assert by_factory.layers == by_module.layers
    assert by_factory.totals.macs == 8 * 27 * 224 * 224
    assert by_factory.layers[2].ops.pool_ops == 8 * 112 * 112 * 4
    assert (by_factory.depth.weighted, by_factory.depth.with_pooling) == (1, 2)


def test_a_spec_through_the_torch_engine_keeps_its_name_and_metadata():
    p = archlens.profile("alexnet", engine="torch")
    assert (p.name, p.engine, p.metadata["paper"]) == ("alexnet", "torch", archlens.profile("alexnet").metadata["paper"])
    assert p.totals == archlens.profile("alexnet").totals


MODULE_FILE = """
import torch.nn as nn

def factory():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))

instance = factory()

def not_a_model():
    return 42
"""


def test_cli_profiles_a_module_target_from_the_current_directory(tmp_path):
    (tmp_path / "tests_module.py").write_text(MODULE_FILE)
    archlens_script = Path(sys.executable).with_name("archlens")
    command = [str(archlens_script)] if archlens_script.exists() else [sys.executable, "-I", "-m", "archlens"]
    result = subprocess.run([*command, "profile", "tests_module:factory", "--input-shape", "1,3,32,32",
                             "--format", "json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["engine"] == "torch" and data["name"] == "tests_module:factory"
    assert data["totals"]["macs"] == 8 * 27 * 32 * 32 + 8 * 10
    assert data["totals"]["params"] == 8 * 27 + 8 + 80 + 10
    assert [row["kind"] for row in data["layers"]] == ["conv", "relu", "adaptive_avgpool", "flatten", "linear"]


def test_prints_in_the_users_code_go_to_stderr_not_into_the_json(target_dir, capsys):
    """A module that prints on import, construction and forward still gives parseable JSON on stdout."""
    import json

    from archlens.cli import main

    noisy = target_dir + "_noisy"
    (Path.cwd() / f"{noisy}.py").write_text(
        "import torch.nn as nn\nprint('importing')\n"
        "class Loud(nn.Module):\n"
        "    def __init__(self):\n        super().__init__(); print('building'); self.fc = nn.Linear(4, 2)\n"
        "    def forward(self, x):\n        print('forward'); return self.fc(x)\n")
    try:
        assert main(["profile", f"{noisy}:Loud", "--input-shape", "1,4", "-f", "json"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["totals"]["macs"] == 8
        assert "importing" in err and "building" in err and "forward" in err
    finally:
        sys.modules.pop(noisy, None)


@pytest.fixture
def target_dir(tmp_path, monkeypatch, request):
    module_name = "archlens_target_" + re.sub(r"\W", "_", request.node.name)
    (tmp_path / f"{module_name}.py").write_text(MODULE_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield module_name
    sys.modules.pop(module_name, None)


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("attribute, shape, expected", [
    ("instance", "1,3,16,16", None),
    ("factroy", "1,3,16,16", "has no attribute 'factroy'; did you mean 'factory'?"),
    ("not_a_model", "1,3,16,16", "returned int, not a torch.nn.Module"),
    ("factory", None, "module targets need --input-shape N,C,H,W"),
    ("factory", "1,4,16,16", "layer 0: forward raised RuntimeError"),
])
def test_module_target_errors_are_one_line_with_exit_code_2(capsys, target_dir, attribute, shape, expected):
    args = ["profile", f"{target_dir}:{attribute}"] + (["--input-shape", shape] if shape else [])
    code, out, err = run_cli(capsys, *args)
    if expected is None:
        assert code == 0 and "Total" in out
        return
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err, err


def test_missing_module_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "profile", "no_such_module_here:factory", "--input-shape", "1,3,8,8")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot import module 'no_such_module_here'" in err


def test_forward_error_keeps_its_cause(target_dir):
    with pytest.raises(TargetError) as caught:
        archlens.profile(f"{target_dir}:factory", input_shape=(1, 4, 16, 16))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.where.endswith("layer 0")


def test_training_mode_dropout_is_free_and_transposed_conv_is_counted():
    model = nn.Sequential(nn.ConvTranspose2d(8, 4, 2, stride=2), nn.Dropout(0.5))
    p = profile_module(model, (1, 8, 8, 8), train=True)
    conv, dropout = p.layers
    assert conv.macs == 8 * 8 * 8 * 4 * 2 * 2 == 8192  # each input element through Cout x kh x kw weights
    assert conv.ops.bias_ops == 4 * 16 * 16 and conv.output_shape == (1, 4, 16, 16)
    assert (dropout.kind, dropout.ops.other_ops, dropout.output_shape) == ("dropout", 0, (1, 4, 16, 16))
    assert p.unsupported == () and model.training


def test_functional_local_response_norm_uses_the_lrn_formula():
    class Norm(nn.Module):
        def forward(self, x):
            return F.local_response_norm(x, size=5)

    p = profile_module(Norm(), (1, 16, 6, 6))
    assert p.layers[0].ops.norm_ops == 16 * 6 * 6 * (2 * 5 + 4)
    assert p.unsupported == ()


def test_multihead_attention_against_hand_formulas():
    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(D, H, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x)[0]

    p = profile_module(SelfAttention(), (B, L, D))
    projections = 3 * B * L * D * D + B * L * D * D  # q, k, v in one packed weight; the output projection
    scores = B * H * L * L
    assert p.totals.macs == projections + 2 * scores * (D // H)
    assert p.unsupported == ()  # the weight transposes and views MHA runs on its parameters are free


def test_torch_engine_json_is_the_analytic_json_but_for_the_engine_name():
    torch_json = archlens.profile("googlenet", engine="torch", train=True).to_json()
    assert torch_json == archlens.profile("googlenet", engine="torch", train=True).to_json()  # byte-identical
    analytic_json = archlens.profile("googlenet", train=True).to_json()
    assert torch_json == analytic_json.replace('"engine": "analytic"', '"engine": "torch"', 1)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False), (1, 8, 8, 8)),  # peers.md: 9,216 MACs
    (lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8), (2, 8, 8, 8)),
    (lambda: nn.ConvTranspose2d(8, 4, 2, stride=2), (1, 8, 8, 8)),
    (lambda: nn.Linear(16, 10), (2, 5, 16)),
    (AttentionBlock, (B, L, D)),
])
def test_macs_agree_with_flop_counter_mode(make, shape):
    """PyTorch's FlopCounterMode counts 2 FLOPs a multiply-accumulate of conv and matrix products."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        module = make()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.empty(shape, device="meta"))
    assert 2 * profile_module(module, shape).totals.macs == counter.get_total_flops()


class _Recurrent(nn.Module):
    """h = relu(W x_t + U h) over the sequence, h starting from zeros made inside forward."""

    def __init__(self):
        super().__init__()
        self.W, self.U = nn.Linear(4, 5), nn.Linear(5, 5)

    def forward(self, x):
        h = x.new_zeros(x.shape[0], 5)
        for t in range(x.shape[1]):
            h = torch.relu(self.W(x[:, t]) + self.U(h))
        return h


def test_a_hidden_state_made_inside_forward_is_data_and_its_products_count():
    # 3 steps of W (4 x 5) and U (5 x 5): 3 x (20 + 25) MACs; the first U(h0) used to be taken for bookkeeping.
    p = profile_module(_Recurrent(), (1, 3, 4))
    assert p.totals.macs == 3 * (20 + 25) and p.unsupported == ()


def test_recurrent_cells_count_every_step_and_split_their_biases():
    cell = profile_module(lambda: nn.RNNCell(4, 5), (1, 4))
    assert cell.totals.macs == 4 * 5 + 5 * 5  # input-to-hidden and hidden-to-hidden (h0 = zeros)
    assert (cell.totals.weights, cell.totals.biases) == (4 * 5 + 5 * 5, 5 + 5)
    lstm = profile_module(lambda: nn.LSTM(4, 5), (256, 1, 4))
    assert lstm.totals.macs == 256 * 4 * (4 * 5 + 5 * 5)  # four gates, every step
    # every step: sigmoid on the input, forget and output gates (3 x 5 x 3 ops), tanh on the cell input
    # and on the cell (2 x 5); the gates' sum (20), f * c, i * g, their sum, o * tanh(c) (4 x 5)
    assert lstm.totals.activation_ops == 256 * (3 * 5 * 3 + 2 * 5)
    assert lstm.totals.elementwise_ops == 256 * (20 + 4 * 5)
    assert lstm.unsupported == ()


def test_adaptive_average_pool_without_a_batch_dimension():
    # 3 channels, 8x8 -> 2x2: every output reads a 4x4 window: 3 x 4 x 16 = 192, batched or not
    for shape in ((3, 8, 8), (1, 3, 8, 8)):
        assert profile_module(lambda: nn.AdaptiveAvgPool2d(2), shape).totals.pool_ops == 192


class _UnusedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3)
        self.emb = nn.Embedding(10, 4)  # never called in forward

    def forward(self, x):
        return self.conv(x)


def test_parameters_of_modules_never_called_are_listed_not_dropped():
    p = profile_module(_UnusedHead(), (2, 4, 10))
    assert p.totals.params == sum(param.numel() for param in _UnusedHead().parameters()) == 4 * 8 * 3 + 8 + 40
    last = p.layers[-1]
    assert (last.name, last.kind, last.params, last.macs) == ("emb", "not called", 40, 0)
    assert p.totals.macs == 2 * 8 * 8 * 4 * 3  # the conv alone
