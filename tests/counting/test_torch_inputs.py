"""The torch engine's inputs (several, typed, keyword, example tensors), its CPU mode for ops that
need values, strict mode, and custom ops taught with register_op."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archlens
from archlens.counting import formulas as fm
from archlens.counting.torch import (ROOT, Inputs, TensorSpec, UncountedOps, profile_module, register_op,
                                     require_counted)
from archlens.errors import ArchlensError, TargetError


class TinyTextModel(nn.Module):
    """Token ids -> embedding -> linear, with an optional mask and an optional scale (a plain value)."""

    def __init__(self, vocab=1000, width=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.proj = nn.Linear(width, width)

    def forward(self, input_ids, attention_mask=None, scale=1):
        x = self.proj(self.embed(input_ids))
        if attention_mask is not None:
            x = x * attention_mask.unsqueeze(-1)
        return x * scale


def test_token_ids_as_a_typed_input():
    p = profile_module(TinyTextModel, inputs=TensorSpec((2, 16), "int64"))
    assert p.input_shape == (2, 16)
    assert p.totals.macs == 2 * 16 * 64 * 64 and p.unsupported == ()
    assert p.totals.params == 1000 * 64 + 64 * 64 + 64
    # the scale by a plain int is one multiply an element: 2 x 16 x 64
    assert p.totals.elementwise_ops == 2 * 16 * 64


def test_keyword_inputs_and_plain_values():
    p = profile_module(TinyTextModel, inputs=Inputs(TensorSpec((2, 16), torch.long),
                                                    attention_mask=TensorSpec((2, 16), "int64"), scale=3))
    # the mask multiply and the scale: two multiplies an element
    assert p.totals.elementwise_ops == 2 * 2 * 16 * 64
    by_dict = profile_module(TinyTextModel, inputs={"input_ids": TensorSpec((2, 16), "int64"),
                                                    "attention_mask": TensorSpec((2, 16), "int64")})
    assert by_dict.totals.elementwise_ops == 2 * 2 * 16 * 64


def test_example_tensors_give_their_shape_and_dtype_on_meta():
    ids = torch.zeros(3, 5, dtype=torch.long)  # a real (CPU) example: only its shape and dtype are used
    with torch.device("meta"):
        model = TinyTextModel()
    p = profile_module(model, inputs=(ids,))
    assert p.input_shape == (3, 5) and p.totals.macs == 3 * 5 * 64 * 64
    assert all(param.is_meta for param in model.parameters())


class TwoTowers(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Conv2d(3, 8, 3)
        self.text = nn.Linear(16, 8)

    def forward(self, image, text):
        return self.image(image).mean((2, 3)) + self.text(text)


def test_several_positional_inputs():
    p = profile_module(TwoTowers(), inputs=(TensorSpec((2, 3, 10, 10)), TensorSpec((2, 16))))
    assert p.totals.macs == 2 * 8 * 8 * 8 * 27 + 2 * 16 * 8
    assert p.input_shape == (2, 3, 10, 10)  # the first input's


def test_input_mistakes_are_one_line():
    with pytest.raises(TargetError, match=r"looks like a shape.*input_shape=\(1,3,8,8\)"):
        profile_module(TwoTowers(), inputs=(1, 3, 8, 8))
    with pytest.raises(TargetError, match="not both"):
        profile_module(TwoTowers(), (1, 3, 8, 8), inputs=TensorSpec((1, 16)))
    with pytest.raises(TargetError, match="unknown input dtype 'int63'"):
        profile_module(TinyTextModel, inputs=TensorSpec((2, 16), "int63"))
    with pytest.raises(TargetError, match="needs an input"):
        profile_module(TwoTowers())
    with pytest.raises(TargetError, match=r"check the inputs \(2x3x10x10 float32, 2x15 float32\)"):
        profile_module(TwoTowers(), inputs=(TensorSpec((2, 3, 10, 10)), TensorSpec((2, 15))))


class PositivesOnly(nn.Module):
    """Data-dependent: the sum of the positive elements (boolean indexing runs nonzero)."""

    def forward(self, x):
        return x[x > 0].sum()


def test_an_op_needing_values_on_meta_names_the_op_and_offers_the_cpu():
    with pytest.raises(TargetError) as caught:
        profile_module(PositivesOnly(), (1, 4))
    message = str(caught.value)
    assert "\n" not in message
    # boolean indexing: aten.index, which needs torch.nonzero's values
    assert "aten.index cannot run on the meta device (The register_meta function for torch.nonzero()" in message
    assert "device='cpu'" in message and "x.new_zeros" not in message  # not the old, wrong advice
    with pytest.raises(TargetError, match=r"layer \(top\): aten.nonzero cannot run on the meta device"):
        profile_module(Nonzero(), (1, 4))
    with pytest.raises(TargetError, match=r"aten._local_scalar_dense cannot run on the meta device"):
        profile_module(Item(), (1, 4))


class Nonzero(nn.Module):
    def forward(self, x):
        return torch.nonzero(x)


class Item(nn.Module):
    def forward(self, x):
        return x * float(x.sum())


def test_device_cpu_runs_on_values():
    # two positives: the compare reads 4 elements, the sum 2
    p = profile_module(PositivesOnly(), inputs=torch.tensor([[1.0, -1.0, 2.0, -3.0]]), device="cpu")
    assert (p.totals.elementwise_ops, p.totals.pool_ops) == (4, 2) and p.unsupported == ()
    # described inputs are random (seeded): the same profile twice
    assert profile_module(Item(), (1, 4), device="cpu") == profile_module(Item(), (1, 4), device="cpu")


def test_device_cpu_on_a_meta_module_gives_the_meta_figures_and_leaves_it_on_meta():
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    on_cpu = profile_module(model, (2, 3, 8, 8), device="cpu")
    assert on_cpu.layers == profile_module(model, (2, 3, 8, 8)).layers
    assert all(param.is_meta for param in model.parameters())


def test_device_cpu_restores_buffers_a_training_forward_updates():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).eval()
    before = {name: buffer.clone() for name, buffer in model.named_buffers()}
    profile_module(model, (2, 3, 5, 5), device="cpu", train=True)
    assert all(torch.equal(buffer, before[name]) for name, buffer in model.named_buffers())
    assert not model.training


def test_device_cpu_factory_is_built_on_the_cpu():
    p = profile_module(lambda: PositivesOnly(), inputs=torch.tensor([[1.0, 2.0]]), device="cpu")
    assert p.totals.pool_ops == 2


class Scan(nn.Module):
    def forward(self, x):
        return torch.cummax(x, dim=1).values


def test_strict_names_the_uncounted_ops():
    with pytest.raises(UncountedOps) as caught:
        profile_module(Scan(), (2, 8), strict=True)
    assert str(caught.value).startswith("not counted: aten.cummax x1 in (top)")
    assert caught.value.ops == ("aten.cummax",) and caught.value.profile.totals.macs == 0
    assert isinstance(caught.value, ArchlensError) and caught.value.exit_code == 2
    assert profile_module(nn.Linear(4, 2), (1, 4), strict=True).totals.macs == 8
    with pytest.raises(UncountedOps):
        require_counted(profile_module(Scan(), (2, 8)))


# --- custom ops ------------------------------------------------------------------------------------


@torch.library.custom_op("archlens_test::fused_gate", mutates_args=())
def fused_gate(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """x * sigmoid(gate), one kernel."""
    return x * torch.sigmoid(gate)


@fused_gate.register_fake
def _(x, gate):
    return torch.empty_like(x)


@torch.library.custom_op("archlens_test::cpu_only", mutates_args=())
def cpu_only(x: torch.Tensor) -> torch.Tensor:
    """A custom op without a meta kernel."""
    return x.clone()


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 16)

    def forward(self, x):
        x, gate = self.proj(x).chunk(2, dim=-1)
        return fused_gate(x, gate)


def gate_formula(args, kwargs, out):
    """sigmoid (3) and a multiply (1) per output element."""
    return fm.activation("sigmoid", out.numel()) + fm.elementwise(tuple(out.shape))


def test_a_custom_op_is_listed_until_registered():
    p = profile_module(Gated(), (2, 8))
    assert [(u.op, u.layer) for u in p.unsupported] == [("archlens_test.fused_gate", ROOT)]
    with archlens.register_op(torch.ops.archlens_test.fused_gate, gate_formula) as registration:
        p = profile_module(Gated(), (2, 8), strict=True)
        assert registration.op is torch.ops.archlens_test.fused_gate
    rows = {layer.name: layer for layer in p.layers}
    assert rows[ROOT].ops.activation_ops == 2 * 8 * 3 and rows[ROOT].ops.elementwise_ops == 2 * 8
    assert p.totals.macs == 2 * 8 * 16
    # removed at the end of the block
    assert profile_module(Gated(), (2, 8)).unsupported != ()


def test_register_op_by_name_with_a_dict_and_removal():
    registration = register_op("archlens_test::fused_gate", lambda args, kwargs, out: {"elementwise_ops": 7})
    try:
        assert profile_module(Gated(), (2, 8)).totals.elementwise_ops == 7
        with pytest.raises(ArchlensError, match="already has a formula"):
            register_op(torch.ops.archlens_test.fused_gate.default, gate_formula)
    finally:
        registration.remove()
    registration.remove()  # twice is harmless
    assert profile_module(Gated(), (2, 8)).totals.elementwise_ops == 0


def test_replacing_a_built_in_formula_and_restoring_it():
    # a convention of one's own: count ReLU as free, then the built-in formula is back
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    with register_op(torch.ops.aten.relu, lambda args, kwargs, out: fm.ZERO, replace=True):
        assert profile_module(model, (1, 4)).totals.activation_ops == 0
    assert profile_module(model, (1, 4)).totals.activation_ops == 4


def test_a_torch_function_counted_whole():
    # torch.cummax goes through __torch_function__: registered as a function, an int is MACs
    with register_op(torch.cummax, lambda args, kwargs, out: args[0].numel()):
        p = profile_module(Scan(), (2, 8), strict=True)
    assert p.totals.macs == 16


def test_register_op_mistakes():
    with pytest.raises(ArchlensError, match="no operator named"):
        register_op("archlens_test::missing", gate_formula)
    with pytest.raises(ArchlensError, match="not a function"):
        register_op(torch.ops.archlens_test.fused_gate, 3)
    with register_op(torch.ops.archlens_test.fused_gate, lambda args, kwargs, out: {"flops": 1}):
        with pytest.raises(ArchlensError, match="unknown columns"):
            profile_module(Gated(), (2, 8))


def test_a_custom_op_without_a_meta_kernel_runs_on_the_cpu():
    class UsesIt(nn.Module):
        def forward(self, x):
            return cpu_only(x) + 1

    with pytest.raises(TargetError, match="archlens_test.cpu_only cannot run on the meta device"):
        profile_module(UsesIt(), (2, 3))
    with register_op("archlens_test::cpu_only", lambda args, kwargs, out: fm.ZERO):
        p = profile_module(UsesIt(), (2, 3), device="cpu", strict=True)
    assert p.totals.elementwise_ops == 6


def test_register_op_is_public_and_documented():
    assert archlens.register_op is register_op
    assert "context manager" in register_op.__doc__ or "with" in register_op.__doc__


def test_keyword_linear_weight_is_a_layer_for_depth():
    class KeywordLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(4, 4))

        def forward(self, x):
            return F.linear(input=F.linear(input=x, weight=self.w), weight=self.w)

    assert profile_module(KeywordLinear(), (1, 4)).depth.weighted == 2


def test_device_cpu_refuses_weights_larger_than_free_memory(monkeypatch):
    from archlens.counting.torch import engine

    monkeypatch.setattr(engine, "_available_memory", lambda: 1000)
    with pytest.raises(TargetError, match=r"device cpu needs 3\.91 KiB for the weights; 1000 B of memory is free"):
        profile_module(lambda: nn.Linear(999, 1), (1, 999), device="cpu")  # 1000 float32 parameters


def test_device_cpu_builds_a_factory_that_cannot_be_built_on_meta():
    def factory():
        layer = nn.Linear(4, 2)
        layer.weight.data.mul_(float(layer.weight.detach().abs().max()))  # a value: fails on the meta device
        return layer

    assert profile_module(factory, (1, 4), device="cpu").totals.macs == 8
