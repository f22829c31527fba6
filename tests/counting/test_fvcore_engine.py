"""The fvcore engine: fvcore's own figures in archlens records, agreeing with ours on conv and linear MACs."""

import pytest

import archlens

import fvcore  # noqa: F401 - in the test extra: a missing fvcore fails here, never skips


@pytest.mark.slow  # real CPU weights and a jit trace
@pytest.mark.parametrize("name", ["googlenet", "alexnet-torchvision", "vgg11"])
def test_fvcore_agrees_on_conv_and_linear_macs(name):
    ours = archlens.profile(name)
    theirs = archlens.profile(name, engine="fvcore")
    assert theirs.engine == "fvcore"
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in ours.layers]
    for mine, fvcore in zip(ours.layers, theirs.layers):
        assert fvcore.macs == mine.macs, mine.name
    assert theirs.totals.params == ours.totals.params
    # fvcore's conventions, visible in the profile: no bias adds, ReLU ignored, max pooling not counted
    assert theirs.totals.bias_ops == theirs.totals.activation_ops == 0
    kinds = {layer.name: layer.kind for layer in ours.layers}
    assert {kinds[u.layer] for u in theirs.unsupported if u.op == "aten::max_pool2d"} == {"maxpool"}
