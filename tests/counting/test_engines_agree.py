"""The spine: for every built-in network, the analytic engine on the spec and the torch engine on the
built module (meta device) give the same records, groups, depth and totals, to the last operation
(language models run on int64 token ids)."""

import pytest

import archlens
from archlens.counting.analytic import profile_spec
from archlens.counting.torch_engine import profile_module
from archlens.profiler import spec_inputs
from archlens.spec import load_spec


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_analytic_and_torch_engines_agree(builtin, train):
    spec = load_spec(builtin)
    # training-mode BatchNorm needs more than one value per channel (PyTorch refuses a 1x1 map of one
    # sample: inception-v3's auxiliary head has a 1x1 map at its last BatchNorm), so train on two
    batch = 2 if train else 1
    analytic = profile_spec(spec, batch=batch, train=train)
    torch_profile = profile_module(archlens.build(spec, device="meta", train=train), **spec_inputs(spec, batch),
                                   train=train, name=spec.name)
    assert torch_profile.unsupported == ()
    assert [layer.name for layer in torch_profile.layers] == [layer.name for layer in analytic.layers]
    for ours, theirs in zip(torch_profile.layers, analytic.layers):
        assert ours == theirs, ours.name  # name, kind, shapes, weights, biases, every op column, activations
    # groups: the same names, kinds and outputs (what each block returned)
    assert torch_profile.groups == analytic.groups
    assert all(g.output_shape for g in analytic.groups)
    for depth in (1, 2):
        assert torch_profile.rollup(depth) == analytic.rollup(depth)
    assert torch_profile.depth == analytic.depth
    assert torch_profile.totals == analytic.totals
    assert (torch_profile.engine, analytic.engine) == ("torch", "analytic")
