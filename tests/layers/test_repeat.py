"""``repeat``'s ``index``: each copy of a block gets its position as one of the block's parameters."""

import pytest

from archlens.counting.analytic import profile_spec
from archlens.errors import SpecError
from archlens.spec import expand, load_spec

BLOCKS = {"ramp": {"params": {"out": "required", "i": 0}, "widths": ["out"], "layers": [
    {"conv": {"name": "conv", "out": "$out", "kernel": 3, "padding": 1}},
    {"stochastic_depth": {"name": "drop", "p": "${0.1 * i}"}}]}}


def spec(repeat: dict, blocks=BLOCKS) -> dict:
    return {"name": "ramp", "input": {"channels": 4, "height": 8, "width": 8}, "blocks": blocks,
            "layers": [{"repeat": {"name": "stage", "times": 3, **repeat}}]}


def test_index_gives_each_copy_its_position():
    loaded = load_spec(spec({"index": "i", "layer": {"ramp": {"out": 8}}, "first": {"out": 4}}))
    (stage,) = expand(loaded).layers
    assert [layer.layers[1].p for layer in stage.layers] == [0.0, 0.1, 0.2]
    assert [layer.layers[0].out for layer in stage.layers] == [4, 8, 8]
    # training: no noise for the first copy (p 0), noise and a multiply for the others
    drops = [layer for layer in profile_spec(loaded, train=True, batch=2).layers if layer.name.endswith("drop")]
    assert [layer.ops.elementwise_ops for layer in drops] == [0, 2 + 2 * 8 * 8 * 8, 2 + 2 * 8 * 8 * 8]


def test_index_needs_a_block_with_that_parameter():
    with pytest.raises(SpecError, match="must use a block"):
        load_spec(spec({"index": "i", "layer": {"conv": {"out": 8, "kernel": 1}}}))
    with pytest.raises(SpecError, match="has no parameter 'j'"):
        profile_spec(load_spec(spec({"index": "j", "layer": {"ramp": {"out": 8}}})))
