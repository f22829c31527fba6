"""A training step, counted by hand: backward MACs, what autograd keeps, the memory parts, the optimizers.

Every figure here is written out from the shapes (the comments say how); both engines must give it.
"""

import pytest
import torch

import archlens
from archlens.counting import formulas as fm
from archlens.counting.analytic import profile_spec
from archlens.counting.torch import profile_module
from archlens.counting.training import OPTIMIZERS, TrainingStep, matches, segment_of
from archlens.errors import ArchlensError
from archlens.profiler import spec_inputs
from archlens.spec import load_spec

CONV = {"name": "one-conv", "input": {"channels": 3, "height": 8, "width": 8},
        "layers": [{"conv": {"name": "conv", "out": 4, "kernel": 3, "padding": 1, "activation": "none"}}]}
LINEAR = {"name": "two-linear", "input": {"features": 10},
          "layers": [{"linear": {"name": "fc1", "out": 5}}, {"linear": {"name": "fc2", "out": 3}}]}
RESIDUAL = {
    "name": "residual-block", "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [
        {"conv": {"name": "stem", "out": 8, "kernel": 3, "padding": 1, "bias": False}},
        {"residual": {"name": "block", "activation": "relu", "layers": [
            {"conv": {"name": "conv1", "out": 8, "kernel": 3, "padding": 1, "bias": False, "batch_norm": {}}},
            {"conv": {"name": "conv2", "out": 8, "kernel": 3, "padding": 1, "bias": False, "batch_norm": {},
                      "activation": "none"}},
        ]}},
    ],
}


def both(data, batch: int, step: TrainingStep = TrainingStep()):
    """The analytic and the torch engine's profiles of a training step; they must agree record for record."""
    spec = load_spec(data)
    analytic = profile_spec(spec, batch=batch, step=step)
    measured = profile_module(archlens.build(spec, device="meta", train=True), **spec_inputs(spec, batch),
                              name=spec.name, step=step)
    assert list(measured.layers) == list(analytic.layers)
    assert measured.step == analytic.step
    return analytic


def by_name(profile):
    return {layer.name: layer for layer in profile.layers}


def test_a_convolution_on_the_input_computes_its_weight_gradient_only():
    profile = both(CONV, batch=2)
    conv = profile.layers[0]
    # 2 x 4 x 8 x 8 = 512 outputs, 3 x 3 x 3 = 27 MACs each
    assert conv.macs == 13_824
    # the input needs no gradient: the weight's only (its forward MACs again), and the bias's sum
    assert conv.step.backward == fm.OpCount(macs=13_824, pool_ops=512)
    assert conv.step.saved_bytes == 2 * 3 * 8 * 8 * 4  # the input, for the weight's gradient
    assert conv.step.transient_bytes == 512 * 4  # the output's gradient (the input gets none)
    step = profile.step
    params = 4 * 27 + 4
    assert (step.params, step.grads) == (params * 4, params * 4)
    assert step.optimizer_state == 2 * params * 4 + 2 * 4  # AdamW: exp_avg, exp_avg_sq, a step counter a tensor
    assert step.optimizer_ops.elementwise_ops == 14 * params
    assert step.peak == step.params + step.grads + step.optimizer_state + 1536 + 2048


def test_a_second_linear_layer_computes_both_gradients():
    profile = by_name(both(LINEAR, batch=4))
    fc1, fc2 = profile["fc1"], profile["fc2"]
    assert (fc1.macs, fc2.macs) == (4 * 10 * 5, 4 * 5 * 3)
    assert fc1.step.backward == fm.OpCount(macs=200, pool_ops=4 * 5)  # weight only; the bias's sum over the rows
    assert fc2.step.backward == fm.OpCount(macs=2 * 60, pool_ops=4 * 3)  # input and weight
    assert fc1.step.saved_bytes == 4 * 10 * 4 and fc2.step.saved_bytes == 4 * 5 * 4  # each keeps its input


def test_a_residual_block_by_hand():
    profile = both(RESIDUAL, batch=1)
    layers = by_name(profile)
    conv = 8 * 8 * 8 * 72  # 512 outputs of 8 x 3 x 3 MACs
    assert layers["stem.conv"].step.backward.macs == 8 * 8 * 8 * 27  # weight only
    assert layers["block.conv1.conv"].step.backward.macs == 2 * conv
    assert layers["block.conv2.conv"].step.backward.macs == 2 * conv
    assert profile.step.backward.macs == 13_824 + 4 * conv == 161_280
    # the block's input is read by conv1 and by the add: its two gradients are added (512 adds), with the add
    assert layers["block"].step.backward == fm.OpCount(elementwise_ops=512)
    assert layers["block.conv1.bn"].step.backward.norm_ops == 9 * 512
    assert sum(layer.step.backward.activation_ops for layer in profile.layers) == 3 * 512  # three ReLUs
    saved = {name: layer.step.saved_bytes for name, layer in layers.items()}
    assert saved == {
        "stem.conv": 3 * 64 * 4,          # the image, for the stem's weight gradient
        "stem.relu": 512 * 4,             # its output (in place)
        "block.conv1.conv": 0,            # its input: the stem's ReLU kept it already
        "block.conv1.bn": 512 * 4 + 2 * 8 * 4,  # its input, and the batch's mean and inverse deviation
        "block.conv1.relu": 512 * 4,
        "block.conv2.conv": 0,
        "block.conv2.bn": 512 * 4 + 2 * 8 * 4,
        "block": 0,                       # an add keeps nothing
        "block.relu": 512 * 4,
    }
    assert profile.step.saved_activations == 11_136


def test_frozen_layers_before_the_trainable_ones_take_no_part():
    step = TrainingStep(freeze=("stem",))
    layers = by_name(both(RESIDUAL, batch=1, step=step))
    assert layers["stem.conv"].step.backward == fm.ZERO and layers["stem.conv"].step.saved_bytes == 0
    assert layers["stem.relu"].step.saved_bytes == 0
    conv1 = layers["block.conv1.conv"].step
    assert conv1.backward.macs == 8 * 8 * 8 * 72  # its input needs no gradient now: the weight's only
    assert conv1.saved_bytes == 512 * 4  # and it keeps its input itself
    assert layers["block"].step.backward == fm.ZERO  # nothing to add: the block's input needs no gradient
    assert layers["stem.conv"].step.trainable == 0


def test_a_checkpointed_block_keeps_its_input_and_runs_its_forward_again():
    plain, checkpointed = both(RESIDUAL, batch=1), both(RESIDUAL, batch=1, step=TrainingStep(checkpoint=("block",)))
    inside = [layer for layer in checkpointed.layers if layer.name.startswith("block")]
    assert all(layer.step.saved_bytes == 0 for layer in inside)  # its input: the stem's ReLU keeps it anyway
    assert sum(layer.step.recompute_bytes for layer in inside) == 4 * 512 * 4 + 2 * 2 * 8 * 4
    assert checkpointed.step.recompute.macs == 2 * 8 * 8 * 8 * 72
    assert checkpointed.step.backward == plain.step.backward
    assert checkpointed.step.saved_activations == 3 * 64 * 4 + 512 * 4
    # the largest transient: the block's recomputed activations with its largest layer's gradients
    assert checkpointed.step.transient == 4 * 512 * 4 + 2 * 2 * 8 * 4 + 2 * 512 * 4
    assert checkpointed.step.transient_layer == "block"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_ops_and_state_are_what_torch_optim_does(name):
    """One update of torch.optim's single-tensor implementations, counted with the torch engine's op table
    (per-tensor scalars aside), and the state they keep, on meta tensors."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from archlens.counting.torch.ops import ATEN_HANDLERS, op_key

    class Count(TorchDispatchMode):
        ops = fm.ZERO

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            handler = ATEN_HANDLERS.get(op_key(func._overloadpacket))
            if handler is not None and isinstance(out, torch.Tensor) and out.numel() > 1:
                self.ops = self.ops + handler(args, kwargs or {}, out)
            return out

    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1, foreach=False),
            "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, foreach=False),
            "adam": lambda p: torch.optim.Adam(p, foreach=False),
            "adamw": lambda p: torch.optim.AdamW(p, foreach=False)}[name]
    with torch.device("meta"):
        module = torch.nn.Linear(10, 5)
    for param in module.parameters():
        param.grad = torch.empty_like(param)
    optimizer = make(module.parameters())
    optimizer.step()  # the first update makes the state (a momentum buffer's first is a copy)
    with Count() as count:
        optimizer.step()
    assert count.ops == fm.OpCount(elementwise_ops=OPTIMIZERS[name].ops * 55)
    kept = sum(value.numel() * value.element_size() for state in optimizer.state.values()
               for value in state.values() if isinstance(value, torch.Tensor))
    spec = {"name": "one-linear", "input": {"features": 10}, "layers": [{"linear": {"name": "fc", "out": 5}}]}
    assert profile_spec(load_spec(spec), step=TrainingStep(optimizer=name)).step.optimizer_state == kept


def test_mixed_precision_keeps_fp32_master_weights_and_states():
    spec = load_spec(LINEAR)
    step = profile_spec(spec, dtype="bfloat16", step=TrainingStep(mixed_precision=True)).step
    params = 10 * 5 + 5 + 5 * 3 + 3
    assert (step.params, step.grads) == (2 * params, 2 * params)
    assert step.optimizer_state == 12 * params + 4 * 4  # master, exp_avg, exp_avg_sq at fp32; 4 step counters
    pure = profile_spec(spec, dtype="bfloat16", step=TrainingStep()).step
    assert pure.optimizer_state == 4 * params + 4 * 4


def test_options_are_checked():
    with pytest.raises(ArchlensError, match="names no layer"):
        profile_spec(load_spec(RESIDUAL), step=TrainingStep(freeze=("stme",)))
    with pytest.raises(ArchlensError, match="unknown optimizer"):
        TrainingStep(optimizer="lion")
    with pytest.raises(ArchlensError, match="applies to a training step"):
        archlens.profile("resnet18", optimizer="sgd")
    with pytest.raises(ArchlensError, match="floating-point"):
        profile_spec(load_spec(LINEAR), dtype="int8", step=TrainingStep())
    with pytest.raises(ArchlensError, match="decoding"):
        archlens.profile("gpt2", decode=16, step="train")


def test_patterns_name_layers_and_blocks():
    assert matches("layer1.0.conv1.conv", ["layer*"]) and not matches("fc", ["layer*"])
    assert matches("layer1.0.conv1.conv", ["layer1.0"]) and not matches("layer1.1.conv1", ["layer1.0"])
    assert segment_of("layer1.0.conv1.conv", ["layer*", "layer1.0"]) == "layer1"
    assert segment_of("layer1", ["layer*.*"]) is None


@pytest.mark.parametrize("name, options", [("gpt2", {}), ("gpt2", {"checkpoint": ("h.*",)}),
                                           ("gpt2", {"freeze": ("h.1", "wte")}), ("resnet50", {}),
                                           ("resnet50", {"checkpoint": ("layer1.*", "layer3")})])
def test_repeated_blocks_counted_once_give_the_same_step(name, options):
    spec = load_spec(name)
    step = TrainingStep(**options)
    once = profile_spec(spec, batch=2, step=step)
    every = profile_spec(spec, batch=2, step=step, repeats=False)
    assert once.layers.distinct() < len(every.layers)
    assert list(once.layers) == list(every.layers)
    assert once.step == every.step
    assert once.rollup(1) == every.rollup(1)


def test_the_python_api_and_dataframe_carry_the_step():
    profile = archlens.profile("resnet18", batch=4, step="train", optimizer="momentum")
    data = profile.to_dict()
    assert data["totals"]["backward_macs"] == profile.step.backward.macs
    training = data["training"]
    assert training["optimizer"] == "momentum"
    assert training["peak"] == sum(training[part] for part in ("params", "grads", "optimizer_state",
                                                               "saved_activations", "backward_transient"))
    frame = profile.to_dataframe()
    assert frame["backward_macs"].sum() == profile.step.backward.macs
    assert frame["saved_bytes"].sum() == profile.step.saved_activations
    assert "backward_macs" not in archlens.profile("resnet18").to_dict()["totals"]
