"""Every built-in network: loads, expands, round-trips through `show`, builds with published counts."""

import pytest

import archlens
from archlens.spec import dump_yaml, expand, load_spec, spec_from_data

EXPECTED_NAMES = {
    "googlenet", "googlenet-naive", "googlenet-torchvision", "alexnet", "alexnet-torchvision",
    "vgg11", "vgg13", "vgg16", "vgg19", "vgg11-bn", "vgg13-bn", "vgg16-bn", "vgg19-bn",
}


def test_list_has_every_network_with_a_description():
    infos = archlens.list_specs()
    assert EXPECTED_NAMES <= {info.name for info in infos}
    for info in infos:
        assert info.description and "\n" not in info.description


def test_spec_name_matches_file(builtin):
    assert load_spec(builtin).name == builtin


def test_expanded_spec_has_no_macros_and_every_layer_named(builtin):
    def walk(layers):
        for layer in layers:
            assert layer.type not in ("inception", "vgg_stage")
            assert layer.name
            yield layer
            for branch in getattr(layer, "branches", []) or []:
                yield from walk(branch.layers)
            yield from walk(getattr(layer, "layers", []) or [])

    assert list(walk(expand(load_spec(builtin)).layers))


def test_show_output_loads_back_as_the_same_network(builtin):
    import yaml

    spec = load_spec(builtin)
    again = spec_from_data(yaml.safe_load(dump_yaml(expand(spec))))
    for train in (False, True):
        assert archlens.profile(again, train=train).to_dict() == archlens.profile(spec, train=train).to_dict()


def test_googlenet_torchvision_with_aux_heads():
    # torchvision's GoogLeNet with aux_logits=True (its default when built without weights)
    assert archlens.profile("googlenet-torchvision", train=True).totals.params == 13_004_888
