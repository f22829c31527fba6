"""``residual``'s ``shortcut_first``: the same counts, the shortcut listed (and run) before the main path."""

import pytest
import yaml

import archlens
from archlens.counting.analytic import profile_spec
from archlens.counting.torch_engine import profile_module
from archlens.spec import dump_yaml, expand, load_spec

torch = pytest.importorskip("torch")


def spec(shortcut_first: bool) -> dict:
    return {"name": "block", "input": {"channels": 8, "height": 8, "width": 8}, "layers": [
        {"residual": {"name": "block", "shortcut": "auto", "activation": "relu", "shortcut_first": shortcut_first,
                      "layers": [{"conv": {"name": "a", "out": 16, "kernel": 1, "bias": False, "batch_norm": True}},
                                 {"conv": {"name": "b", "out": 16, "kernel": 3, "stride": 2, "padding": 1,
                                           "bias": False, "batch_norm": True, "activation": "none"}}]}}]}


def test_shortcut_first_lists_the_projection_before_the_main_path():
    after, before = profile_spec(load_spec(spec(False))), profile_spec(load_spec(spec(True)))
    assert [layer.name for layer in after.layers] == [
        "block.a.conv", "block.a.bn", "block.a.relu", "block.b.conv", "block.b.bn",
        "block.shortcut.conv", "block.shortcut.bn", "block", "block.relu"]
    assert [layer.name for layer in before.layers] == [
        "block.shortcut.conv", "block.shortcut.bn", "block.a.conv", "block.a.bn", "block.a.relu",
        "block.b.conv", "block.b.bn", "block", "block.relu"]
    assert [group.name for group in before.groups] == ["block", "block.shortcut", "block.a", "block.b"]
    assert sorted(after.layers, key=lambda layer: layer.name) == sorted(before.layers, key=lambda layer: layer.name)
    assert before.totals == after.totals and before.depth == after.depth


@pytest.mark.parametrize("train", [False, True])
def test_shortcut_first_runs_the_shortcut_first_in_the_built_module(train):
    loaded = load_spec(spec(True))
    analytic = profile_spec(loaded, train=train, batch=2)
    measured = profile_module(archlens.build(loaded, device="meta", train=train), analytic.input_shape, train=train,
                              name=loaded.name)
    assert measured.layers == analytic.layers and measured.groups == analytic.groups


def test_shortcut_first_round_trips_through_show():
    shown = load_spec(yaml.safe_load(dump_yaml(expand(load_spec(spec(True))))))
    assert [layer.name for layer in profile_spec(shown).layers][0] == "block.shortcut.conv"
